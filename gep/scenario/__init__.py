"""What-if scenarios: a land-cover change applied to a copy of a run's land cover.

:class:`LandCoverChange` says what changes ("class A → class B within units X", or a GeoJSON
polygon with a target class); :func:`run_scenario` recomputes what the change affects and
returns the accounts and allocation a full ``gep run`` on the changed land cover would give;
:func:`run_stored_scenario` does it against a run of the accounts store and stores the
scenario as a run (kind ``scenario``) with a record of the change.
"""

from __future__ import annotations

from gep.scenario.change import LandCoverChange, ScenarioError
from gep.scenario.engine import ScenarioBase, ScenarioResult, run_scenario
from gep.scenario.stored import BaseCache, config_of_run, run_stored_scenario

__all__ = [
    "BaseCache",
    "LandCoverChange",
    "ScenarioBase",
    "ScenarioError",
    "ScenarioResult",
    "config_of_run",
    "run_scenario",
    "run_stored_scenario",
]
