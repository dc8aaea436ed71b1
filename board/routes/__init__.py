"""Route control backends behind one small interface, chosen by name in the config ([board] backend)."""
from __future__ import annotations

import importlib

from board.routes.base import RouteBackend, RouteError, UPLINKS

# name -> "module:Class", imported only when chosen: the networkmanager backend pulls in sdbus, which a router
# running iproute2 does not have.
BACKENDS = {
    "simulated": "board.routes.simulated:SimulatedRoutes",
    "iproute2": "board.routes.iproute2:Iproute2Routes",
    "networkmanager": "board.routes.networkmanager:NetworkManagerRoutes",
}


# Names that configurations written before the rename still use ("sim" now means only the SIM card).
LEGACY_NAMES = {"sim": "simulated"}


def backend_class(name: str) -> type[RouteBackend]:
    try:
        target = BACKENDS[LEGACY_NAMES.get(name, name)]
    except KeyError:
        raise RouteError(f"unknown route backend {name!r} (known: {', '.join(sorted(BACKENDS))})") from None
    module, cls = target.split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        raise RouteError(f"route backend {name!r} cannot be loaded: {e} (for networkmanager: "
                         f"pip install 'relais[networkmanager]')") from None


def open_backend(name: str, **options) -> RouteBackend:
    return backend_class(name)(**options)


def check_options(name: str, **options) -> None:
    """RouteError if backend `name` cannot work with `options`; opens nothing (for config validation)."""
    backend_class(name).check_options(**options)


__all__ = ["RouteBackend", "RouteError", "UPLINKS", "BACKENDS", "open_backend", "check_options", "backend_class"]
