"""Market data: instruments, synthetic data, Binance archive/REST/CSV import, Nautilus catalog.

Public API (modules importing nautilus_trader are marked *):

- ``instruments``: ``InstrumentSpec``, ``BTCUSDT_PERP``, ``spec_from_exchange_info``,
  ``load_exchange_info``, ``exchange_info_symbol``, ``to_nautilus_instrument``.
- ``synthetic``: ``SyntheticSpec``, ``generate`` -> ``SyntheticData`` (bars, trades,
  mark bars, funding, regimes; deterministic per seed).
- ``catalog`` *: ``write_synthetic_catalog``, ``load_bars``, ``load_trades``,
  ``load_mark_prices``, ``load_funding``, ``open_catalog``, ``CatalogWriter``.
- ``importer`` *: ``run_import`` (Binance archives / mapped CSV -> catalog).
- ``rest`` / ``fetch`` *: ``BinanceHistoryClient``, ``RestConfig``, ``run_fetch``.
- ``archive``: ``read_archive``, ``write_archive`` (Binance archive formats).
- ``validate``: ``Validator``, ``RejectReport``, ``RejectThresholdError``.
- ``cli``: ``hedgegrid data import|fetch|synth|inspect``.

Bars are stamped at their close (``ts_event = open_time + 1 minute``); timestamp
units are declared, never guessed; a failed import writes nothing.
"""

from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec, spec_from_exchange_info

__all__ = ["BTCUSDT_PERP", "InstrumentSpec", "spec_from_exchange_info"]
