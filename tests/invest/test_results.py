"""``gep invest carbon`` writes the rasters of the fused numba pass it replaced, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from gep.invest import run_invest
from gep.io.bands import FLOAT_NODATA
from gep.kernels import carbon
from tests.services.invest_inputs import write_args, write_csv, write_tif

NAMES = ("c_storage_bas", "c_storage_alt", "c_change_bas_alt", "npv_alt")


def _case(folder: Path, dtype: type, n_classes: int, nodata: int) -> tuple[Path, dict]:
    rng = np.random.default_rng(n_classes)
    codes = np.arange(1, n_classes + 1)
    bas = rng.choice(codes, (700, 90)).astype(dtype)  # more than one block of 512 rows
    alt = rng.choice(codes, (700, 90)).astype(dtype)
    bas[:3, :4] = nodata
    alt[5, :] = nodata
    write_tif(folder / "bas.tif", bas, nodata=nodata)
    write_tif(folder / "alt.tif", alt, nodata=nodata)
    pools = np.round(rng.uniform(0, 90, (n_classes, 4)), 3)
    pools[1] = pools[0] - [1.0, 0, 0, 0]  # a change of −1 t C/ha between classes 1 and 2
    lines = ["lucode,c_above,c_below,c_soil,c_dead"]
    lines += [f"{c}," + ",".join(f"{v:g}" for v in p) for c, p in zip(codes, pools, strict=True)]
    write_csv(folder / "pools.csv", "\n".join(lines) + "\n")
    args = {
        "lulc_bas_path": "bas.tif",
        "lulc_alt_path": "alt.tif",
        "carbon_pools_path": "pools.csv",
        "calc_sequestration": True,
        "do_valuation": True,
        "lulc_bas_year": 2010,
        "lulc_alt_year": 2020,
        "price_per_metric_ton_of_c": 43,
        "discount_rate": 3,
        "rate_change": 1,
    }
    inputs = {"bas": bas, "alt": alt, "codes": codes, "pools": pools}
    return write_args(folder / "args.json", args), inputs


@pytest.mark.parametrize(
    ("dtype", "n_classes", "nodata"),
    [(np.uint8, 9, 255), (np.int16, 40, -1), (np.int32, 12, -9999), (np.int16, 1500, 0)],
)
def test_carbon_rasters_and_totals_as_the_numba_pass(
    tmp_path: Path, dtype: type, n_classes: int, nodata: int
) -> None:
    args, inputs = _case(tmp_path, dtype, n_classes, nodata)
    summary = run_invest("carbon", args, tmp_path / "out")
    density = carbon.total_pool_density(inputs["pools"])
    factor = carbon.valuation_factor(43, 10, 3, 1)
    expected, totals = carbon.storage_change_npv(
        inputs["bas"],
        inputs["alt"],
        inputs["codes"],
        density,
        nodata_bas=nodata,
        nodata_alt=nodata,
        factor=factor,
        fill=FLOAT_NODATA,
    )
    for name, values in zip(NAMES, expected, strict=True):
        with rasterio.open(tmp_path / "out" / f"{name}.tif") as src:
            np.testing.assert_array_equal(src.read(1), values, err_msg=name)
    ha = summary["pixel_area_m2"] / 1e4
    assert summary["stock_base_tC"] == pytest.approx(totals["base"] * ha, rel=1e-12)
    assert summary["change_tC"] == pytest.approx(totals["change"] * ha, rel=1e-12)
    assert summary["npv"] == pytest.approx(totals["npv"] * ha, rel=1e-12)
    assert summary.get("pixels_with_change_minus_one", 0) == totals["n_minus_one"]
