"""Venues: the trading mode, node configs per mode and their safety guards.

``Mode``, ``VenueSettings`` and the guards (``check_venue``) are pure; the Nautilus
node configs live in ``hedgegridd.venues.nodes`` (imported explicitly).
"""

from __future__ import annotations

from hedgegridd.venues.config import LIVE_ACKNOWLEDGEMENT, Mode, VenueSettings
from hedgegridd.venues.guards import BinanceKeys, check_venue

__all__ = ["LIVE_ACKNOWLEDGEMENT", "BinanceKeys", "Mode", "VenueSettings", "check_venue"]
