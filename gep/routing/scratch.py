"""Scratch arrays on disk: raw row-major files read and written by windows, never mapped.

The staged flow routing (:mod:`gep.routing.staged_sdr`) keeps every whole-grid intermediate
in a :class:`Scratch` folder and reads back only the band or the array a step needs. Files
are read and written with positioned reads and writes (``preadv``/``pwritev``), not memory
maps: a mapped file's touched pages count in the process's resident memory, so a
mapped scan of a grid would hold the grid. The folder is removed when the last array that
refers to it is garbage collected (or at interpreter exit).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


class Scratch:
    """A temporary folder of named raw arrays.

    Parameters
    ----------
    prefix : str
        Prefix of the folder's name (in the system temporary folder, ``TMPDIR``).
    tile : int, optional
        Default layout of its arrays: square tiles of this edge (windows and bands alike are
        a few large reads and writes); ``None``: row-major.
    """

    def __init__(self, prefix: str = "gep-scratch-", *, tile: int | None = None) -> None:
        # the process id in the name lets a later process remove what a killed one left
        self.path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
        self.tile = tile
        self._arrays: dict[str, ScratchArray] = {}
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def create(
        self, name: str, shape: tuple[int, int], dtype: Any, *, tile: int | None | str = "default"
    ) -> ScratchArray:
        """A new array of ``shape`` and ``dtype`` (its bytes unwritten until set).

        ``tile``: stored as square tiles of that edge (one contiguous piece per tile), or
        row-major (``None``); default: the folder's ``tile``.
        """
        edge = self.tile if tile == "default" else tile
        assert edge is None or isinstance(edge, int)
        array = ScratchArray(self, self.path / f"{name}.raw", shape, np.dtype(dtype), tile=edge)
        with open(array.path, "wb") as f:
            f.truncate(array.nbytes)
        self._arrays[name] = array
        return array

    def save(
        self, name: str, values: np.ndarray, *, tile: int | None | str = "default"
    ) -> ScratchArray:
        """Write a whole in-memory array under ``name`` (layout as :meth:`create`)."""
        array = self.create(name, values.shape, values.dtype, tile=tile)  # type: ignore[arg-type]
        for rows in row_bands(values.shape[0], max(array.tile or values.shape[0], 1)):
            array[rows] = values[rows]
        return array

    def __getitem__(self, name: str) -> ScratchArray:
        return self._arrays[name]

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    def remove(self, name: str) -> None:
        """Delete ``name``'s file (its disk space is freed at once)."""
        array = self._arrays.pop(name, None)
        if array is not None:
            array.path.unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Remove the folder now."""
        self._finalizer()


class ScratchArray:
    """A 2-D array in a raw file of a :class:`Scratch`, sliced by windows.

    ``a[rows, cols]`` reads a window (a copy), ``a[rows, cols] = v`` writes one, ``a.load()``
    reads the whole array. Steps of slices must be 1. It has ``shape``, ``dtype`` and
    ``ndim``, so ``dask.array.from_array`` and :func:`gep.routing.fill_pits_tiled` take it.
    Row-major files serve bands of whole rows in one read; tiled ones (``tile``) serve
    windows aligned to the tiles in one read or write per tile (edge tiles are padded).
    """

    def __init__(
        self,
        scratch: Scratch,
        path: Path,
        shape: tuple[int, int],
        dtype: Any,
        *,
        tile: int | None = None,
    ) -> None:
        self.scratch = scratch  # keeps the folder alive while the array is referenced
        self.path = path
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.ndim = 2
        self.tile = tile

    @property
    def nbytes(self) -> int:
        """Size of the file in bytes."""
        if self.tile is None:
            return self.shape[0] * self.shape[1] * self.dtype.itemsize
        t = self.tile
        n_tiles = -(-self.shape[0] // t) * -(-self.shape[1] // t)
        return n_tiles * t * t * self.dtype.itemsize

    def _window(self, key: Any) -> tuple[slice, slice]:
        if not isinstance(key, tuple):
            key = (key, slice(None))
        rows, cols = (
            slice(*k.indices(n)) if isinstance(k, slice) else slice(int(k), int(k) + 1)
            for k, n in zip(key, self.shape, strict=True)
        )
        if rows.step != 1 or cols.step != 1:
            raise ValueError(f"ScratchArray {self.path.name}: slices must have step 1")
        return rows, cols

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = self._window(key)
        n_rows = max(rows.stop - rows.start, 0)
        n_cols = max(cols.stop - cols.start, 0)
        out = np.empty((n_rows, n_cols), dtype=self.dtype)
        if out.size == 0:
            return out
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if self.tile is None:
                for offset, buffer in self._row_pieces(rows, cols, out):
                    _all(os.preadv, fd, buffer, offset)
            else:
                for offset, (a, b), (c, d), (tc, td) in self._tile_pieces(rows, cols):
                    piece = np.empty((b - a, self.tile), dtype=self.dtype)
                    _all(os.preadv, fd, piece.data.cast("B"), offset)
                    out[a:b, c:d] = piece[:, tc:td]
        finally:
            os.close(fd)
        return out

    def __setitem__(self, key: Any, value: Any) -> None:
        rows, cols = self._window(key)
        n_rows = max(rows.stop - rows.start, 0)
        n_cols = max(cols.stop - cols.start, 0)
        block = np.ascontiguousarray(np.broadcast_to(value, (n_rows, n_cols)), dtype=self.dtype)
        if block.size == 0:
            return
        fd = os.open(self.path, os.O_WRONLY)
        try:
            if self.tile is None:
                for offset, buffer in self._row_pieces(rows, cols, block):
                    _all(os.pwritev, fd, buffer, offset)
            else:
                self._write_tiles(fd, rows, cols, block)
        finally:
            os.close(fd)

    def _row_pieces(
        self, rows: slice, cols: slice, block: np.ndarray
    ) -> Iterator[tuple[int, memoryview]]:
        """File offset and bytes of each contiguous piece of the window ``block`` (row-major)."""
        width, item = self.shape[1], self.dtype.itemsize
        if cols.stop - cols.start == width:  # whole rows: one piece
            yield rows.start * width * item, block.data.cast("B")
            return
        for i in range(block.shape[0]):
            yield ((rows.start + i) * width + cols.start) * item, block[i].data.cast("B")

    def _tile_pieces(
        self, rows: slice, cols: slice
    ) -> Iterator[tuple[int, tuple[int, int], tuple[int, int], tuple[int, int]]]:
        """Per tile the window meets: where it is and what of the window it holds.

        Yields the file offset of the tile's first row in the window, the rows and columns of
        the window the tile covers, and those columns within the tile.
        """
        t, item = int(self.tile or 1), self.dtype.itemsize
        tiles_across = -(-self.shape[1] // t)
        for ti in range(rows.start // t, (rows.stop - 1) // t + 1):
            a, b = max(rows.start, ti * t), min(rows.stop, (ti + 1) * t)
            for tj in range(cols.start // t, (cols.stop - 1) // t + 1):
                c, d = max(cols.start, tj * t), min(cols.stop, (tj + 1) * t)
                offset = ((ti * tiles_across + tj) * t + (a - ti * t)) * t * item
                window_rows = (a - rows.start, b - rows.start)
                window_cols = (c - cols.start, d - cols.start)
                yield offset, window_rows, window_cols, (c - tj * t, d - tj * t)

    def _write_tiles(self, fd: int, rows: slice, cols: slice, block: np.ndarray) -> None:
        """Write ``block`` tile by tile.

        Rows of a tile's whole width go in one piece (the padding of an edge tile included),
        partial widths row by row.
        """
        t, item = int(self.tile or 1), self.dtype.itemsize
        for offset, (a, b), (c, d), (tc, td) in self._tile_pieces(rows, cols):
            whole_width = tc == 0 and (td == t or cols.start + d == self.shape[1])
            if whole_width:
                piece = np.zeros((b - a, t), dtype=self.dtype)
                piece[:, : td - tc] = block[a:b, c:d]
                _all(os.pwritev, fd, piece.data.cast("B"), offset)
                continue
            for i in range(b - a):
                row = np.ascontiguousarray(block[a + i, c:d])
                _all(os.pwritev, fd, row.data.cast("B"), offset + (i * t + tc) * item)

    def load(self) -> np.ndarray:
        """The whole array, read into memory."""
        return self[:, :]


def remove_stale(prefixes: tuple[str, ...]) -> list[Path]:
    """Remove scratch folders of these prefixes left by processes that no longer run.

    A killed run cannot remove its scratch files (a 10 m grid's are tens of GB); the next
    run removes them. Folders of running processes (this one included) are left alone.

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed = []
    for folder in Path(tempfile.gettempdir()).iterdir():
        prefix = next((p for p in prefixes if folder.name.startswith(p)), None)
        if prefix is None or not folder.is_dir():
            continue
        pid_text = folder.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or _running(int(pid_text)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    """Whether a process of this id exists (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _all(call: Any, fd: int, buffer: memoryview, offset: int) -> None:
    """``os.preadv``/``os.pwritev`` of the whole buffer (short transfers are continued)."""
    done = 0
    while done < len(buffer):
        n = call(fd, [buffer[done:]], offset + done)
        if n <= 0:
            raise OSError(f"scratch file: {call.__name__} transferred nothing at {offset + done}")
        done += n


def row_bands(n_rows: int, band: int) -> list[slice]:
    """Consecutive row slices of at most ``band`` rows covering ``n_rows``.

    Examples
    --------
    >>> row_bands(5, 2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    return [slice(r0, min(r0 + band, n_rows)) for r0 in range(0, n_rows, max(int(band), 1))]
