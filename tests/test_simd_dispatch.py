"""The CI pass with numpy's SIMD dispatch disabled really runs numpy's baseline code."""

from __future__ import annotations

import os

import pytest

from tests.simd import active, dispatched


@pytest.mark.skipif(
    os.environ.get("GEP_EXPECT_BASELINE_SIMD") != "1",
    reason="only in the baseline-SIMD pass (make test-baseline-simd)",
)
def test_no_dispatched_simd_target_is_active():
    assert dispatched(), "this numpy build dispatches nothing: the pass proves nothing"
    assert active() == [], f"still active: {active()} (NPY_DISABLE_CPU_FEATURES not applied)"
