"""Telegram control: a long-polling bot steering the daemon through the control dispatch.

Modules: ``config`` (``[telegram]``), ``api`` (Bot API client), ``commands`` (command
text -> protocol request), ``confirm`` (confirmation buttons, per-chat rate limit),
``render`` (HTML replies), ``poller`` (``TelegramBot``, the supervised task),
``outbox`` (replies and other Bot API calls whose failures are only counted),
``metrics`` (counters and their Prometheus families). Nothing is imported here, so
the settings can load ``config`` without aiohttp.
"""
