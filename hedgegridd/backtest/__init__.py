"""Backtests: ``hedgegrid backtest CONFIG.toml [--out DIR]`` and the pieces behind it.

Public API (import from the submodules; this ``__init__`` stays Nautilus-free):

- ``hedgegridd.backtest.config``: ``BacktestConfig``, ``load_backtest_config(path)``
- ``hedgegridd.backtest.runner``: ``run_backtest(cfg, out_dir=None, progress=False)``
  -> ``BacktestOutcome(metrics, results, snapshot, report_json, report_html)``
- ``hedgegridd.backtest.session``: ``BacktestSession(instrument, bars, funding, VenueModel())``
  with ``add_strategy``, ``advance(until_ns)``, ``run()``, ``results()`` (before
  ``dispose()``) for tests, the optimizer and the benchmark
- ``hedgegridd.backtest.engine``: ``VenueModel``, ``create_engine``, ``add_hedging_venue``
  (HEDGING + MARGIN, ``use_reduce_only=False``, fees/latency/fill model)
- ``hedgegridd.backtest.funding``: ``FundingSettlementModule`` (funding from history)
- ``hedgegridd.backtest.report``: ``compute_metrics(results)`` (report.json figures)
"""
