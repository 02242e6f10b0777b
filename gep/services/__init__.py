"""Ecosystem services: one module per service, each a ``ServiceSpec`` plus ``compute``.

``SERVICES`` maps each registered service name to its :class:`~gep.services.spec.Service`.
Every module of this package that defines ``SERVICE`` (or ``SERVICES``, a tuple of them) is
registered when the package is imported: adding a service is adding its module (the spec
declares what the pipeline reads and accounts, :mod:`gep.pipeline.inputs`).
:func:`register` adds a service defined elsewhere (a plug-in, a test).
"""

from __future__ import annotations

import importlib
import pkgutil

from gep.services.spec import Service

#: Modules of the package that are not services.
_NOT_SERVICES = frozenset({"spec", "pixelwise", "catalogue", "statistics"})

SERVICES: dict[str, Service] = {}


def register(service: Service) -> Service:
    """Register ``service`` under its spec's name (replacing one of the same name)."""
    SERVICES[service.spec.name] = service
    return service


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name in _NOT_SERVICES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found = getattr(module, "SERVICES", None) or (getattr(module, "SERVICE", None),)
        for service in found:
            if isinstance(service, Service):
                register(service)


_discover()

__all__ = ["SERVICES", "Service", "register"]
