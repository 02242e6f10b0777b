"""Oxygen release (释氧): O2 produced with the carbon fixed, from net ecosystem production.

Photosynthesis fixes one mole of CO2 and releases one mole of O2, so the oxygen released is
``32/44`` of the CO2 fixed, i.e. ``32/12`` of the carbon (NEP) fixed (MEE 2020 GEP guide;
发改基础〔2022〕481号; GB/T 46869—2025, oxygen release). It is computed from the same NEP as
:mod:`gep.services.carbon`; most accounts value only one of the two, and the valuation refuses
both unless the configuration says why (``allow_double_counting``, :mod:`gep.valuation`).
"""

from __future__ import annotations

import xarray as xr

from gep.services.carbon import NEP_SPEC, nep_per_pixel
from gep.services.spec import (
    RasterOutput,
    Service,
    ServiceInputs,
    ServiceSpec,
    as_output,
)

#: t O2 per t C fixed: M(O2)/M(C) = 32/12 (one O2 released per CO2 fixed)
O2_PER_C = 32.0 / 12.0
#: Units of the oxygen quantity.
T_O2_PER_YR = "t O2 yr-1"

SPEC = ServiceSpec(
    name="oxygen_release",
    inputs=NEP_SPEC.inputs,  # the NEP of the carbon service, the same inputs and parameters
    params=NEP_SPEC.params,
    outputs=(RasterOutput("oxygen_release", T_O2_PER_YR, "O2 released = NEP × 32/12"),),
    neighbourhood=0,
    accounted=("oxygen_release",),
    references=(
        "MEE (2020) 陆地生态系统生产总值（GEP）核算技术指南: oxygen release = 32/44 of CO2 fixed",
        "GB/T 46869—2025 (oxygen release); NDRC & NBS 发改基础〔2022〕481号",
    ),
)


def compute(inputs: ServiceInputs) -> xr.Dataset:
    """Oxygen released per pixel, t O2 yr-1: ``Q_O2 = (32/12)·NEP·A/10 000``.

    NEP as :func:`gep.services.carbon.compute_nep` (``NPP − Rh`` or ``α·NPP``, t C ha-1 yr-1,
    NPP in carbon units); negative NEP (a source) gives negative release and is kept.

    Examples
    --------
    NEP = 0.4 × 5 t C ha-1 yr-1 = 2 t C ha-1 yr-1 on one hectare releases
    2 × 32/12 = 5.333 t O2 yr-1 (= 32/44 of the 7.333 t CO2 fixed).

    Raises
    ------
    ParameterError
        If neither or both of ``heterotrophic_respiration`` and ``nep_npp_ratio`` are given.
    """
    nep = nep_per_pixel(inputs)  # t C yr-1 per pixel
    return as_output(SPEC, oxygen_release=nep * O2_PER_C)


SERVICE = Service(SPEC, compute)
