"""``gep invest MODEL ARGS``: check, prepare and run one model into a staged output folder."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gep.errors import InputError
from gep.invest.args import MODEL_ALIASES, check_args, load_args
from gep.invest.common import Progress, Runner
from gep.io.atomic import remove_stale_partials, staged_folder

#: Model id → (module, its runner's args, prepare and execute functions).
_RUNNERS = {
    "carbon": ("gep.invest.carbon", "CARBON_ARGS", "prepare_carbon", "execute_carbon"),
    "annual_water_yield": (
        "gep.invest.annual_water_yield",
        "AWY_ARGS",
        "prepare_awy",
        "execute_awy",
    ),
    "sdr": ("gep.invest.sdr", "SDR_ARGS", "prepare_sdr", "execute_sdr"),
}


class _Models(Mapping[str, Runner]):
    """The models' runners, each imported when first used.

    A ``gep invest carbon`` process does not import the water-yield and SDR modules (and the
    libraries they need: geopandas, the routing kernels).
    """

    def __init__(self) -> None:
        self._loaded: dict[str, Runner] = {}

    def __getitem__(self, model: str) -> Runner:
        if model not in self._loaded:
            module_name, *names = _RUNNERS[model]  # KeyError for an unknown model
            module = importlib.import_module(module_name)
            args, prepare, execute = (getattr(module, name) for name in names)
            self._loaded[model] = Runner(args, prepare, execute)
        return self._loaded[model]

    def __iter__(self) -> Iterator[str]:
        return iter(_RUNNERS)

    def __len__(self) -> int:
        return len(_RUNNERS)


#: Model id → :class:`~gep.invest.common.Runner` (``carbon``, ``annual_water_yield``, ``sdr``).
MODELS: Mapping[str, Runner] = _Models()


def run_invest(
    model: str, args_path: Path, out_dir: Path, *, progress: Progress = None
) -> dict[str, Any]:
    """Run our implementation of an InVEST model on an InVEST args file.

    Parameters
    ----------
    model : str
        ``carbon``, ``annual_water_yield`` or ``sdr`` (InVEST model ids are accepted too).
    args_path : pathlib.Path
        InVEST args JSON (bare dict) or datastack ``.invs.json``.
    out_dir : pathlib.Path
        Output folder; written to a temporary sibling and moved into place when complete.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    dict
        The content of ``out_dir/summary.json``: totals in named units, notes on conventions.

    Raises
    ------
    InputError
        Unknown model, bad args, tables or rasters; raised before any computation.
    """
    canonical = MODEL_ALIASES.get(model.strip().lower())
    if canonical is None:
        raise InputError(
            f"unknown InVEST model {model!r}; choose one of carbon, annual_water_yield, sdr"
        )
    args, stack_model = load_args(Path(args_path))
    if stack_model is not None and MODEL_ALIASES.get(stack_model.lower(), canonical) != canonical:
        raise InputError(f"{args_path} is a datastack for {stack_model!r}, not for {canonical!r}")
    runner = MODELS[canonical]
    values = check_args(runner.args, args, Path(args_path))
    prepared = runner.prepare(values, Path(args_path), progress or (lambda _msg: None))
    out_dir = Path(out_dir).resolve()
    remove_stale_partials(out_dir)
    with staged_folder(out_dir) as staging:
        summary = runner.execute(prepared, staging)
        summary = {"model": canonical, "args_path": str(Path(args_path).resolve()), **summary}
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    return summary
