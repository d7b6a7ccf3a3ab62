"""Callbacks as plain functions: routing, upload, set-up, run and results adapters."""

from __future__ import annotations

import base64
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dash
import pytest
from dash.development.base_component import Component

from capplan.dashboard.callbacks import results, routing, run, setup, upload
from capplan.dashboard.callbacks.common import guarded, message_of
from capplan.dashboard.pages.results import DOWNLOAD_BUTTONS, TABS
from capplan.dashboard.services import Services
from capplan.dashboard.studyfile import FORM_FIELDS, StudyForm, control_value
from capplan.errors import CapplanError, SpecError


def walk(component: Any) -> Iterator[Component]:
    """Every component in a tree (lists, tuples and single components)."""
    if isinstance(component, list | tuple):
        for item in component:
            yield from walk(item)
    elif isinstance(component, Component):
        yield component
        yield from walk(getattr(component, "children", None))


def ids(component: Any) -> set[str]:
    return {str(c.id) for c in walk(component) if getattr(c, "id", None) is not None}


def text(component: Any) -> str:
    parts = []
    for c in walk(component):
        children = getattr(c, "children", None)
        if isinstance(children, str | int | float):
            parts.append(str(children))
    return " ".join(parts)


def test_routing_pages(services: Services, sid: str) -> None:
    page, follow = routing.render(services, sid, "/", None)
    assert "upload" in ids(page) and "dataset-list" in ids(page) and follow is None
    page, _ = routing.render(services, sid, "/runs", None)
    assert "No runs yet" in text(page)
    page, _ = routing.render(services, sid, "/run/0123456789abcdef", None)
    assert "no such page or run" in text(page)
    page, _ = routing.render(services, sid, "/nowhere", None)
    assert "Not found" in text(page)
    with pytest.raises(CapplanError):
        routing.render(services, sid, "/setup", "?dataset=0123456789abcdef")


def test_setup_page_preselects_the_chosen_dataset(
    services: Services, sid: str, bitbrains_files: list[Path], data_url: Callable[..., str]
) -> None:
    record = services.ingest_upload(sid, [bitbrains_files[0].name], [data_url(bitbrains_files[0])])
    page, _ = routing.render(services, sid, "/setup", f"?dataset={record.id}")
    dropdown = next(c for c in walk(page) if getattr(c, "id", None) == "study-workload")
    assert dropdown.value == f"dataset:{record.id}"
    assert "host-table" in ids(page) and "run-button" in ids(page)


def test_upload_adapter(
    services: Services, sid: str, bitbrains_files: list[Path], data_url: Callable[..., str]
) -> None:
    with pytest.raises(dash.exceptions.PreventUpdate):
        upload.ingest(services, sid, None)
    refused, listing = upload.ingest(services, sid, {"error": "the upload is 9 MB, above"})
    assert "above" in text(refused) and listing is dash.no_update
    batch = {"names": [bitbrains_files[0].name], "contents": [data_url(bitbrains_files[0])]}
    done, listing = upload.ingest(services, sid, batch)
    assert "Read 1 VMs" in text(done)
    assert "bitbrains" in text(listing)
    with pytest.raises(CapplanError, match="format not recognised"):
        upload.ingest(services, sid, {"names": ["x.csv"], "contents": [data_url(b"a\nb\n")]})


def _controls(**changes: Any) -> tuple[list[Any], list[dict[str, str]]]:
    values = {f.path: control_value(f, f.default) for f in FORM_FIELDS} | changes
    ids_ = [{"type": "study-field", "path": f.path} for f in FORM_FIELDS]
    return [values[i["path"]] for i in ids_], ids_


def test_read_form_collects_every_problem() -> None:
    values, ids_ = _controls(headroom_frac="high")
    hosts = [{"model": "m", "price_usd": "cheap", "max_count": None}]
    with pytest.raises(SpecError) as info:
        setup.read_form("", None, values, ids_, hosts, [0])
    where = [p for p, _ in info.value.problems]
    assert where == ["base.headroom_frac", "name", "base.workload", "hosts.m.price_usd"]
    values, ids_ = _controls(mode=["full-bt", "paravirt"])
    form = setup.read_form("s", "demo", values, ids_, [{"model": "m", "max_count": 2}], [0])
    assert form.values["mode"] == ("full-bt", "paravirt")
    assert form.hosts[0].offered and form.hosts[0].max_count == 2


def _form(services: Services, sid: str, workload: str) -> StudyForm:
    values, ids_ = _controls(mode=["hw-assisted", "paravirt"], time_limit_s="5")
    table = services.host_table(sid)
    return setup.read_form("cb study", workload, values, ids_, table, [_small_row(services, sid)])


def _small_row(services: Services, sid: str) -> int:
    return [r["model"] for r in services.host_table(sid)].index("ibm-x3550-m3-x5675")


def test_save_then_load_a_study_file(
    services: Services, sid: str, bitbrains_files: list[Path], data_url: Callable[..., str]
) -> None:
    record = services.ingest_upload(sid, [bitbrains_files[0].name], [data_url(bitbrains_files[0])])
    download, message = setup.save_study(
        services, sid, _form(services, sid, f"dataset:{record.id}")
    )
    assert download["filename"] == "cb-study.toml" and "Saved" in text(message)
    doc = tomllib.loads(download["content"])
    assert doc["axes"]["mode"] == ["hw-assisted", "paravirt"]
    contents = (
        "data:application/toml;base64," + base64.b64encode(download["content"].encode()).decode()
    )
    body, message = setup.load_study(services, sid, contents, "cb-study.toml")
    assert "Loaded cb-study.toml" in text(message)
    table = next(c for c in walk(body) if getattr(c, "id", None) == "host-table")
    assert table.selected_rows == [_small_row(services, sid)]
    with pytest.raises(CapplanError, match="damaged"):
        setup.load_study(services, sid, "data:x;base64,@@", "x.toml")


def test_problems_box_lists_spec_paths() -> None:
    box = setup._problems_box("", SpecError([("base.headroom_frac", "bad")]))
    assert "base.headroom_frac: bad" in text(box)


def test_guarded_turns_failures_into_messages() -> None:
    @guarded(lambda message, exc: ("error", message))
    def fails(kind: str) -> Any:
        if kind == "user":
            raise CapplanError("a clear message")
        if kind == "prevent":
            raise dash.exceptions.PreventUpdate
        raise ZeroDivisionError("secret detail")

    assert fails("user") == ("error", "a clear message")
    _, message = fails("bug")
    assert "internal error (ZeroDivisionError)" in message and "secret" not in message
    with pytest.raises(dash.exceptions.PreventUpdate):
        fails("prevent")
    assert message_of(CapplanError("x" * 5000)).endswith("…")


@pytest.mark.slow
def test_results_adapters_on_a_finished_run(finished_run: Any) -> None:
    services, sid, record = finished_run.services, finished_run.session_id, finished_run.run
    page, follow = routing.render(services, sid, f"/run/{record.id}", None)
    assert follow is None and "result-tabs" in ids(page)
    expected = {
        "overview": "overview-tiles",
        "consolidation": "utilization-heatmap",
        "power": "power-over-time",
        "comparison": "comparison-table",
        "network": "link-utilization",
        "availability": "availability-services",
    }
    scenario = services.result(sid, record.id).results[0].name
    for tab, _ in TABS:
        content, picker = results.tab_content(services, sid, record.id, tab, scenario)
        assert picker["display"] == ("none" if tab in ("overview", "comparison") else "block")
        if tab in expected:
            assert expected[tab] in ids(content), tab
    power, _ = results.tab_content(services, sid, record.id, "power", scenario)
    assert {"saving", "tornado", "baseline-assumption", "flips"} <= ids(power)
    assert "Today's estate" in text(power) and "NPV saving" in text(power)
    avail, _ = results.tab_content(services, sid, record.id, "availability", scenario)
    assert "Monte Carlo 95 % interval" in text(avail)
    overview, _ = results.tab_content(services, sid, record.id, "overview", None)
    assert "1.csv" in text(overview), "the upload's data-quality notes are shown with the run"
    notes_list = next(c for c in walk(overview) if getattr(c, "id", None) == "quality-notes")
    shown = [text(item) for item in notes_list.children]
    assert shown and len(shown) == len(set(shown)), "each data-quality note is shown once"
    comparison, _ = results.tab_content(services, sid, record.id, "comparison", None)
    assert "pareto-chart" in ids(comparison)
    with pytest.raises(CapplanError, match="no scenario"):
        results.tab_content(services, sid, record.id, "storage", "nope")
    for kind, _ in DOWNLOAD_BUTTONS:
        payload = results.download(services, sid, record.id, kind)
        assert payload["filename"].startswith(record.id) and payload["content"]
    # nothing a user sees names the server's folders (upload folder, session id)
    root = str(services.workspace.root)
    assert root not in text(overview) and sid not in text(overview)
    for kind, _ in DOWNLOAD_BUTTONS:
        path, _ = services.download(sid, record.id, kind)
        content = path.read_text(errors="replace") if kind != "tables" else ""
        assert root not in content and sid not in content, kind
    with pytest.raises(CapplanError, match="unknown download"):
        services.download(sid, record.id, "study-cli")
    assert results.run_id_of(f"/run/{record.id}") == record.id
    with pytest.raises(CapplanError):
        results.run_id_of("/setup")
    message, done = run.cancel(services, sid, record.id)
    assert "already ended (done)" in message and done["status"] == "done"
    listing, _ = routing.render(services, sid, "/runs", None)
    assert record.id in text(listing)
    foreign, _ = routing.render(services, "e" * 32, f"/run/{record.id}", None)
    assert "no such page or run" in text(foreign)
    assert run.poll(services, sid, None)[-1] is True, "nothing to follow: polling stops"
    *_, done, stop = run.poll(services, sid, record.id)
    assert done["status"] == "done" and stop is True


@pytest.mark.slow
def test_one_live_run_per_session(
    services: Services, sid: str, bitbrains_files: list[Path], data_url: Callable[..., str]
) -> None:
    record = services.ingest_upload(sid, [bitbrains_files[0].name], [data_url(bitbrains_files[0])])
    form = _form(services, sid, f"dataset:{record.id}")
    run_id, url = setup.start_run(services, sid, form)
    assert url == f"/run/{run_id}"
    page, follow = routing.render(services, sid, url, None)
    assert follow == run_id and "run-pending" in ids(page)
    with pytest.raises(CapplanError, match="still running"):
        setup.start_run(services, sid, form)
    message, done = run.cancel(services, sid, run_id)
    assert message == "Run cancelled." and done["status"] == "cancelled"
    page, follow = routing.render(services, sid, url, None)
    assert follow is None and "run-failed" in ids(page)


def test_a_horizon_plan_shows_its_run_out_and_purchases() -> None:
    """The consolidation tab of a plan made for a horizon: chart, table and what to buy."""
    from types import SimpleNamespace

    import numpy as np
    from helpers import make_workload

    from capplan.dashboard.pages import results as pages
    from capplan.optimize.consolidate import ConsolidateOptions, HostOffer, consolidate
    from capplan.spec.catalog import load_catalog
    from capplan.viz import results as figures

    wl = make_workload(
        {"cpu_demand_mhz": np.full((6, 24), 9000.0), "mem_active_mib": np.full((6, 24), 2048.0)},
        inventory={"n_vcpus": [2] * 6, "mem_provisioned_mib": [4096.0] * 6},
    )
    opts = ConsolidateOptions(
        hosts=(HostOffer("ibm-x3550-m3-x5675"),),
        mode="none",
        buckets=4,
        objective="hosts",
        headroom_frac=0.0,
        ha_hosts=0,
        horizon_days=730,
        growth=0.2,
    )
    res = consolidate(wl, load_catalog(), opts)
    from capplan.outcomes import PlanSummary
    from capplan.results import ScenarioSummary

    scenario = SimpleNamespace(
        solve=res.summary, placement=res.placement, summary=ScenarioSummary()
    )
    figure = figures.horizon(scenario)
    assert figure is not None
    shown = [t for t in figure.data if t.name]  # one named line per zone and resource
    assert {t.name for t in shown} == {"default · cpu", "default · mem"}
    page = pages.consolidation(scenario, None, figure)
    assert {"horizon", "horizon-runout", "purchases"} <= ids(page)
    words = text(page)
    assert "What to buy when" in words and "ibm-x3550-m3-x5675" in words
    assert "2027" in words or "2028" in words  # day 1,432 after 2024-01-01
    plain = SimpleNamespace(
        solve=PlanSummary("optimal"), placement=res.placement, summary=ScenarioSummary()
    )
    assert figures.horizon(plain) is None
    assert "horizon" not in ids(pages.consolidation(plain, None))
