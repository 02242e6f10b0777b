"""numpy's run-time SIMD dispatch: which optimisations it may choose, to switch them off.

``python -m tests.simd`` prints the dispatched optimisation targets of the installed numpy
(e.g. ``X86_V3 X86_V4 AVX512_ICL AVX512_SPR`` for numpy 2.4 on x86-64; ``AVX512F AVX512_SKX
AVX2 FMA3 ...`` for numpy 1.26), ready for ``NPY_DISABLE_CPU_FEATURES``: with all of them
disabled numpy runs its baseline code (SSE4.2 on x86-64), as on the oldest CPU it supports.
"""

from __future__ import annotations

import importlib


def _umath():  # numpy 2 moved numpy.core to numpy._core
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("numpy's _multiarray_umath not found")


def dispatched() -> list[str]:
    """The optimisation targets numpy may dispatch to at run time on this build."""
    return list(getattr(_umath(), "__cpu_dispatch__", []))


def active() -> list[str]:
    """Dispatched targets that are enabled now (supported by the CPU and not disabled)."""
    features = getattr(_umath(), "__cpu_features__", {})
    return [name for name in dispatched() if features.get(name, False)]


if __name__ == "__main__":
    print(" ".join(dispatched()))
