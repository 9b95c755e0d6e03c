"""Binance request parameters and authentication (USD-M Futures "General Info").

Parameters travel in the query string, in an ``application/x-www-form-urlencoded``
body, or in both; when a name is in both, the query string's value is used.

SIGNED requests (TRADE, USER_DATA) carry ``signature``: the HMAC-SHA256, keyed with
the API secret, of ``totalParams`` = the query string **concatenated** with the
request body, with no ``&`` between them, over the bytes as sent (percent-encoding
kept); the ``signature`` parameter itself is left out. The signature is not case
sensitive. ``timestamp`` is mandatory and must satisfy ``timestamp < serverTime +
1000`` and ``serverTime - timestamp <= recvWindow`` (``recvWindow`` defaults to 5000).

Errors (Binance's codes and messages): no API key -2014 "API-key format invalid.",
a key that is not ours -2015, a missing ``timestamp`` -1102, a timestamp outside the
window -1021, a bad signature -1022 (all with the HTTP status Binance uses).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl

from hedgegridd.sim.orders import VenueError

DEFAULT_RECV_WINDOW_MS = 5000
FORM = "application/x-www-form-urlencoded"


def mandatory(name: str) -> VenueError:
    """Binance's -1102 for a missing, empty or malformed mandatory parameter."""
    return VenueError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


@dataclass(frozen=True, slots=True)
class RawRequest:
    """What the client sent, byte for byte (query string and body as sent)."""

    query: bytes
    body: bytes
    content_type: str = ""

    def params(self) -> dict[str, str]:
        """Every parameter, from the body (form-decoded) and the query (which wins)."""
        out: dict[str, str] = {}
        if self.body and self.content_type in ("", FORM):
            out.update(_decode(self.body))
        out.update(_decode(self.query))
        return out

    def check_duplicates(self) -> None:
        """-1101 when a name repeats within the query string or within the body."""
        parts = [_decode(self.query)]
        if self.body and self.content_type in ("", FORM):
            parts.append(_decode(self.body))
        for pairs in parts:
            names = [k for k, _ in pairs]
            if len(names) != len(set(names)):
                raise VenueError(-1101, "Duplicate values for a parameter detected.")

    def total_params(self) -> bytes:
        """``totalParams``: query string + request body as sent, ``signature`` left out."""
        return _without_signature(self.query) + _without_signature(self.body)


def _decode(raw: bytes) -> list[tuple[str, str]]:
    text = raw.decode("utf-8", errors="replace")
    return parse_qsl(text, keep_blank_values=True)


def _without_signature(raw: bytes) -> bytes:
    parts = [p for p in raw.split(b"&") if p and not p.startswith(b"signature=")]
    return b"&".join(parts)


def check_api_key(sent: str | None, api_key: str) -> None:
    """-2014 when no key was sent, -2015 (HTTP 401) when it is not the account's key."""
    if not sent:
        raise VenueError(-2014, "API-key format invalid.", 401)
    if not hmac.compare_digest(sent.encode(), api_key.encode()):
        raise VenueError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def check_signed(
    raw: RawRequest,
    params: dict[str, str],
    *,
    secret: str,
    now_ms: int,
    recv_window_max_ms: int,
) -> None:
    """Binance's timing security, then the HMAC-SHA256 signature of ``totalParams``."""
    ts_raw = params.get("timestamp")
    if not ts_raw:
        raise mandatory("timestamp")
    try:
        ts = int(ts_raw)
    except ValueError as exc:
        raise mandatory("timestamp") from exc
    try:
        recv_window = int(params.get("recvWindow") or DEFAULT_RECV_WINDOW_MS)
    except ValueError as exc:
        raise VenueError(-1100, "Illegal characters found in parameter 'recvWindow'.") from exc
    if recv_window <= 0 or recv_window > recv_window_max_ms:
        raise VenueError(-1131, f"recvWindow must be less than {recv_window_max_ms}.")
    if ts >= now_ms + 1000:
        raise VenueError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_ms - ts > recv_window:
        raise VenueError(-1021, "Timestamp for this request is outside of the recvWindow.")
    sent = params.get("signature")
    if not sent:
        raise mandatory("signature")
    expected = hmac.new(secret.encode(), raw.total_params(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sent.lower().encode(), expected.encode()):
        raise VenueError(-1022, "Signature for this request is not valid.")
