"""Ecosystem services: one module per service, each a ``ServiceSpec`` plus ``compute``.

``SERVICES`` maps each registered service name to its :class:`~gep.services.spec.Service`.
"""

from __future__ import annotations

from gep.services import (
    carbon,
    climate_regulation,
    flood_regulation,
    oxygen,
    purification,
    soil_retention,
    water_conservation,
    water_yield,
)
from gep.services.spec import Service

SERVICES: dict[str, Service] = {
    service.spec.name: service
    for service in (
        water_conservation.SERVICE,
        water_yield.SERVICE,
        carbon.STOCK_CHANGE,
        carbon.NEP,
        soil_retention.SERVICE,
        oxygen.SERVICE,
        climate_regulation.SERVICE,
        flood_regulation.SERVICE,
        purification.AIR,
        purification.WATER,
    )
}

__all__ = ["SERVICES", "Service"]
