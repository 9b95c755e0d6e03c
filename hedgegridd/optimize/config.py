"""The optimizer's TOML config: study, data, split, backtest, base params, space, objective.

Validated once by ``load_optimize_config`` (``ConfigError`` names the field and
its allowed range; a ``[space]`` entry's range and its field: ``ranges``). Layout
(see ``etc/hedgegrid/optimize-example.toml``)::

    [study]       name, seed, trials, workers, storage, trial_timeout_s, trial_memory_mb, ...
    [data]        synthetic = { seed, minutes, ... }  or  catalog = { path, start, end }
    [split]       test_fraction: the last part of the span is held out (out of sample)
    [backtest]    starting_balance, leverage, latency_ms, evaluator (search engine, dotted path)
    [rerun]       top_k finalists re-run with the reference engine (Nautilus), tolerances
    [base]        params_file (a strategy TOML; built-in default when unset), fixed = {...}
    [space]       "grid.step_bps" = { type = "float", low = 10, high = 80, step = 5 }, ...
    [objective]   metric
    [constraints] min_round_trips, max_drawdown_pct, min_profit_factor, min_sharpe
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hedgegridd.backtest.config import VenueFields
from hedgegridd.configfile import describe_validation_error, read_toml
from hedgegridd.data.synthetic import SyntheticSpec
from hedgegridd.errors import ConfigError
from hedgegridd.optimize.ranges import ParamRange as ParamRange  # re-export (screen/parity.py)
from hedgegridd.optimize.ranges import ParamValue, check_param_range, field_of

# Objective metric -> optimization direction.
METRIC_DIRECTIONS: dict[str, Literal["maximize", "minimize"]] = {
    "sharpe": "maximize",
    "sortino": "maximize",
    "calmar": "maximize",
    "net_pnl": "maximize",
    "total_return_pct": "maximize",
    "annualized_return_pct": "maximize",
    "profit_factor": "maximize",
    "max_drawdown_pct": "minimize",
}
Metric = Literal[
    "sharpe",
    "sortino",
    "calmar",
    "net_pnl",
    "total_return_pct",
    "annualized_return_pct",
    "profit_factor",
    "max_drawdown_pct",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StudySection(_Frozen):
    """``[study]``: the Optuna study and how it is run."""

    name: str = Field(default="hedgegrid", min_length=1, max_length=100, pattern=r"^[\w.-]+$")
    seed: int = Field(default=42, ge=0, le=2**31 - 1)
    trials: int = Field(default=50, ge=1, le=100_000, description="total trials in the study")
    workers: int = Field(default=1, ge=1, le=256, description="worker processes on this host")
    storage: str | None = Field(
        default=None,
        description="sqlite:///path.db (default: <out>/study.db), postgresql://..., "
        "mysql://..., or journal:/shared/path.log",
    )
    trial_timeout_s: float = Field(default=900.0, gt=0, le=7 * 86_400)
    trial_memory_mb: int = Field(
        default=6144,
        ge=3072,
        le=1_048_576,
        description="address-space limit of each trial process (Nautilus maps ~2 GB at import)",
    )
    startup_trials: int = Field(default=10, ge=1, le=10_000, description="random trials first")

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "top_k_out_of_sample" in data:
            raise ValueError("study.top_k_out_of_sample moved to [rerun] top_k")
        return data


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class CatalogSource(_Frozen):
    """``[data.catalog]``: a Nautilus Parquet catalog (``hedgegrid data`` writes one)."""

    path: Path
    instrument_id: str = Field(default="BTCUSDT-PERP.BINANCE", pattern=r"^[\w-]+\.[A-Z]+$")
    start: Annotated[datetime, AfterValidator(_utc)]
    end: Annotated[datetime, AfterValidator(_utc)]

    @model_validator(mode="after")
    def _check(self) -> CatalogSource:
        if self.start >= self.end:
            raise ValueError(
                f"data.catalog.start ({self.start.isoformat()}) must be before "
                f"data.catalog.end ({self.end.isoformat()})"
            )
        if self.start.second or self.start.microsecond or self.end.second or self.end.microsecond:
            raise ValueError("data.catalog.start and end must be on whole minutes")
        return self


class DataSection(_Frozen):
    """``[data]``: market data the backtests run on: ``synthetic`` or ``catalog``."""

    synthetic: SyntheticSpec | None = Field(default=None, description="seeded synthetic data")
    catalog: CatalogSource | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DataSection:
        if (self.synthetic is None) == (self.catalog is None):
            raise ValueError("set exactly one of [data.synthetic] or [data.catalog]")
        return self

    @property
    def start_ns(self) -> int:
        """Start of the data span (inclusive), ns."""
        if self.catalog is not None:
            return int(self.catalog.start.timestamp()) * 1_000_000_000
        assert self.synthetic is not None
        return self.synthetic.start_ms * 1_000_000

    @property
    def end_ns(self) -> int:
        """End of the data span (exclusive), ns."""
        if self.catalog is not None:
            return int(self.catalog.end.timestamp()) * 1_000_000_000
        assert self.synthetic is not None
        return self.synthetic.end_ms * 1_000_000

    @property
    def minutes(self) -> int:
        """Length of the span in minutes."""
        return (self.end_ns - self.start_ns) // 60_000_000_000


class SplitSection(_Frozen):
    """``[split]``: the last ``test_fraction`` of the span is held out of sample.

    ``in_sample_folds`` > 1 cuts the in-sample window into that many consecutive
    folds, backtests each one and scores the trial by the ``fold_aggregate``
    (mean, or the worst fold with ``min``) of the fold scores, so parameters
    that only suit one stretch of the market do not win.
    """

    test_fraction: float = Field(default=0.3, gt=0, lt=1)
    min_test_minutes: int = Field(default=60, ge=1)
    in_sample_folds: int = Field(default=1, ge=1, le=12)
    fold_aggregate: Literal["mean", "min"] = "mean"


SCREEN_EVALUATOR = "hedgegridd.optimize.screen_evaluator:run_backtest"
NAUTILUS_EVALUATOR = "hedgegridd.optimize.evaluate:run_backtest"
_EVALUATOR_PATTERN = r"^[\w.]+:\w+$"


def engine_name(evaluator: str) -> str:
    """Short name of an evaluator for reports: screen, nautilus, or its dotted path."""
    return {SCREEN_EVALUATOR: "screen", NAUTILUS_EVALUATOR: "nautilus"}.get(evaluator, evaluator)


class BacktestSection(VenueFields):
    """``[backtest]``: the simulated venue (as in a backtest config) and the search engine.

    The fill model's seed is the study's per-trial seed, not a field here. The
    default evaluator is the screening kernel; the finalists are re-run with
    ``[rerun] evaluator`` (Nautilus).
    """

    evaluator: str = Field(
        default=SCREEN_EVALUATOR,
        pattern=_EVALUATOR_PATTERN,
        description="module:function running one search backtest (screening kernel by default)",
    )


class RerunSection(_Frozen):
    """``[rerun]``: the ``top_k`` best feasible searched trials re-run on the held-out window.

    Each finalist runs on both engines (the search engine and ``evaluator``, the
    Nautilus reference); the written parameters are the best finalist by the
    reference run's objective among those meeting the constraints there. A
    finalist is flagged when the engines differ by more than a tolerance.
    """

    top_k: int = Field(default=5, ge=1, le=100, description="finalists re-run with the reference")
    evaluator: str = Field(
        default=NAUTILUS_EVALUATOR,
        pattern=_EVALUATOR_PATTERN,
        description="module:function of the reference engine (Nautilus by default)",
    )
    fills_tolerance_pct: float = Field(
        default=5.0, gt=0, le=1000, description="flag when fills differ by more (% of reference)"
    )
    net_pnl_tolerance_pct: float = Field(
        default=0.5,
        gt=0,
        le=1000,
        description="flag when net PnL differs by more (% of the starting balance)",
    )
    objective_tolerance_pct: float = Field(
        default=20.0,
        gt=0,
        le=10_000,
        description="flag when the objective differs by more (% of max(|reference|, 1))",
    )


class BaseSection(_Frozen):
    """``[base]``: parameters every trial starts from; the space overrides some of them."""

    params_file: Path | None = None
    fixed: dict[str, ParamValue] = Field(default_factory=dict)


class ObjectiveSection(_Frozen):
    """``[objective]``: the in-sample metric the study optimizes (direction implied)."""

    metric: Metric = "sharpe"

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        """Optuna direction of ``metric``."""
        return METRIC_DIRECTIONS[self.metric]


class ConstraintsSection(_Frozen):
    """``[constraints]``: a trial must meet all of them (in sample) to be feasible."""

    min_round_trips: int = Field(default=10, ge=1, le=10_000_000)
    max_drawdown_pct: float = Field(default=30.0, gt=0, le=100)
    min_profit_factor: float | None = Field(default=None, ge=0, le=100)
    min_sharpe: float | None = Field(default=None, ge=-5, le=20)


class OptimizeConfig(_Frozen):
    """The whole optimizer config (one TOML file)."""

    study: StudySection = StudySection()
    data: DataSection
    split: SplitSection = SplitSection()
    backtest: BacktestSection = BacktestSection()
    rerun: RerunSection = RerunSection()
    base: BaseSection = BaseSection()
    space: dict[str, ParamRange] = Field(min_length=1)
    objective: ObjectiveSection = ObjectiveSection()
    constraints: ConstraintsSection = ConstraintsSection()

    @field_validator("space")
    @classmethod
    def _space_names(cls, space: dict[str, ParamRange]) -> dict[str, ParamRange]:
        for name, rng in space.items():
            check_param_range(name, rng)
        return space

    @model_validator(mode="after")
    def _check(self) -> OptimizeConfig:
        overlap = sorted(set(self.space) & set(self.base.fixed))
        if overlap:
            raise ValueError(f"{overlap[0]} is both in [space] and in [base.fixed]")
        for name in self.base.fixed:
            field_of(name)
        test_minutes = int(self.data.minutes * self.split.test_fraction)
        if test_minutes < self.split.min_test_minutes:
            raise ValueError(
                f"split.test_fraction * data minutes = {test_minutes} test minutes; "
                f"need >= split.min_test_minutes ({self.split.min_test_minutes})"
            )
        fold_minutes = (self.data.minutes - test_minutes) // self.split.in_sample_folds
        if fold_minutes < self.split.min_test_minutes:
            raise ValueError(
                f"split.in_sample_folds = {self.split.in_sample_folds} leaves {fold_minutes} "
                f"minutes per fold; need >= split.min_test_minutes ({self.split.min_test_minutes})"
            )
        return self


def parse_optimize_config(doc: dict[str, Any], *, base_dir: Path | None = None) -> OptimizeConfig:
    """Validate a TOML document; relative ``base.params_file`` resolves against ``base_dir``."""
    try:
        config = OptimizeConfig.model_validate(doc)
    except ValidationError as exc:
        raise ConfigError(f"invalid optimizer config: {describe_validation_error(exc)}") from exc
    if base_dir is None:
        return config
    pf = config.base.params_file
    if pf is not None and not pf.is_absolute():
        base = config.base.model_copy(update={"params_file": (base_dir / pf).resolve()})
        config = config.model_copy(update={"base": base})
    cat = config.data.catalog
    if cat is not None and not cat.path.is_absolute():
        catalog = cat.model_copy(update={"path": (base_dir / cat.path).resolve()})
        data = config.data.model_copy(update={"catalog": catalog})
        config = config.model_copy(update={"data": data})
    return config


def load_optimize_config(path: str | Path) -> OptimizeConfig:
    """Read and validate an optimizer TOML file."""
    p = Path(path)
    doc = read_toml(p, "optimizer config")
    return parse_optimize_config(doc, base_dir=p.parent)
