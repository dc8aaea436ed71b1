"""The `networkmanager` route backend: NetworkManager owns the routes (Raspberry Pi OS Bookworm's default), so the
preference is expressed as NetworkManager's route metrics, over D-Bus with sdbus-networkmanager (blocking API).

- prefer(): sets ipv4.route-metric (and ipv6.route-metric where IPv6 is in use) on the connection *applied* to each
  uplink's device, with Device.GetAppliedConnection + Device.Reapply: NetworkManager rewrites the routes in place,
  without reactivating, so existing connections survive. The saved profiles are not touched: after a reboot or a
  reactivation the profile's own metric is back until the agent calls prefer() again (it is idempotent).
- set_standby(): activates / deactivates the uplink's connection (for cellular, the gsm connection) with
  ActivateConnection / DeactivateConnection. Activation is asynchronous in NetworkManager (a modem takes seconds
  to attach): set_standby() returns at once and status() tells when the device is activated; prefer() on an uplink
  not activated yet raises RouteError and should be retried.
- status(): from the devices' state and the metrics in their applied connections.

Devices are found by interface name (Interface or IpInterface); a modem's control port is not wwan0, so for the
backup uplink the only modem device also matches. Connections are those active on the device unless
`primary_connection` / `backup_connection` (id or uuid) are given. Not thread-safe: the agent calls it from its
core thread.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator

import sdbus
from sdbus_block.networkmanager import (ActiveConnection, NetworkConnectionSettings, NetworkDeviceGeneric,
                                        NetworkManager, NetworkManagerSettings)
from sdbus_block.networkmanager.enums import DeviceState, DeviceType
from sdbus_block.networkmanager.exceptions import NmDeviceNotActiveError, NmDeviceVersionIdMismatchError

from board.routes.base import RouteBackend, RouteError, UplinkRoute, UplinkSet
from board.routes.conntrack import NatForgetter

log = logging.getLogger(__name__)

# What NetworkManager uses when a connection's route-metric is -1 (nm_device_get_route_metric_default()).
NM_DEFAULT_METRIC = {DeviceType.ETHERNET: 100, DeviceType.WIFI: 600, DeviceType.MODEM: 700}
ACTIVATING = range(DeviceState.PREPARE, DeviceState.ACTIVATED)
CELLULAR_TYPES = ("gsm", "cdma")


class NetworkManagerRoutes(RouteBackend):
    name = "networkmanager"
    nat: NatForgetter | None = None   # opened at the first switch

    def __init__(self, primary_interface: str = "eth0", cellular_interface: str = "wwan0",
                 preferred_metric: int = 10, standby_metric: int = 20,
                 primary_connection: str = "", backup_connection: str = "", bus: Any = None,
                 uplinks: tuple = ()):
        """`uplinks`: N uplinks (UplinkRoute or dicts), in priority order; without them primary and backup."""
        self.check_options(preferred_metric=preferred_metric, standby_metric=standby_metric)
        self._uplinks = UplinkSet.of(uplinks,
                                     UplinkRoute("primary", primary_interface, connection=primary_connection),
                                     UplinkRoute("backup", cellular_interface, cellular=True,
                                                 connection=backup_connection))
        self._ifname = {r.name: r.interface for r in self._uplinks.routes}
        self._metric = {"preferred": preferred_metric, "standby": standby_metric}
        self._connection_name = {r.name: r.connection for r in self._uplinks.routes}
        try:
            # sd-bus honours DBUS_SYSTEM_BUS_ADDRESS: the tests point it at a private bus with a mock NetworkManager
            self._bus = bus if bus is not None else sdbus.sd_bus_open_system()
        except sdbus.SdBusBaseError as e:
            raise RouteError(f"cannot connect to the system D-Bus: {_reason(e)}") from None
        self._nm = NetworkManager(self._bus)

    # ---- RouteBackend ------------------------------------------------------------------------------------
    def prefer(self, uplink: str) -> None:
        self._uplinks.check(uplink)
        device = self._activated_device(uplink)
        self._set_metric(uplink, device, self._metric["preferred"])
        # The others after: if one fails, the preferred one is already in place.
        for other in self._uplinks.others(uplink):
            try:
                metric = self._uplinks.metric(other, uplink, self._metric["preferred"], self._metric["standby"])
                self._set_metric(other, self._activated_device(other), metric)
            except RouteError as e:
                log.info("standby metric not set: %s", e)

    def set_standby(self, uplink: str, up: bool) -> None:
        self._uplinks.check(uplink)
        path, device = self._device(uplink)
        with self._dbus(uplink, "read device"):
            state, active = device.state, device.active_connection
        if up:
            if state in ACTIVATING or state == DeviceState.ACTIVATED:
                return
            connection = self._connection(uplink, device)
            with self._dbus(uplink, "activate connection"):
                self._nm.activate_connection(connection, path, "/")
        elif active != "/":
            with self._dbus(uplink, "deactivate connection"):
                self._nm.deactivate_connection(active)

    def status(self) -> dict[str, Any]:
        uplinks = {}
        for uplink in self._uplinks.names:
            info: dict[str, Any] = {"interface": self._ifname[uplink], "exists": False, "up": False,
                                    "state": None, "connection": None, "metric": None, "route_metric": None}
            try:
                _, device = self._device(uplink)
            except RouteError:
                uplinks[uplink] = info
                continue
            with self._dbus(uplink, "read device"):
                state, kind, active = device.state, device.device_type, device.active_connection
            info.update(exists=True, up=state == DeviceState.ACTIVATED, state=_state_name(state))
            if active != "/":
                with self._dbus(uplink, "read active connection"):
                    info["connection"] = ActiveConnection(active, self._bus).id
            if state == DeviceState.ACTIVATED:
                applied = self._applied(uplink, device)[0]
                metric = _variant(applied.get("ipv4", {}).get("route-metric"), -1)
                info["route_metric"] = metric
                info["metric"] = metric if metric >= 0 else NM_DEFAULT_METRIC.get(kind)
            uplinks[uplink] = info
        routed = sorted((info["metric"], u) for u, info in uplinks.items() if info["up"] and info["metric"] is not None)
        tie = len(routed) >= 2 and routed[0][0] == routed[1][0]   # the kernel would pick by age: unknowable here
        return {"backend": self.name, "preferred": routed[0][1] if routed and not tie else None, "uplinks": uplinks}

    def forget_nat(self, addresses: list[str]) -> None:
        # NetworkManager leaves conntrack alone too: the same flush as iproute2's
        if self.nat is None:
            self.nat = NatForgetter()
        self.nat.forget(addresses)

    def close(self) -> None:
        # Metrics stay as applied: an agent restarting must not move the traffic. The bus we did not open stays open.
        if self.nat is not None:
            self.nat.close()

    # ---- metrics -----------------------------------------------------------------------------------------
    def _set_metric(self, uplink: str, device: NetworkDeviceGeneric, metric: int) -> None:
        for _ in range(3):   # someone else may reapply in between: NetworkManager then refuses our version id
            settings, version = self._applied(uplink, device)
            changed = False
            for family in ("ipv4", "ipv6"):
                section = settings.get(family)
                if family == "ipv6" and (section is None or _variant(section.get("method"), "auto")
                                         in ("ignore", "disabled")):
                    continue
                section = settings.setdefault(family, {})
                if _variant(section.get("route-metric"), -1) != metric:
                    section["route-metric"] = ("x", metric)    # int64, as NetworkManager declares it
                    changed = True
            if not changed:
                return
            try:
                with self._dbus(uplink, "reapply", passthrough=(NmDeviceVersionIdMismatchError,)):
                    device.reapply(settings, version, 0)
                return
            except NmDeviceVersionIdMismatchError:
                continue
        raise RouteError(f"{self._who(uplink)}: reapply: the applied connection kept changing under us")

    def _applied(self, uplink: str, device: NetworkDeviceGeneric) -> tuple[dict, int]:
        with self._dbus(uplink, "read applied connection"):
            return device.get_applied_connection(0)

    # ---- finding things ----------------------------------------------------------------------------------
    def _device(self, uplink: str) -> tuple[str, NetworkDeviceGeneric]:
        name = self._ifname[uplink]
        modems = []
        with self._dbus(uplink, "list devices"):
            for path in self._nm.get_devices():
                device = NetworkDeviceGeneric(path, self._bus)
                if name in (device.interface, device.ip_interface):
                    return path, device
                if device.device_type == DeviceType.MODEM:
                    modems.append((path, device))
        # A modem device is named after its control port (cdc-wdm0, ttyUSB2); wwan0 appears only once connected.
        if self._uplinks[uplink].cellular and len(modems) == 1:
            return modems[0]
        raise RouteError(f"{self._who(uplink)}: NetworkManager has no such device")

    def _activated_device(self, uplink: str) -> NetworkDeviceGeneric:
        _, device = self._device(uplink)
        with self._dbus(uplink, "read device"):
            state = device.state
        if state != DeviceState.ACTIVATED:
            raise RouteError(f"{self._who(uplink)}: not activated (device state {_state_name(state)})")
        return device

    def _connection(self, uplink: str, device: NetworkDeviceGeneric) -> str:
        """The settings connection to activate for an uplink: the configured one, else the device's only
        candidate (for cellular, the only gsm/cdma one)."""
        wanted = self._connection_name[uplink]
        with self._dbus(uplink, "list connections"):
            paths = (NetworkManagerSettings(self._bus).list_connections() if wanted
                     else list(device.available_connections))
            candidates = []
            for path in paths:
                conn = NetworkConnectionSettings(path, self._bus).get_settings()["connection"]
                ident, uuid, kind = (_variant(conn.get(k), "") for k in ("id", "uuid", "type"))
                if wanted and wanted in (ident, uuid):
                    return path
                if not wanted and (not self._uplinks[uplink].cellular or kind in CELLULAR_TYPES):
                    candidates.append(path)
        if wanted:
            raise RouteError(f"{self._who(uplink)}: no NetworkManager connection with id or uuid {wanted!r}")
        if len(candidates) != 1:
            raise RouteError(f"{self._who(uplink)}: {len(candidates)} candidate connections on the device; "
                             f"name one in {self._uplinks.config_key(uplink, 'connection')}")
        return candidates[0]

    # ---- errors ------------------------------------------------------------------------------------------
    def _who(self, uplink: str) -> str:
        return f"{uplink} ({self._ifname[uplink]})"

    @contextmanager
    def _dbus(self, uplink: str, what: str, passthrough: tuple[type, ...] = ()) -> Iterator[None]:
        try:
            yield
        except passthrough:
            raise
        except NmDeviceNotActiveError:
            raise RouteError(f"{self._who(uplink)}: {what}: device not activated") from None
        except sdbus.SdBusBaseError as e:
            raise RouteError(f"{self._who(uplink)}: {what}: {_reason(e)}") from None


def _variant(value: Any, default: Any) -> Any:
    """The value of an sdbus variant ("signature", value), or `default` when the setting is absent."""
    return default if value is None else value[1]


def _state_name(state: int) -> str:
    try:
        return DeviceState(state).name.lower()
    except ValueError:
        return str(state)


def _reason(e: BaseException) -> str:
    if isinstance(e, sdbus.SdBusUnmappedMessageError) and len(e.args) >= 2:
        return f"{e.args[1]} ({e.args[0]})"
    name = getattr(e, "dbus_error_name", "")
    text = " ".join(str(a) for a in e.args) or type(e).__name__
    if name == "org.freedesktop.DBus.Error.ServiceUnknown":
        return "NetworkManager is not running"
    if name in ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.NetworkManager.PermissionDenied"):
        return f"permission denied (run as root, or allow it in polkit): {text}"
    if isinstance(e, sdbus.SdBusLibraryError):
        return f"D-Bus library error: {text}"
    return f"{text} ({name})" if name else text
