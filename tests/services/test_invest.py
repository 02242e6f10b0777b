"""The InVEST adapter: args files, table and raster checks before work, outputs and summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gep.errors import CRSError, GridMismatchError, InputError, MissingClassError, TableError
from gep.invest import load_args, run_invest
from tests.services.invest_inputs import awy_case, carbon_case, write_args, write_csv, write_tif


def _args(path: Path) -> dict:
    return json.loads(path.read_text())


def test_carbon_totals_by_hand(tmp_path: Path) -> None:
    args_path = carbon_case(tmp_path)
    summary = run_invest("carbon", args_path, tmp_path / "out")
    # densities: class 1 = 100 + 20 + 50.5 + 3 = 173.5; class 2 = 55; class 3 = 20 (t C/ha)
    import rasterio

    with rasterio.open(tmp_path / "lulc_bas.tif") as src:
        bas = src.read(1)
    with rasterio.open(tmp_path / "lulc_alt.tif") as src:
        alt = src.read(1)
    density = {1: 173.5, 2: 55.0, 3: 20.0}
    ha = 900 / 10_000  # 30 m pixels
    stock_bas = sum(density[c] for c in bas.ravel() if c != -1) * ha
    stock_alt = sum(density[c] for c in alt.ravel()) * ha
    change = (
        sum(
            density[a] - density[b]
            for a, b in zip(alt.ravel(), bas.ravel(), strict=True)
            if b != -1
        )
        * ha
    )
    assert summary["stock_base_tC"] == pytest.approx(stock_bas, rel=1e-6)
    assert summary["stock_alt_tC"] == pytest.approx(stock_alt, rel=1e-6)
    assert summary["change_tC"] == pytest.approx(change, rel=1e-6)
    # K = 43/10 · (1 − 1.03^−10)/(1 − 1/1.03) = 4.3 · 8.786109 = 37.780268
    assert summary["valuation"]["valuation_factor_per_tC"] == pytest.approx(37.780268, abs=1e-6)
    assert summary["npv"] == pytest.approx(change * 37.780268, rel=1e-6)
    assert summary["units"]["change_tC"] == "t C"
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["stock_base_tC"] == summary["stock_base_tC"]
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "c_storage_bas.tif",
        "c_storage_alt.tif",
        "c_change_bas_alt.tif",
        "npv_alt.tif",
        "summary.json",
    }


def test_datastack_and_relative_paths(tmp_path: Path) -> None:
    args = _args(carbon_case(tmp_path))
    stack = write_args(tmp_path / "run.invs.json", args, datastack="carbon")
    loaded, model = load_args(stack)
    assert model == "carbon"
    assert loaded["lulc_bas_path"] == (tmp_path / "lulc_bas.tif").resolve()
    bare = run_invest("carbon", carbon_case(tmp_path), tmp_path / "a")
    stacked = run_invest("natcap.invest.carbon", stack, tmp_path / "b")
    assert bare["change_tC"] == stacked["change_tC"]
    with pytest.raises(InputError, match="datastack for 'sdr'"):
        run_invest(
            "carbon", write_args(tmp_path / "x.invs.json", args, datastack="sdr"), tmp_path / "c"
        )


def test_args_problems_are_listed_together(tmp_path: Path) -> None:
    args = _args(carbon_case(tmp_path))
    args.update(discount_rate="abc", lulc_alt_year="")
    del args["carbon_pools_path"]
    with pytest.raises(InputError) as err:
        run_invest("carbon", write_args(tmp_path / "bad.json", args), tmp_path / "out")
    text = str(err.value)
    assert "3 problem(s)" in text
    assert 'discount_rate: value "abc" could not be interpreted as a number' in text
    assert "lulc_alt_year: is required" in text and "carbon_pools_path: is required" in text
    assert not (tmp_path / "out").exists()


def test_years_must_increase(tmp_path: Path) -> None:
    args = _args(carbon_case(tmp_path))
    args.update(lulc_bas_year=2020, lulc_alt_year=2020)
    with pytest.raises(InputError, match="must be later"):
        run_invest("carbon", write_args(tmp_path / "y.json", args), tmp_path / "out")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("lucode,c_above,c_below,c_soil\n1,1,1,1\n", r"expected the column\(s\) \['c_dead'\]"),
        (
            "lucode,c_above,c_below,c_soil,c_dead\n1,1,,1,1\n2,1,1,1,1\n3,1,1,1,1\n",
            "column 'c_below' has blank",
        ),
        (
            "lucode,c_above,c_below,c_soil,c_dead\n1,1,1,1,1\n1,2,2,2,2\n2,1,1,1,1\n3,1,1,1,1\n",
            r"duplicate values \[1\]",
        ),
        (
            "lucode,c_above,c_below,c_soil,c_dead\n1,x,1,1,1\n2,1,1,1,1\n3,1,1,1,1\n",
            "could not be interpreted",
        ),
    ],
)
def test_pool_table_problems(tmp_path: Path, table: str, message: str) -> None:
    args_path = carbon_case(tmp_path)
    write_csv(tmp_path / "pools.csv", table)
    with pytest.raises(TableError, match=message) as err:
        run_invest("carbon", args_path, tmp_path / "out")
    assert "pools.csv" in str(err.value)


def test_semicolon_table_with_bom_and_odd_headers(tmp_path: Path) -> None:
    args_path = carbon_case(tmp_path)
    reference = run_invest("carbon", args_path, tmp_path / "a")
    # same values: ';' separator, UTF-8 BOM, padded upper-case headers, extra column, empty row
    (tmp_path / "pools.csv").write_text(
        "\ufeff LUCODE ;C_ABOVE;c_below;c_soil;c_dead;extra\n1;100;20;50.5;3;x\n2;10;5;40;0;y\n"
        "3;0;0;20;0;z\n;;;;;\n",
        encoding="utf-8",
    )
    again = run_invest("carbon", args_path, tmp_path / "b")
    assert again["stock_base_tC"] == reference["stock_base_tC"]
    assert again["npv"] == reference["npv"]


def test_missing_lulc_codes_named(tmp_path: Path) -> None:
    args_path = carbon_case(tmp_path)
    write_csv(
        tmp_path / "pools.csv", "lucode,c_above,c_below,c_soil,c_dead\n1,1,1,1,1\n2,1,1,1,1\n"
    )
    with pytest.raises(
        MissingClassError, match=r"class codes 3 occur in 'lulc_bas_path'.*'lucode'"
    ):
        run_invest("carbon", args_path, tmp_path / "out")


def test_awy_table_checks(tmp_path: Path) -> None:
    args_path = awy_case(tmp_path)
    write_csv(
        tmp_path / "bio.csv", "lucode,lulc_veg,root_depth,kc\n1,2,100,1\n2,1,,0.6\n3,0,,0.3\n"
    )
    with pytest.raises(
        TableError, match=r"'lulc_veg' must be 0 or 1; found \[2\] on row\(s\) \[2\]"
    ):
        run_invest("annual_water_yield", args_path, tmp_path / "out")
    write_csv(
        tmp_path / "bio.csv", "lucode,lulc_veg,root_depth,kc\n1,1,100,1\n2,1,,0.6\n3,0,,0.3\n"
    )
    with pytest.raises(TableError, match=r"root_depth is blank for vegetated classes \[2\]"):
        run_invest("annual_water_yield", args_path, tmp_path / "out")


def test_awy_sentinel_without_nodata_is_caught(tmp_path: Path) -> None:
    args_path = awy_case(tmp_path)
    values = np.full((6, 8), 500.0, dtype=np.float32)
    values[2, 3] = -9999.0
    write_tif(tmp_path / "precip.tif", values, nodata=None)
    with pytest.raises(InputError, match=r"holds -9999 .*gdal_edit.py -a_nodata -9999"):
        run_invest("annual_water_yield", args_path, tmp_path / "out")


def test_awy_grid_checks(tmp_path: Path) -> None:
    args_path = awy_case(tmp_path)
    write_tif(
        tmp_path / "eto.tif",
        np.full((6, 8), 800, np.float32),
        nodata=-1.0,
        origin=(400_010.0, 4_500_000.0),
    )
    with pytest.raises(
        GridMismatchError, match=r"eto_path: pixels are offset by \+0.3333 pixel.*gdalwarp"
    ):
        run_invest("annual_water_yield", args_path, tmp_path / "out")
    write_tif(
        tmp_path / "eto.tif",
        np.full((6, 8), 800, np.float32),
        nodata=-1.0,
        origin=(116.0, 40.0),
        res=0.001,
        crs="EPSG:4326",
    )
    with pytest.raises(CRSError, match="geographic"):
        run_invest("annual_water_yield", args_path, tmp_path / "out")


def test_awy_larger_raster_is_intersected(tmp_path: Path) -> None:
    args_path = awy_case(tmp_path)
    reference = run_invest("annual_water_yield", args_path, tmp_path / "a")
    # ET0 covering one more column on each side (same lattice) gives the same result
    import rasterio

    with rasterio.open(tmp_path / "eto.tif") as src:
        eto = src.read(1)
    wider = np.pad(eto, ((0, 0), (1, 1)), constant_values=700.0)
    write_tif(tmp_path / "eto.tif", wider, nodata=-1.0, origin=(400_000.0 - 30.0, 4_500_000.0))
    summary = run_invest("annual_water_yield", args_path, tmp_path / "b")
    assert summary["watersheds"] == reference["watersheds"]


def test_awy_summary_forms(tmp_path: Path) -> None:
    summary = run_invest("annual_water_yield", awy_case(tmp_path), tmp_path / "out")
    ws = summary["watersheds_details"]
    for ws_id, d in ws.items():
        # InVEST form: mean yield (mm) × polygon area (m²) / 1000
        assert summary["watersheds"][ws_id] == pytest.approx(
            d["wyield_mn"] * d["polygon_area_m2"] / 1000
        )
    # watershed 1 holds the nodata pixel: its pixel sum covers 23 pixels, the InVEST form 24
    assert ws["1"]["valid_pixels"] == 23 and ws["2"]["valid_pixels"] == 24
    assert summary["watersheds_pixel_sum_m3"]["1"] == pytest.approx(
        summary["watersheds"]["1"] * 23 / 24
    )
    assert summary["wyield_volume_m3"] == pytest.approx(sum(summary["watersheds"].values()))
    assert (tmp_path / "out" / "per_pixel" / "wyield.tif").is_file()
    assert not (tmp_path / "out" / "per_pixel" / "wyield_volume_m3.tif").exists()


def test_failed_run_leaves_previous_output(tmp_path: Path) -> None:
    args_path = carbon_case(tmp_path)
    run_invest("carbon", args_path, tmp_path / "out")
    before = (tmp_path / "out" / "summary.json").read_text()
    write_csv(tmp_path / "pools.csv", "lucode,c_above\n1,1\n")
    with pytest.raises(TableError):
        run_invest("carbon", args_path, tmp_path / "out")
    assert (tmp_path / "out" / "summary.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown InVEST model"):
        run_invest("ndr", carbon_case(tmp_path), tmp_path / "out")


def test_awy_demand_and_hydropower(tmp_path: Path) -> None:
    args = _args(awy_case(tmp_path))
    write_csv(tmp_path / "demand.csv", "lucode,demand\n1,2.0\n2,5.0\n3,1.0\n")
    write_csv(
        tmp_path / "val.csv",
        "ws_id,efficiency,fraction,height,kw_price,cost,time_span,discount\n"
        "1,0.8,0.6,20,0.07,0,10,5\n2,0.8,0.6,20,0.07,100,10,0\n",
    )
    args.update(demand_table_path="demand.csv", valuation_table_path="val.csv")
    summary = run_invest(
        "annual_water_yield", write_args(tmp_path / "d.json", args), tmp_path / "o"
    )
    import rasterio

    with rasterio.open(tmp_path / "lulc.tif") as src:
        lulc = src.read(1)
    demand = {1: 2.0, 2: 5.0, 3: 1.0, 255: 0.0}
    d1 = summary["watersheds_details"]["1"]
    # watershed 1 = the left 4 columns; consumption Σ demand of its classes (m3 yr-1)
    assert d1["consum_vol"] == pytest.approx(sum(demand[c] for c in lulc[:, :4].ravel()))
    assert d1["rsupply_vl"] == pytest.approx(d1["wyield_vol"] - d1["consum_vol"])
    # energy = 0.8 · 0.6 · 20 m · rsupply · 0.00272 kWh; dsum(5 %, 10 yr) = (1 − 1.05^−10)/(1 − 1/1.05)
    #        = 0.386087/0.047619 = 8.107822
    energy = 0.8 * 0.6 * 20 * d1["rsupply_vl"] * 0.00272
    assert d1["hp_energy"] == pytest.approx(energy)
    assert d1["hp_val"] == pytest.approx(0.07 * energy * 8.107822, rel=1e-6)
    # 0 % discount: the limit dsum = time_span = 10 (InVEST's code would give 0)
    d2 = summary["watersheds_details"]["2"]
    assert d2["hp_val"] == pytest.approx((0.07 * d2["hp_energy"] - 100) * 10)


def test_unknown_code_in_alternate_map_leaves_no_output(tmp_path: Path) -> None:
    """The fused carbon pass finds the unknown code; nothing is written, the map is named."""
    args_path = carbon_case(tmp_path)
    bas = np.ones((6, 5), dtype=np.int16)
    alt = np.full((6, 5), 2, dtype=np.int16)
    alt[3, 4] = 3  # absent from the table below
    write_tif(tmp_path / "lulc_bas.tif", bas, nodata=-1)
    write_tif(tmp_path / "lulc_alt.tif", alt, nodata=-1)
    write_csv(
        tmp_path / "pools.csv", "lucode,c_above,c_below,c_soil,c_dead\n1,1,1,1,1\n2,1,1,1,1\n"
    )
    with pytest.raises(MissingClassError, match=r"class codes 3 occur in 'lulc_alt_path'"):
        run_invest("carbon", args_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out*"))  # no staging folder left behind
