"""The shipped Grafana dashboard queries only metrics the daemon really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.full_render import render_every_family

DASHBOARD = (
    Path(__file__).resolve().parents[2] / "packaging" / "grafana" / "hedgegrid-dashboard.json"
)


def _queried_metrics() -> set[str]:
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in doc["templating"]["list"] if v["type"] == "query"]
    return set(re.findall(r"(?:hedgegridd|process)_[a-z_]+", " ".join(exprs)))


@pytest.mark.asyncio
async def test_every_dashboard_metric_is_exported(tmp_path: Path) -> None:
    """Each metric name in the dashboard appears in a real render of the daemon's registry."""
    text = await render_every_family(tmp_path)
    families = list(text_string_to_metric_families(text))
    exported = {s.name for f in families for s in f.samples}
    exported |= {f.name + ("_total" if f.type == "counter" else "") for f in families}
    queried = _queried_metrics()
    assert len(queried) >= 15
    assert queried <= exported, sorted(queried - exported)


def test_ratio_panels_show_ratios_as_percent() -> None:
    """Panels of 0..1 ratios (margin, drawdown vs limit, throttle) use Grafana's percentunit."""
    doc = json.loads(DASHBOARD.read_text())
    ratio = re.compile(r"hedgegridd_(margin_ratio|throttle_ratio|killswitch_(reading|threshold))")
    panels = [p for p in doc["panels"] if any(ratio.search(t["expr"]) for t in p["targets"])]
    assert len(panels) >= 3
    for panel in panels:
        assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit", panel["title"]


_SELECTOR = 'instance=~"$instance"'


def test_every_panel_query_filters_by_the_instance_variable() -> None:
    """An 'instance' variable lists the scraped daemons; every metric in every query uses it."""
    doc = json.loads(DASHBOARD.read_text())
    (variable,) = [v for v in doc["templating"]["list"] if v["name"] == "instance"]
    assert variable["type"] == "query"
    assert re.fullmatch(r"label_values\(hedgegridd_[a-z_]+, instance\)", variable["query"])
    assert variable["multi"] is True
    assert variable["includeAll"] is True
    exprs = [(p["title"], t["expr"]) for p in doc["panels"] for t in p["targets"]]
    assert len(exprs) >= 20
    for title, expr in exprs:
        uses = re.findall(r"\b((?:hedgegridd|process)_[a-z_]+)(\{[^}]*\})?", expr)
        assert uses, (title, expr)
        for metric, selector in uses:
            assert _SELECTOR in selector, (title, metric, expr)
