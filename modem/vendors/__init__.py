"""Vendor plugins: get(name) and detect(manufacturer, model, usb_id). Modules are imported lazily."""
from __future__ import annotations

import importlib

from modem.vendors.base import VendorPlugin

NAMES = ("quectel", "simcom", "sierra", "telit", "huawei", "ublox", "fibocom", "generic")
_ALIASES = {"u-blox": "ublox", "sierra wireless": "sierra", "sierrawireless": "sierra", "sim": "simcom",
            "intel": "fibocom", "xmm": "fibocom", "3gpp": "generic", "": "generic"}


def _canonical(name: str | None) -> str | None:
    if name is None:
        return "generic"
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key in NAMES:
        return key
    # "quectel-rm500q", "Quectel_EC25", "u-blox SARA-R5"
    for n in NAMES:
        if key.startswith(n):
            return n
    for alias, n in _ALIASES.items():
        if alias and key.startswith(alias):
            return n
    return None


def get(name: str | None) -> VendorPlugin:
    """The plugin for a vendor name ("quectel", "Quectel", "quectel-rm500q"); KeyError if unknown."""
    key = _canonical(name)
    if key is None:
        raise KeyError(f"unknown vendor {name!r} (known: {', '.join(NAMES)})")
    return importlib.import_module(f"modem.vendors.{key}").PLUGIN


def all_plugins() -> list[VendorPlugin]:
    return [get(n) for n in NAMES]


def every_vendor_urc_prefix() -> tuple[str, ...]:
    """The unsolicited line prefixes of every vendor: what a modem of unknown make may send."""
    seen: dict[str, None] = {}
    for plugin in all_plugins():
        seen.update(dict.fromkeys(plugin.vendor_urc_prefixes))
    return tuple(seen)


def detect(manufacturer: str | None = None, model: str | None = None,
           usb_id: str | tuple[int, int] | None = None) -> VendorPlugin:
    """Pick the plugin from +CGMI/ATI manufacturer, +CGMM model and/or USB "VID:PID"; generic otherwise."""
    best, best_score = get("generic"), 0
    for plugin in all_plugins():
        score = plugin.match_score(manufacturer, model, usb_id)
        if score > best_score:
            best, best_score = plugin, score
    return best
