"""``gep invest MODEL ARGS``: check, prepare and run one model into a staged output folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gep.errors import InputError
from gep.invest.annual_water_yield import AWY_ARGS, execute_awy, prepare_awy
from gep.invest.args import MODEL_ALIASES, check_args, load_args
from gep.invest.carbon import CARBON_ARGS, execute_carbon, prepare_carbon
from gep.invest.common import Progress, Runner
from gep.invest.sdr import SDR_ARGS, execute_sdr, prepare_sdr
from gep.io.atomic import remove_stale_partials, staged_folder

if TYPE_CHECKING:
    pass


MODELS: dict[str, Runner] = {
    "carbon": Runner(CARBON_ARGS, prepare_carbon, execute_carbon),
    "annual_water_yield": Runner(AWY_ARGS, prepare_awy, execute_awy),
    "sdr": Runner(SDR_ARGS, prepare_sdr, execute_sdr),
}


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
