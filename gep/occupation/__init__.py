"""Occupation compensation (占用补偿): the GEP a construction footprint removes, as money due.

Beijing 2022 implementation opinions §(十七) ask for an occupation compensation system for
construction that occupies natural ecological space (建立健全依法建设占用各类自然生态空间的
占用补偿制度). Here the compensation due is the ecosystem services the footprint removes, at
constant prices, over a horizon, discounted:

1. the footprint's pixels (coverage ≥ ``min_coverage`` of the pixel, exact fractions from
   exactextract) are converted to the built-up class of the land-cover scheme (CLCD 8,
   impervious); state-dependent inputs that the land cover does not drive (actual
   evapotranspiration, NPP) take, on converted pixels, the median over the region's pixels of
   the built-up class in the same year (``analogue: class_median``; ``keep`` leaves them);
2. every service of the run configuration is recomputed on the whole region for both states
   (so off-site effects of routed services such as soil retention count) and summed over the
   region's units (:func:`gep.accounts.zonal_sum`);
3. both states are valued at the constant prices of the valuation base year
   (:func:`gep.valuation.value_quantities`); the annual loss is ``ΔG = GEP_before −
   GEP_after`` (CNY yr⁻¹);
4. the compensation due is the present value of ``ΔG`` paid at the end of each of ``H``
   years at discount rate ``r``:
   ``PV = ΔG · Σ_{t=1..H} (1 + r)^−t = ΔG · (1 − (1 + r)^−H) / r`` (``ΔG · H`` when
   ``r = 0``) — the present value of an ordinary annuity (Boardman et al. 2018,
   *Cost–Benefit Analysis*, 5th ed., ch. 6; the same discounting as InVEST's carbon
   valuation, METHODS §2.3). The horizon and the rate are policy inputs without default.

The run configuration (like ``gep/configs/demo.yaml``) carries an ``occupation:`` section::

    occupation:
      horizon_years: 20        # required
      discount_rate: 0.08      # required (e.g. China's social discount rate, 8 %)
      year: 2020               # land-cover and weather year (default: last of `years`)
      min_coverage: 0.5        # share of a pixel the footprint must cover to convert it
      analogue: class_median   # or keep
      reproject: false         # true: accept a footprint in another CRS and reproject it

Outputs (each written atomically): ``occupation_map.png``, ``occupation_summary.md``,
``occupation_summary.html``, ``occupation.json``, ``occupation_components.csv``.
"""

from gep.occupation.config import (
    ANALOGUE_VARIABLES,
    OccupationSettings,
    annuity_factor,
    load_occupation_config,
)
from gep.occupation.run import run_occupation

__all__ = [
    "ANALOGUE_VARIABLES",
    "OccupationSettings",
    "annuity_factor",
    "load_occupation_config",
    "run_occupation",
]
