"""InVEST compatibility: run our implementation on InVEST 3.20 inputs (args file + tables).

People moving from InVEST bring an args file (a bare ``args`` dict as JSON, or an InVEST
datastack ``.invs.json`` holding ``args``) and InVEST-style biophysical tables.
:func:`run_invest` reads them, checks everything InVEST would reject (and a few things it
silently gets wrong) *before* any work, runs our kernels and writes InVEST-named per-pixel
rasters plus ``summary.json`` with totals in named units.

Deliberate differences from InVEST (each is also written into ``summary.json`` ``notes``):

- **Alignment.** InVEST resamples inputs onto one grid (AWY: ``near`` onto the LULC grid; SDR:
  bilinear/mode onto the DEM grid). We do not resample silently: every raster must share the
  reference raster's CRS and pixel size and lie on its pixel lattice; extents may differ and
  are intersected (InVEST's ``intersection`` mode, including the watersheds' bounding box,
  snapped to the reference grid as pygeoprocessing does). Anything else is an error that says
  how to resample (``gdalwarp -tap -tr ... -r ...``).
- **Nodata.** A raster without a nodata value is accepted (InVEST accepts it too), but values
  outside the physical range (negative precipitation, PAWC > 1 ...) are an error that points
  at a likely undeclared sentinel, instead of producing wrong numbers (natcap/invest#907).
- **Carbon change of exactly −1 t C/ha.** InVEST uses −1 as the nodata of ``c_change`` and
  drops such pixels from its totals; we keep them. ``change_tC`` is the correct sum; the
  InVEST-convention value is reported beside it when the two differ.
- **Water yield volumes.** ``watersheds`` holds InVEST's ``wyield_vol`` (mean yield × polygon
  area); ``watersheds_pixel_sum_m3`` holds the accounting form (Σ pixel volumes).
- **Files.** Per-pixel outputs are tiled (512²) ZSTD GeoTIFFs, as InVEST writes tiled
  GeoTIFFs (it uses LZW): ZSTD level 1 is smaller and several times faster to write. InVEST's
  intermediate rasters (per-pool carbon, Kc, root depth ...) are not written.
"""

from gep.invest.args import MODEL_ALIASES, load_args
from gep.invest.frame import raster_dtype
from gep.invest.run import MODELS, run_invest

__all__ = ["MODELS", "MODEL_ALIASES", "load_args", "raster_dtype", "run_invest"]
