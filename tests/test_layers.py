"""The import-layer contract: every gep module imports only modules of its own or lower layers.

Layers, lowest first (``docs/architecture.md``). Lazy imports inside functions count too. A
module not listed in any layer fails the test, so a new module must be placed in one.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import gep

ROOT = Path(gep.__file__).resolve().parent

#: Layer of every gep module, by name prefix (the longest matching prefix wins).
LAYERS: list[tuple[str, ...]] = [
    ("gep.errors", "gep.units", "gep.i18n", "gep"),
    ("gep.io", "gep.kernels"),
    ("gep.routing", "gep.zones"),
    ("gep.services",),
    ("gep.prices", "gep.accounts", "gep.valuation", "gep.decomposition", "gep.cropland"),
    (
        "gep.config",
        "gep.pipeline",
        "gep.validate",
        "gep.distributed",
        "gep.chunked",
        "gep.synthetic",
        "gep.linkage_inputs",
    ),
    (
        "gep.exports",
        "gep.outputs",
        "gep.maps",
        "gep.report",
        "gep.bulletin",
        "gep.fonts",
        "gep.manifest",
        "gep.summary",
        "gep.store",
    ),
    ("gep.run",),
    (
        "gep.invest",
        "gep.calibration",
        "gep.calibration_cli",
        "gep.sensitivity",
        "gep.uncertainty",
        "gep.occupation",
        "gep.analysis",
        "gep.serve",
        "gep.scenario",
    ),
    ("gep.cli",),
]


def layer_of(module: str) -> int | None:
    """Index of the layer whose longest prefix matches ``module``."""
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def _modules() -> list[tuple[str, Path]]:
    found = [("gep", ROOT / "__init__.py")]
    for info in pkgutil.walk_packages([str(ROOT)], prefix="gep."):
        spec = info.module_finder.find_spec(info.name)  # type: ignore[union-attr]
        if spec is not None and spec.origin:
            found.append((info.name, Path(spec.origin)))
    return found


def _imported(module: str, path: Path) -> set[str]:
    names = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("gep"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target == "gep" or target.startswith("gep."):
                names.add(target)
                names.update(f"{target}.{a.name}" for a in node.names)
    return names


def test_every_module_has_a_layer():
    unplaced = [name for name, _ in _modules() if layer_of(name) is None]
    assert unplaced == [], f"place these modules in a layer of LAYERS: {unplaced}"


def test_no_module_imports_a_higher_layer():
    violations = []
    known = {name for name, _ in _modules()}
    for name, path in _modules():
        own = layer_of(name)
        for target in sorted(_imported(name, path)):
            if target not in known:  # ``from gep.x import function``: the function's module
                continue
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                violations.append(f"{name} (layer {own}) imports {target} (layer {theirs})")
    assert violations == [], "\n".join(violations)
