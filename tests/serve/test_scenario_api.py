"""The scenario endpoints of ``gep serve`` on a store holding a real (restricted) run.

A what-if change runs against the stored run and is stored as a new run of kind ``scenario``;
every bad input is a 4xx with a message saying what was wrong, and nothing is written.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gep.config import demo_config_path, load_run_config
from gep.pipeline import restrict_services
from gep.run import execute
from gep.serve.app import create_app
from gep.store import append_run, list_runs

SERVICES = ("water_conservation", "soil_retention", "flood_regulation", "statistics")
UNITS = {"year": 2020, "from_class": 1, "to_class": 2, "units": ["110109"]}
#: the same kind of polygon in lon/lat and in UTM 50N (EPSG:32650)
LONLAT = [[[115.6, 39.75], [115.9, 39.75], [115.9, 40.0], [115.6, 40.0], [115.6, 39.75]]]
UTM = [[[380000, 4400000], [400000, 4400000], [400000, 4420000], [380000, 4420000],
        [380000, 4400000]]]  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A store with one run of the demo configuration on a few services, and a client."""
    root = tmp_path_factory.mktemp("scenario-api")
    config = restrict_services(load_run_config(demo_config_path()), SERVICES)
    result = execute(config, root / "run")
    store = root / "gep-store.duckdb"
    run_id = append_run(store, result.out)
    with TestClient(create_app(store)) as client:
        yield client, store, run_id


def _post(client, run_id, body, status):
    response = client.post(f"/api/runs/{run_id}/scenarios", json=body)
    assert response.status_code == status, response.text
    return response.json()


def test_a_units_scenario_is_computed_stored_and_read_back(served):
    client, store, run_id = served
    before = len(list_runs(store))
    body = _post(client, run_id, UNITS, 201)
    assert body["base_run_id"] == run_id and body["year"] == 2020
    assert body["pixels_changed"] > 0 and body["area_changed_km2"] > 0
    changed = {s["service"]: s["delta_constant_cny"] for s in body["services"]}
    assert changed["water_conservation"] != 0 and changed["soil_retention"] != 0
    assert changed["agricultural_products"] == 0  # statistics do not follow the land cover
    assert body["delta_gep_constant_cny"] == pytest.approx(sum(changed.values()))
    towns = {u["unit_id"]: u for u in body["units"]}
    inside = [u for u in towns.values() if u["unit_id"].startswith("110109")]
    assert any(u["delta_gep_constant_cny"] != 0 for u in inside)
    outside = [u for u in towns.values() if not u["unit_id"].startswith("110109")]
    # pixels on the district's edge partly cover its neighbours (exact coverage fractions), so a
    # few townships outside change too; the rest do not
    touched = [u for u in outside if u["delta_gep_constant_cny"] != 0]
    assert len(touched) < len(outside) / 10
    assert all(u["delta_fen"] is not None for u in towns.values())
    assert sum(body["timings_s"][k] for k in ("change", "services", "accounts", "linkage")) < 10
    runs = list_runs(store)
    assert len(runs) == before + 1 and runs[-1]["kind"] == "scenario"
    again = client.get(f"/api/runs/{body['run_id']}/scenario").json()
    assert again["services"] == body["services"] and again["units"] == body["units"]
    districts = client.get(f"/api/runs/{body['run_id']}/scenario?level=district").json()
    # the budget is fixed: what one district gains the others lose
    assert sum(u["delta_fen"] for u in districts["units"]) == 0
    assert client.get(f"/api/runs/{body['run_id']}/units?level=township").json()["features"]


def test_a_polygon_in_another_declared_crs_is_reprojected(served):
    client, _, run_id = served
    lonlat = _post(client, run_id, {"year": 2020, "to_class": 2, "polygon": {
        "type": "Polygon", "coordinates": LONLAT}}, 201)  # fmt: skip
    utm = _post(client, run_id, {"year": 2020, "to_class": 2, "crs": "EPSG:32650", "polygon": {
        "type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": UTM}}},
        201)  # fmt: skip
    assert lonlat["pixels_changed"] > 0 and utm["pixels_changed"] > 0


def test_classes_of_the_run(served):
    client, _, run_id = served
    body = client.get(f"/api/runs/{run_id}/landcover-classes").json()
    assert {"code": 2, "name": "forest", "ecosystem_type": "forest"} in body["classes"]
    assert body["years"] == [2015, 2020]


def test_gep_rows_carry_gep_r_and_the_condition_effect(served):
    client, _, run_id = served
    rows = client.get(f"/api/runs/{run_id}/gep?level=district&year=2020").json()["rows"]
    assert all(r["gep_r_constant_cny"] is not None for r in rows)
    assert any(r["condition_effect_cny"] not in (None, 0) for r in rows)
    first = client.get(f"/api/runs/{run_id}/gep?level=district&year=2015").json()["rows"]
    assert all(r["condition_effect_cny"] is None for r in first)  # no earlier year


BAD = [
    ("unknown unit", {**UNITS, "units": ["999999"]}, 400, "unknown unit"),
    ("unknown class", {**UNITS, "to_class": 42}, 400, "not a class"),
    ("no change", {**UNITS, "to_class": 1}, 400, "no change"),
    ("year not run", {**UNITS, "year": 2018}, 400, "not an accounting year"),
    ("both regions", {**UNITS, "polygon": {"type": "Polygon", "coordinates": LONLAT}}, 400,
     "exactly one"),
    ("units without source", {"year": 2020, "to_class": 2, "units": ["110109"]}, 400,
     "from_class"),
    ("malformed geojson", {"year": 2020, "to_class": 2, "polygon": {"type": "Polygon",
     "coordinates": "abc"}}, 400, "malformed"),
    ("a point", {"year": 2020, "to_class": 2, "polygon": {"type": "Point",
     "coordinates": [116.0, 40.0]}}, 400, "Polygon"),
    ("self-intersecting", {"year": 2020, "to_class": 2, "polygon": {"type": "Polygon",
     "coordinates": [[[116, 40], [116.1, 40.1], [116.1, 40], [116, 40.1], [116, 40]]]}}, 400,
     "not valid"),
    ("another crs", {"year": 2020, "to_class": 2, "polygon": {"type": "Polygon",
     "coordinates": UTM}}, 400, "another CRS"),
    ("unknown crs", {"year": 2020, "to_class": 2, "crs": "EPSG:1", "polygon": {
     "type": "Polygon", "coordinates": LONLAT}}, 400, "unknown CRS"),
    ("outside the region", {"year": 2020, "to_class": 2, "polygon": {"type": "Polygon",
     "coordinates": [[[121.4, 31.2], [121.5, 31.2], [121.5, 31.3], [121.4, 31.2]]]}}, 400,
     "outside the region"),
    ("unknown field", {**UNITS, "where": "here"}, 422, "where"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_changes_are_refused_and_nothing_is_written(served, body, status, says):
    client, store, run_id = served
    before = list_runs(store)
    detail = _post(client, run_id, body, status)["detail"]
    assert says in detail
    assert list_runs(store) == before


def test_oversized_geojson_is_refused_before_it_is_read(served):
    client, store, run_id = served
    before = list_runs(store)
    ring = [[116 + i * 1e-6, 40.0] for i in range(120_000)] + [[116.0, 40.0]]
    body = {"year": 2020, "to_class": 2, "polygon": {"type": "Polygon", "coordinates": [ring]}}
    response = client.post(f"/api/runs/{run_id}/scenarios", json=body)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]
    assert list_runs(store) == before


@pytest.mark.parametrize(
    ("run", "status"),
    [("20990101T000000Z-00000000", 404), ("..%2F..%2Fetc", 404), ("x;DROP TABLE runs", 422)],
)
def test_unknown_and_path_like_runs_are_refused(served, run, status):
    client, store, _ = served
    before = list_runs(store)
    response = client.post(f"/api/runs/{run}/scenarios", json=UNITS)
    assert response.status_code == status, response.text
    assert list_runs(store) == before


def test_a_scenario_of_a_scenario_or_of_a_plain_run_is_refused(served):
    client, store, run_id = served
    scenario_id = next(r["run_id"] for r in list_runs(store) if r["kind"] == "scenario")
    before = list_runs(store)
    detail = _post(client, scenario_id, UNITS, 400)["detail"]
    assert "is a scenario run" in detail
    response = client.get(f"/api/runs/{run_id}/scenario")
    assert response.status_code == 404 and "not a scenario" in response.json()["detail"]
    assert list_runs(store) == before
