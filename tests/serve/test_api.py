"""The JSON API of ``gep serve``: every endpoint, and bad input answered 4xx with nothing written."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gep.serve.app import create_app
from gep.store import StoreError, append_run
from tests.store.fake_run import make_output_folder


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A store with two fake runs (b = 2 × a, without one township) and a client on it."""
    root = tmp_path_factory.mktemp("serve")
    store = root / "gep-store.duckdb"
    a = append_run(store, make_output_folder(root / "a"))
    b = append_run(store, make_output_folder(root / "b", scale=2.0, drop_unit="110102001"))
    with TestClient(create_app(store)) as client:
        yield client, store, a, b


def _get(client: TestClient, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.text
    return response.json()


def test_runs_and_a_run_record(served):
    client, _, a, b = served
    runs = _get(client, "/api/runs")["runs"]
    assert [r["run_id"] for r in runs] == [a, b]
    record = _get(client, f"/api/runs/{a}")
    assert record["inputs"][0]["sha256"] == "ab" * 32 and record["years"] == [2015, 2020]
    assert _get(client, "/api/runs/latest")["run_id"] == b


def test_units_are_geojson_in_lon_lat(served):
    client, _, a, _ = served
    towns = _get(client, f"/api/runs/{a}/units?level=township")
    assert towns["type"] == "FeatureCollection" and len(towns["features"]) == 3
    feature = next(f for f in towns["features"] if f["properties"]["unit_id"] == "110101001")
    assert feature["properties"]["unit_name"] == "东华门街道"
    assert feature["properties"]["area_km2"] == 25.0
    lon, lat = feature["geometry"]["coordinates"][0][0]
    assert 115 < lon < 118 and 39 < lat < 41
    assert len(_get(client, f"/api/runs/{a}/units")["features"]) == 2  # districts by default


def test_gep_per_unit_for_a_year(served):
    client, _, a, _ = served
    body = _get(client, f"/api/runs/{a}/gep?level=district&year=2020")
    assert body["years"] == [2015, 2020] and body["currency"] == "CNY"
    row = next(r for r in body["rows"] if r["unit_id"] == "110101")
    assert row["gep_constant_cny"] == pytest.approx(1.1 * 1_250_000.0)
    assert row["change_constant_cny"] == pytest.approx(0.1 * 1_250_000.0)
    assert {r["year"] for r in _get(client, f"/api/runs/{a}/gep")["rows"]} == {2015, 2020}


def test_accounts_filtered(served):
    client, _, a, _ = served
    url = f"/api/runs/{a}/accounts?unit_id=110101002&year=2015&service=carbon_sequestration"
    (row,) = _get(client, url)["rows"]
    assert row["value_constant_cny"] == pytest.approx(4 * 250_000.0)
    assert row["quantity_unit"] == "m3 yr-1"
    assert len(_get(client, f"/api/runs/{a}/accounts?level=township")["rows"]) == 12


def test_allocation_lines(served):
    client, _, a, _ = served
    rows = _get(client, f"/api/runs/{a}/allocation?level=township&year=2020")["rows"]
    assert [r["amount_fen"] for r in rows] == [300_000_000, 400_000_000, 500_000_000]


def test_unit_panel(served):
    client, _, a, _ = served
    unit = _get(client, f"/api/runs/{a}/units/110101")
    assert unit["unit_name"] == "东城区" and unit["level"] == "district"
    services = {(s["year"], s["service_zh"]): s["value_constant_cny"] for s in unit["services"]}
    assert services[(2020, "水源涵养")] == pytest.approx(1_100_000.0)
    assert unit["allocation"][0]["amount_cny"] == pytest.approx(1_000_000.0)


def test_diff_of_two_runs(served):
    client, _, a, b = served
    body = _get(client, f"/api/diff?a={a}&b={b}&year=2020&level=township")
    rows = {r["unit_id"]: r for r in body["units"]}
    assert rows["110101001"]["delta_gep_constant_cny"] == pytest.approx(3 * 1.1 * 1_250_000.0)
    assert rows["110101001"]["delta_amount_cny"] == pytest.approx(3_000_000.0)
    assert rows["110102001"]["gep_constant_cny_b"] is None  # not in run b
    services = {s["service"]: s for s in body["services"]}
    assert services["water_conservation"]["service_zh"] == "水源涵养"


def test_page_assets_and_docs_are_local(served):
    client, *_ = served
    page = client.get("/")
    assert page.status_code == 200 and "生态产品总值" in page.text
    for asset in ("/static/app.js", "/static/style.css", "/docs"):
        body = client.get(asset)
        assert body.status_code == 200, asset
        urls = set(re.findall(r"https?://[^\s\"'<>)]*", body.text))
        assert urls <= {"http://www.w3.org/2000/svg"}, (asset, urls)  # a namespace, not a fetch
    assert "/api/diff" in _get(client, "/openapi.json")["paths"]


BAD = [
    ("/api/runs/20000101T000000Z-00000000", 404, "not in the store"),
    ("/api/runs/RUN/gep?year=2019", 404, "year 2019 is not in run"),
    ("/api/runs/RUN/gep?year=twenty", 422, "year"),
    ("/api/runs/RUN/gep?level=county", 422, "level"),
    ("/api/runs/RUN/units/999999", 404, "unit 999999 is not in run"),
    ("/api/runs/RUN/units/..%2F..%2Fetc", 404, ""),
    ("/api/runs/..%2F..%2Fetc%2Fpasswd/gep", 404, ""),
    ("/api/runs/%2Fetc%2Fpasswd", 404, ""),
    ("/api/runs/..%5Cwindows/gep", 422, "run_id"),
    ("/api/runs/RUN/accounts?unit_id=1;drop", 422, "unit_id"),
    ("/api/runs/RUN/accounts?unit_id=42", 404, "unit 42"),
    ("/api/diff?a=RUN&b=../x&year=2020", 422, "b"),
    ("/api/diff?a=RUN&b=RUN", 422, "year"),
    ("/api/diff?a=RUN&b=20000101T000000Z-00000000&year=2020", 404, "not in the store"),
]


@pytest.mark.parametrize(("url", "status", "message"), BAD)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(served, url, status, message):
    client, store, a, _ = served
    before = hashlib.sha256(Path(store).read_bytes()).hexdigest()
    response = client.get(url.replace("RUN", a))
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert hashlib.sha256(Path(store).read_bytes()).hexdigest() == before


def test_no_endpoint_writes(served):
    client, _, a, _ = served
    assert client.post("/api/runs", json={}).status_code == 405
    assert client.delete(f"/api/runs/{a}").status_code == 405


def test_an_app_needs_an_existing_store(tmp_path):
    with pytest.raises(StoreError, match="no accounts store"):
        create_app(tmp_path / "none.duckdb")


def test_a_run_appended_while_serving_is_seen_and_nothing_half_written(tmp_path):
    store = tmp_path / "gep-store.duckdb"
    first = append_run(store, make_output_folder(tmp_path / "a"))
    with TestClient(create_app(store)) as client:
        assert [r["run_id"] for r in _get(client, "/api/runs")["runs"]] == [first]
        _get(client, f"/api/runs/{first}/units?level=township")  # fills the cache
        second = append_run(store, make_output_folder(tmp_path / "b", scale=2.0))
        assert [r["run_id"] for r in _get(client, "/api/runs")["runs"]] == [first, second]
        rows = _get(client, "/api/runs/latest/gep?level=district&year=2015")["rows"]
        assert rows[0]["gep_constant_cny"] == pytest.approx(2 * 1_250_000.0)
