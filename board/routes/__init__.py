"""Route control backends behind one small interface, chosen by name in the config ([board] backend)."""
from __future__ import annotations

import importlib

from board.routes.base import RouteBackend, RouteError, UPLINKS

# name -> "module:Class", imported only when chosen: the networkmanager backend pulls in sdbus, which a router
# running iproute2 does not have.
BACKENDS = {
    "sim": "board.routes.sim:SimRoutes",
    "iproute2": "board.routes.iproute2:Iproute2Routes",
    "networkmanager": "board.routes.networkmanager:NetworkManagerRoutes",
}


def open_backend(name: str, **options) -> RouteBackend:
    try:
        target = BACKENDS[name]
    except KeyError:
        raise RouteError(f"unknown route backend {name!r} (known: {', '.join(sorted(BACKENDS))})") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(**options)


__all__ = ["RouteBackend", "RouteError", "UPLINKS", "BACKENDS", "open_backend"]
