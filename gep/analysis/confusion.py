"""Land-cover misclassification for ``gep uncertainty``, from a confusion matrix.

The matrix
----------
A CSV table of an accuracy assessment: one row per **mapped** class (column ``mapped``: the
class code of the land-cover map), one column per **reference** class (named by its code),
holding counts of sample pixels (``kind: counts``) or the share of the mapped class's pixels
that truly are the reference class (``kind: proportions``, rows summing to 1). Row ``m`` gives
``p(r | m)``, the probability that a pixel mapped as ``m`` is ``r`` (the user's-accuracy view;
Olofsson et al. 2014). With counts, each sample draws the rows from a Dirichlet distribution
with the counts as concentrations (zero counts stay impossible), so that a small assessment
gives wider intervals. Every code must be a class of the land cover's scheme, and every class
present in the map must have a row (a row with only a diagonal count says "never
misclassified").

Sampling (per-unit class areas)
-------------------------------
For each unit ``u`` and mapped class ``m`` with ``N_um`` pixels (coverage-weighted, rounded),
a sample moves ``N_um→r ~ Multinomial(N_um, p(·|m))`` pixels to each reference class ``r``: the
class areas of independent per-pixel misclassification. A moved pixel carries the mean quantity
of the unit's ``m`` pixels as if they were ``r``: the services are run once per reference class
with every valid pixel of the map set to that class, and ``Q_um(r)`` is the sum over the unit's
``m`` pixels. The change of the unit's quantity is
``Σ_m Σ_r (N_um→r / N_um)·(Q_um(r) − Q_um(m))``; an identity matrix changes nothing. The
spread within a unit's mapped class (which of its pixels are wrong) is not sampled, nor is the
spatial clustering of errors. Cost: one run of each analysed service per reference class.

References
----------
Olofsson P., Foody G.M., Herold M., Stehman S.V., Woodcock C.E., Wulder M.A. (2014) Good
practices for estimating area and assessing accuracy of land change. Remote Sens. Environ.
148, 42–57. Yang J., Huang X. (2021) The 30 m annual land cover dataset and its dynamics in
China from 1990 to 2019. Earth Syst. Sci. Data 13, 3907–3925 (CLCD: overall accuracy 79.3 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from data_catalog.catalog import Catalog
from data_catalog.errors import InputError
from data_catalog.tables import load_scheme
from gep.accounts import UnitLevel
from gep.config import RunConfig

__all__ = ["ConfusionMatrix", "Misclassification", "build_misclassification", "load_confusion"]

#: relative tolerance of a proportions row's sum
ROW_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ConfusionMatrix:
    """A checked confusion matrix: ``table`` rows = mapped codes, columns = reference codes."""

    table: pd.DataFrame
    kind: Literal["counts", "proportions"]
    path: Path

    def rows(self, rng: np.random.Generator | None = None) -> pd.DataFrame:
        """``p(r | m)`` (rows sum to 1): the proportions, or one Dirichlet draw from counts."""
        t = self.table.to_numpy(dtype=np.float64)
        if self.kind == "proportions":
            return self.table.div(self.table.sum(axis=1), axis=0)
        if rng is None:
            p = t / t.sum(axis=1, keepdims=True)
        else:  # gamma draws normalised = Dirichlet; zero counts stay 0
            g = rng.gamma(np.where(t > 0, t, 1.0)) * (t > 0)
            p = g / g.sum(axis=1, keepdims=True)
        return pd.DataFrame(p, index=self.table.index, columns=self.table.columns)


def load_confusion(
    path: Path, *, kind: Literal["counts", "proportions"], scheme: str = "clcd"
) -> ConfusionMatrix:
    """Read and check a confusion matrix (module docs); every problem names the file and field.

    Raises
    ------
    InputError
        Missing file or ``mapped`` column, codes that are not classes of ``scheme``, negative or
        blank cells, a counts row without pixels, a proportions row not summing to 1.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"landcover_confusion.table: {path} not found")
    raw = pd.read_csv(path, encoding="utf-8-sig")
    raw.columns = [str(c).strip() for c in raw.columns]
    if "mapped" not in raw.columns:
        raise InputError(
            f"{path}: no column 'mapped' (the mapped class code of each row); found "
            f"{list(raw.columns)}"
        )
    codes = set(load_scheme(scheme)["code"].astype(int))
    known = f"the classes of scheme {scheme} are {sorted(codes)}"

    def as_code(value: Any, where: str) -> int:
        try:
            code = int(str(value).strip())
        except ValueError:
            raise InputError(f"{path}: {where} {value!r} is not a class code; {known}") from None
        if code not in codes:
            raise InputError(f"{path}: {where} {code} is not a land-cover class; {known}")
        return code

    rows = [as_code(v, f"column 'mapped', row {i + 2}:") for i, v in enumerate(raw["mapped"])]
    refs = [as_code(c, "reference column") for c in raw.columns if c != "mapped"]
    if len(set(rows)) != len(rows):
        raise InputError(f"{path}: column 'mapped' repeats classes; one row per mapped class")
    lacking = sorted(set(rows) - set(refs))
    if lacking:
        raise InputError(
            f"{path}: mapped classes {lacking} have no reference column; a confusion matrix has "
            "a column for every class it has a row for"
        )
    values = raw.drop(columns="mapped").apply(pd.to_numeric, errors="coerce")
    table = pd.DataFrame(values.to_numpy(np.float64), index=rows, columns=refs)
    _check_cells(table, path, kind)
    return ConfusionMatrix(table, kind, path)


def _check_cells(table: pd.DataFrame, path: Path, kind: str) -> None:
    """Refuse blank or negative cells, empty count rows and proportion rows not summing to 1."""
    rows, refs = list(table.index), list(table.columns)
    cells = table.to_numpy(dtype=np.float64)
    bad = [(rows[i], refs[j]) for i, j in np.argwhere(~np.isfinite(cells) | (cells < 0))]
    if bad:
        raise InputError(
            f"{path}: cells (mapped, reference) {bad[:5]} are blank, not numbers or negative; "
            f"{kind} are ≥ 0"
        )
    sums = table.sum(axis=1)
    if kind == "proportions":
        off = sums[(sums - 1.0).abs() > ROW_SUM_TOLERANCE]
        if len(off):
            raise InputError(
                f"{path}: kind proportions, but the rows of mapped classes {off.index.tolist()} "
                f"sum to {off.round(6).tolist()}, not 1; fix them or declare kind: counts"
            )
    elif (sums <= 0).any():
        raise InputError(
            f"{path}: rows of mapped classes {sums.index[sums <= 0].tolist()} count no pixel"
        )


class _LandcoverReplaced(Catalog):
    """A catalog whose land cover of one entry is replaced by an array in memory."""

    def __init__(self, base: Catalog, entry_id: str, landcover: xr.DataArray) -> None:
        super().__init__(
            base.path, base.name, base.reference_id, base.entries, base.description, base.synthetic
        )
        self._grid = base.reference_grid()
        self._base = base
        self._entry_id = entry_id
        self._landcover = landcover

    def raster(
        self,
        entry_id: str,
        *,
        chunks: int | dict[str, int] | None = None,
        window: tuple[slice, slice] | None = None,
    ) -> xr.DataArray:
        """The replaced land cover, or the base catalog's raster (or their window)."""
        if entry_id == self._entry_id:
            return self._base.window_of(self._landcover, window)
        return self._base.raster(entry_id, chunks=chunks, window=window)


@dataclass
class Misclassification:
    """Per unit, mapped class and reference class: pixel counts and quantities (module docs)."""

    confusion: ConfusionMatrix
    counts: np.ndarray  # (units, mapped) pixel counts N_um
    gains: dict[str, np.ndarray]  # quantity → (units, mapped, reference): Q_um(r) − Q_um(m)

    def sample(self, n: int, *, seed: int) -> dict[str, np.ndarray]:
        """Change of each quantity per sample and unit, ``(n, units)``."""
        rng = np.random.default_rng(seed)
        n_units, n_mapped = self.counts.shape
        out = {q: np.zeros((n, n_units)) for q in self.gains}
        share = np.zeros((n_units, n_mapped, len(self.confusion.table.columns)))
        for s in range(n):
            rows = self.confusion.rows(rng if self.confusion.kind == "counts" else None)
            probs = rows.to_numpy()
            for m in range(n_mapped):
                counts = self.counts[:, m].astype(np.int64)
                moved = rng.multinomial(counts, probs[m])  # (units, reference)
                share[:, m, :] = moved / np.where(counts > 0, counts, 1)[:, None]
            for q, g in self.gains.items():
                out[q][s] = np.einsum("umr,umr->u", share, g)
        return out


def build_misclassification(
    cat: Catalog,
    config: RunConfig,
    level: UnitLevel,
    year: int,
    confusion: ConfusionMatrix,
    quantities: list[str],
) -> Misclassification:
    """Run each analysed service once per reference class and sum per unit and mapped class.

    Raises
    ------
    InputError
        Classes present in the land cover of ``year`` without a row in the matrix.
    """
    from gep.pipeline import run_service
    from gep.pipeline.inputs import codes_present
    from gep.uncertainty.terms import _PRODUCER

    lc_id = cat.find(variable="landcover", year=year)
    landcover = cat.raster(lc_id).load()
    present = codes_present(landcover)
    missing = sorted(set(int(c) for c in present) - set(confusion.table.index))
    if missing:
        raise InputError(
            f"{confusion.path}: mapped classes {missing} occur in {lc_id} but have no row; add "
            "them (a row with only its diagonal count: never misclassified)"
        )
    codes = np.asarray(landcover.values).ravel().astype(np.int64)
    valid = np.asarray(landcover.coords["valid"].values).ravel()
    mapped = list(confusion.table.index)
    reference = list(confusion.table.columns)
    weights = sp.csr_matrix(level.weights)
    onehot = sp.csr_matrix(
        (
            np.ones(int(valid.sum())),
            (np.flatnonzero(valid), [mapped.index(c) if c in mapped else 0 for c in codes[valid]]),
        ),
        shape=(codes.size, len(mapped)),
    )
    in_matrix = np.isin(codes, mapped) & valid
    onehot = sp.diags(in_matrix.astype(np.float64)) @ onehot
    counts = np.rint(np.asarray((weights @ onehot).todense()))
    params = cat.table(config.parameters)
    services = {_PRODUCER[q] for q in quantities if _PRODUCER.get(q) in config.services}
    # Q_um(r): every valid pixel set to r, summed per unit over the pixels mapped as m
    by_reference: dict[str, np.ndarray] = {
        q: np.zeros((len(level.ids), len(mapped), len(reference))) for q in quantities
    }
    nodata = landcover.attrs.get("nodata")
    nodata = 0 if nodata is None else nodata
    for k, r in enumerate(reference):
        data = np.where(np.asarray(landcover.coords["valid"].values), r, nodata)
        replaced = landcover.copy(data=data.astype(landcover.dtype))
        sub = _LandcoverReplaced(cat, lc_id, replaced)
        for service in sorted(services):
            ds = run_service(sub, config, params, service, year)
            for q in quantities:
                if q in ds:
                    v = np.asarray(ds[q].values, dtype=np.float64).ravel()
                    v = np.where(np.isfinite(v), v, 0.0)
                    by_reference[q][:, :, k] = np.asarray(
                        (weights @ (sp.diags(v) @ onehot)).todense()
                    )
    gains = {}
    for q, values in by_reference.items():
        diagonal = np.stack(
            [
                values[:, i, reference.index(m)] if m in reference else np.zeros(len(level.ids))
                for i, m in enumerate(mapped)
            ],
            axis=1,
        )
        gains[q] = values - diagonal[:, :, None]
    return Misclassification(confusion, counts, gains)
