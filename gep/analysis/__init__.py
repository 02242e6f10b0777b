"""Sensitivity and uncertainty analyses of GEP.

:mod:`gep.analysis.commands` holds ``run_sensitivity`` and ``run_uncertainty`` (``gep
sensitivity`` and ``gep uncertainty``), :mod:`gep.analysis.config` their configuration,
:mod:`gep.analysis.distributions` the declared input distributions and
:mod:`gep.analysis.allocation` the allocations recomputed per sample. Nothing is imported here,
so that :mod:`gep.uncertainty` can build on the submodules without a cycle.
"""
