"""``gep serve`` in a real browser: Debian's Chromium, driven headless by Playwright.

A real ``gep demo`` fills a store; ``gep serve`` runs on a free loopback port; the test loads
the map, picks a year, clicks a township and reads its GEP, compares two runs, and writes
screenshots under the test's tmp folder. Skipped only where ``/usr/bin/chromium`` is absent
outside CI; in CI (``CI=true``) a missing Chromium fails the test (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
GEP = Path(sys.executable).with_name("gep")
#: Chromium's flags on this machine (closed network, root, no GPU): see the environment notes.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser() -> None:
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright")
    if not missing:
        return
    message = "browser test needs " + " and ".join(missing)
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; .ci/run must install it")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


def _wait_for(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gep serve exited with {process.returncode}")
        try:
            _json(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gep serve did not answer {url} within {timeout_s} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """A store filled by two appends of a real ``gep demo``, served by ``gep serve``.

    The demo run is the session's shared one (``demo_run`` in ``tests/conftest.py``).
    """
    _require_browser()
    demo = request.getfixturevalue("demo_run").out  # after the skip: no run without a browser
    root = tmp_path_factory.mktemp("browser")
    store = root / "gep-store.duckdb"
    for _ in range(2):
        appended = subprocess.run(
            [str(GEP), "store", "append", str(demo), "--store", str(store)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert appended.returncode == 0, appended.stderr
    port = _free_port()
    process = subprocess.Popen(
        [str(GEP), "serve", "--store", str(store), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/runs", process)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _format_cny(value: float) -> str:
    """The page's formatCny: 亿元 from 1 亿 up, else 万元, two decimals, grouped thousands."""
    if abs(value) >= 1e8:
        return f"{value / 1e8:,.2f} 亿元"
    return f"{value / 1e4:,.2f} 万元"


def _unit_under_centre(page, locator) -> tuple[float, float, str]:
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    unit = page.evaluate(
        "([x, y]) => { const e = document.elementFromPoint(x, y);"
        " return e && e.dataset ? e.dataset.unitId || '' : ''; }",
        [x, y],
    )
    return x, y, unit


def test_map_year_township_click_and_comparison(server, tmp_path):
    from playwright.sync_api import sync_playwright

    runs = _json(f"{server}/api/runs")["runs"]
    newest = runs[-1]["run_id"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 950})
            page.goto(server + "/")
            page.wait_for_selector("body[data-state=ready]", timeout=30_000)
            assert page.locator("#map path").count() == 16  # Beijing's districts
            page.select_option("#year", "2015")
            page.wait_for_selector("body[data-state=ready]")
            page.select_option("#level", "township")
            page.wait_for_function(
                "document.body.dataset.state === 'ready' && "
                "document.querySelectorAll('#map path').length > 300",
                timeout=30_000,
            )
            assert "2015 年" in page.locator("#legend").inner_text()
            for index in range(120, 160):  # a township whose box centre lies in a township
                x, y, unit_id = _unit_under_centre(page, page.locator("#map path").nth(index))
                if unit_id:
                    break
            assert unit_id, "no township under the centres of their bounding boxes"
            page.mouse.click(x, y)
            page.wait_for_selector(f"#unit-panel[data-unit-id='{unit_id}']", timeout=10_000)
            shown = page.locator("#unit-gep").inner_text()
            api = _json(f"{server}/api/runs/{newest}/gep?level=township&year=2015")
            expected = next(r for r in api["rows"] if r["unit_id"] == unit_id)
            assert shown == _format_cny(expected["gep_constant_cny"])
            assert expected["unit_name"] in page.locator("#unit-name").inner_text()
            assert page.locator("#unit-services tbody tr").count() > 0
            page.screenshot(path=str(tmp_path / "gep-serve-map.png"), full_page=True)

            page.click("#tab-compare")
            page.click("#compare-go")
            page.wait_for_function(
                "document.querySelectorAll('#compare-units tbody tr').length === 16"
            )
            page.screenshot(path=str(tmp_path / "gep-serve-compare.png"), full_page=True)
            assert page.locator("#error").is_hidden()
        finally:
            browser.close()
    assert (tmp_path / "gep-serve-map.png").stat().st_size > 20_000


def test_indicators_and_a_scenario_in_the_browser(server, tmp_path):
    """GEP-R and the condition effect on the map; a scenario run from the form and its change."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            page.goto(server + "/")
            page.wait_for_selector("body[data-state=ready]", timeout=30_000)
            for metric, label in (("gep_r", "GEP-R"), ("condition_effect", "生态状况效应")):
                page.select_option("#metric", metric)
                assert label in page.locator("#legend").inner_text()
                coloured = page.eval_on_selector_all(
                    "#map path", "ps => ps.filter(p => p.getAttribute('fill') !== '#d0d0d0').length"
                )
                assert coloured == 16, metric  # every district has a value in 2020

            page.click("#tab-scenario")
            page.wait_for_function(
                "document.querySelectorAll('#sc-map path').length > 300", timeout=30_000
            )
            page.select_option("#sc-year", "2020")
            page.select_option("#sc-from", "1")
            page.select_option("#sc-to", "2")
            page.fill("#sc-units", "110109")
            page.click("#sc-go")
            page.wait_for_selector("#sc-status[data-state=done]", timeout=60_000)
            scenario_id = page.get_attribute("#sc-status", "data-run-id")
            shown = float(page.get_attribute("#sc-delta", "data-cny"))
            stored = _json(f"{server}/api/runs/{scenario_id}/scenario")
            assert shown == stored["delta_gep_constant_cny"] != 0
            assert page.locator("#sc-services tbody tr").count() > 0
            assert page.locator("#sc-units-table tbody tr").count() > 0
            page.screenshot(path=str(tmp_path / "gep-serve-scenario.png"), full_page=True)

            # a polygon drawn on the map around a township of 门头沟
            page.select_option("#sc-mode", "polygon")
            page.select_option("#sc-from", "")
            page.select_option("#sc-to", "8")
            box = page.locator("#sc-map path[data-unit-id^='110109']").first.bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.click("#sc-draw")
            for dx, dy in ((-12, -12), (12, -12), (12, 12), (-12, 12)):
                page.mouse.click(cx + dx, cy + dy)
            page.click("#sc-draw")  # 完成
            assert page.locator("#sc-shape").count() == 1
            page.click("#sc-go")
            page.wait_for_function(
                f"document.querySelector('#sc-status').dataset.state === 'done' && "
                f"document.querySelector('#sc-status').dataset.runId !== '{scenario_id}'",
                timeout=60_000,
            )
            drawn = _json(
                f"{server}/api/runs/{page.get_attribute('#sc-status', 'data-run-id')}/scenario"
            )
            assert drawn["pixels_changed"] > 0 and drawn["change"]["polygon"]["type"] == "Polygon"
            page.screenshot(path=str(tmp_path / "gep-serve-scenario-polygon.png"), full_page=True)
            assert page.locator("#error").is_hidden()
        finally:
            browser.close()
    assert (tmp_path / "gep-serve-scenario.png").stat().st_size > 20_000
