"""Market data: instruments, synthetic generator, Binance archive/REST/CSV import, catalog.

Public API (nautilus_trader is only imported by the catalog/conversion modules):

- ``hedgegridd.data.instruments``: ``InstrumentSpec``, ``BTCUSDT_PERP``,
  ``spec_from_exchange_info``, ``to_nautilus_instrument``.
- ``hedgegridd.data.synthetic``: ``SyntheticSpec``, ``generate`` -> ``SyntheticData``.
- ``hedgegridd.data.catalog``: ``write_synthetic_catalog`` and friends.
"""

from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec, spec_from_exchange_info

__all__ = ["BTCUSDT_PERP", "InstrumentSpec", "spec_from_exchange_info"]
