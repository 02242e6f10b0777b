"""Catalog entries, validated with pydantic: one entry per dataset."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Resampling = Literal["nearest", "mode", "bilinear", "average", "cubic"]
CATEGORICAL_RESAMPLING: tuple[str, ...] = ("nearest", "mode")
CONTINUOUS_RESAMPLING: tuple[str, ...] = ("nearest", "bilinear", "average", "cubic")


class Entry(BaseModel):
    """A dataset declared in the catalog.

    Paths are relative to the catalog file. ``units`` are UDUNITS-style strings
    (``"mm yr-1"``); ``crs`` is anything pyproj understands, or ``"GCJ-02"`` for Chinese
    web-map offset coordinates (vectors only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["raster", "vector", "table"]
    path: str
    source: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    description: str = ""
    synthetic: bool = False
    year: int | None = Field(default=None, ge=1900, le=2200)
    variable: str | None = None
    units: str | None = None
    crs: str | None = None
    # rasters
    nodata: float | None = None
    categorical: bool = False
    class_scheme: str | None = None
    resampling: Resampling | None = None
    valid_range: tuple[float, float] | None = None
    needs_metres: bool | None = None
    # vectors
    id_field: str | None = None
    name_field: str | None = None
    parent_field: str | None = None
    level: str | None = None
    # tables
    key: list[str] = Field(default_factory=list)
    required_columns: list[str] = Field(default_factory=list)
    covers: list[str] = Field(default_factory=list)

    @field_validator("key", mode="before")
    @classmethod
    def _key_as_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("valid_range")
    @classmethod
    def _range_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"valid_range minimum {value[0]} is above its maximum {value[1]}")
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> Entry:
        if (
            self.kind == "raster"
            and self.categorical
            and self.resampling in ("bilinear", "average", "cubic")
        ):
            raise ValueError(
                f"resampling '{self.resampling}' would invent class codes; "
                "categorical layers use 'nearest' or 'mode'"
            )
        if self.kind != "raster" and (
            self.categorical or self.resampling or self.nodata is not None
        ):
            raise ValueError("categorical, resampling and nodata apply to rasters only")
        if self.kind != "table" and (self.key or self.covers):
            raise ValueError("key and covers apply to tables only")
        if self.covers and not self.key:
            raise ValueError("a table that covers land-cover rasters needs a `key` column")
        return self

    def requires_metres(self) -> bool:
        """Whether the layer must be in a projected CRS with linear units (e.g. a DEM)."""
        if self.needs_metres is not None:
            return self.needs_metres
        return self.variable == "elevation"


class CatalogFile(BaseModel):
    """The top level of a catalog YAML file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    synthetic: bool = False
    reference_grid: str
    entries: dict[str, dict[str, object]]
