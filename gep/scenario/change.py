"""A what-if land-cover change and the pixels it changes.

Two forms, as a planner asks them:

* **within units**: "class A → class B within units X" (``from_class``, ``to_class``, ``units``:
  district or township codes);
* **within a polygon**: a GeoJSON polygon (drawn on the map or uploaded), with its CRS, and a
  target class; ``from_class`` optionally narrows it to one class.

A pixel belongs to a unit or polygon when its centre lies inside (GDAL's rasterisation rule);
only valid pixels of the year's land cover change (nodata stays nodata). Every problem is a
:class:`ScenarioError` that says what was wrong and what is accepted; nothing is computed or
written before the change has passed all checks.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from data_catalog.errors import InputError

__all__ = [
    "MAX_GEOJSON_BYTES",
    "MAX_VERTICES",
    "LandCoverChange",
    "ScenarioError",
    "polygon_in_grid_crs",
]

#: Largest GeoJSON accepted (bytes of its JSON text): a drawn or digitised parcel is far smaller.
MAX_GEOJSON_BYTES = 1_000_000
#: Most vertices accepted in a polygon (all rings and parts).
MAX_VERTICES = 20_000


class ScenarioError(InputError):
    """A scenario that cannot be run as asked (HTTP 400, exit status 2); nothing is written."""


class LandCoverChange(BaseModel):
    """A land-cover change applied to a copy of one year's land cover.

    Examples
    --------
    >>> LandCoverChange(year=2020, from_class=1, to_class=2, units=["110109"]).describe()
    '2020: class 1 → 2 within units 110109'
    """

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=1900, le=2200, description="Accounting year whose land cover changes.")
    to_class: int = Field(ge=0, le=65535, description="Class code the pixels become.")
    from_class: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Class code that changes (required with `units`; with `polygon`, "
        "omitted means every class).",
    )
    units: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="District or township codes the change applies within.",
    )
    polygon: dict[str, Any] | None = Field(
        default=None,
        description="GeoJSON Polygon or MultiPolygon (a geometry, Feature or "
        "FeatureCollection) the change applies within.",
    )
    crs: str | None = Field(
        default=None,
        max_length=5000,
        description="CRS of the polygon's coordinates (default EPSG:4326, lon/lat; or the "
        "GeoJSON's own `crs` member).",
    )
    label: str | None = Field(default=None, max_length=200, description="A name for the change.")

    def describe(self) -> str:
        """One line saying what changes, for records and messages."""
        source = "any class" if self.from_class is None else f"class {self.from_class}"
        where = f"units {', '.join(self.units)}" if self.units else "a polygon"
        return f"{self.year}: {source} → {self.to_class} within {where}"

    def check_form(self) -> None:
        """The checks that need no data: one region, a source class with units, distinct classes."""
        if bool(self.units) == (self.polygon is not None):
            raise ScenarioError(
                "give exactly one of `units` (district or township codes) and `polygon` "
                "(GeoJSON) to say where the land cover changes"
            )
        if self.units and self.from_class is None:
            raise ScenarioError(
                "`from_class` is required with `units`: say which class changes (class A → B "
                "within the units)"
            )
        if self.from_class is not None and self.from_class == self.to_class:
            raise ScenarioError(f"`from_class` and `to_class` are both {self.to_class}: no change")
        if self.polygon is not None:
            size = len(json.dumps(self.polygon))
            if size > MAX_GEOJSON_BYTES:
                raise ScenarioError(
                    f"the GeoJSON is {size:,} bytes, more than the {MAX_GEOJSON_BYTES:,} accepted: "
                    "simplify the polygon"
                )


def _geometries(geojson: dict[str, Any]) -> list[dict[str, Any]]:
    kind = geojson.get("type")
    if kind == "FeatureCollection":
        features = geojson.get("features")
        if not isinstance(features, list) or not features:
            raise ScenarioError("the GeoJSON FeatureCollection has no features")
        return [g for f in features for g in _geometries(f)]
    if kind == "Feature":
        geometry = geojson.get("geometry")
        if not isinstance(geometry, dict):
            raise ScenarioError("a GeoJSON Feature has no geometry")
        return [geometry]
    if kind in ("Polygon", "MultiPolygon"):
        return [geojson]
    raise ScenarioError(
        f"GeoJSON of type {kind!r} is not accepted: give a Polygon or MultiPolygon (a geometry, "
        "Feature or FeatureCollection)"
    )


def _declared_crs(geojson: dict[str, Any]) -> str | None:
    """The CRS named by a GeoJSON's (2008 specification) ``crs`` member, if any."""
    member = geojson.get("crs")
    if isinstance(member, dict):
        name = (member.get("properties") or {}).get("name")
        if isinstance(name, str):
            return name
    return None


def _shape(geometry: dict[str, Any]) -> Any:
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise ScenarioError(
            f"geometry of type {geometry.get('type')!r}: only Polygon and MultiPolygon are accepted"
        )
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise ScenarioError(f"malformed GeoJSON {geometry.get('type')}: {exc}") from None
    if geom.is_empty:
        raise ScenarioError("the polygon is empty")
    coords = np.concatenate(
        [
            np.asarray(ring.coords)
            for part in getattr(geom, "geoms", [geom])
            for ring in [part.exterior, *part.interiors]
        ]
    )
    if not np.isfinite(coords).all():
        raise ScenarioError("the polygon has coordinates that are not finite numbers")
    if len(coords) > MAX_VERTICES:
        raise ScenarioError(
            f"the polygon has {len(coords):,} vertices, more than the {MAX_VERTICES:,} accepted: "
            "simplify it"
        )
    if not geom.is_valid:
        raise ScenarioError(f"the polygon is not valid: {explain_validity(geom)}")
    return geom


def polygon_in_grid_crs(change: LandCoverChange, grid_crs: Any) -> Any:
    """The change's polygon as one shapely geometry in the grid's CRS.

    Raises
    ------
    ScenarioError
        If the GeoJSON is malformed, too large, of another type than (Multi)Polygon, its CRS is
        unknown, or its coordinates lie outside what the CRS allows (a polygon in another CRS
        than declared).
    """
    import pyproj
    import shapely
    from shapely.ops import unary_union

    assert change.polygon is not None
    declared = change.crs or _declared_crs(change.polygon) or "EPSG:4326"
    try:
        crs = pyproj.CRS.from_user_input(declared)
    except pyproj.exceptions.CRSError as exc:
        raise ScenarioError(f"unknown CRS {declared!r} ({exc}); give e.g. EPSG:4326") from None
    geom = unary_union([_shape(g) for g in _geometries(change.polygon)])
    x0, y0, x1, y1 = geom.bounds
    if crs.is_geographic and not (-180 <= x0 and x1 <= 180 and -90 <= y0 and y1 <= 90):
        raise ScenarioError(
            f"the polygon's coordinates ({x0:.6g}, {y0:.6g}) – ({x1:.6g}, {y1:.6g}) are not "
            f"longitudes and latitudes of {crs.to_string()}: is the polygon in another CRS? "
            "name it in `crs` (e.g. EPSG:32650)"
        )
    area = crs.area_of_use
    if not crs.is_geographic and area is not None:
        to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon, lat = to_lonlat.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
        inside = all(
            math.isfinite(a) and math.isfinite(b) and -180 <= a <= 180 and -90 <= b <= 90
            for a, b in zip(lon, lat, strict=True)
        )
        if not inside:
            raise ScenarioError(
                f"the polygon's coordinates ({x0:.6g}, {y0:.6g}) – ({x1:.6g}, {y1:.6g}) are not "
                f"valid in {crs.to_string()}: is the polygon in another CRS? name it in `crs`"
            )
    to_grid = pyproj.Transformer.from_crs(crs, grid_crs, always_xy=True)
    projected = shapely.transform(geom, to_grid.transform, interleaved=False)
    if projected.is_empty or not np.isfinite(projected.bounds).all():
        raise ScenarioError(
            f"the polygon cannot be reprojected from {crs.to_string()} to the grid's CRS: is it "
            "in another CRS? name it in `crs`"
        )
    return projected


def rasterise(geometries: list[Any], grid: Any) -> np.ndarray:
    """Boolean mask of the grid's pixels whose centre lies inside any of ``geometries``."""
    from rasterio.features import geometry_mask

    if not geometries:
        return np.zeros(grid.shape, dtype=bool)
    return geometry_mask(geometries, out_shape=grid.shape, transform=grid.transform, invert=True)
