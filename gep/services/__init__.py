"""Ecosystem services: one module per service, each a ``ServiceSpec`` plus ``compute``.

``SERVICES`` maps each registered service name to its :class:`~gep.services.spec.Service`.
"""

from __future__ import annotations

from gep.services import carbon, soil_retention, water_conservation, water_yield
from gep.services.spec import Service

SERVICES: dict[str, Service] = {
    service.spec.name: service
    for service in (
        water_conservation.SERVICE,
        water_yield.SERVICE,
        carbon.STOCK_CHANGE,
        carbon.NEP,
        soil_retention.SERVICE,
    )
}

__all__ = ["SERVICES", "Service"]
