"""python-dbusmock's NetworkManager template, plus what the route backend needs and the stock template lacks.

What is mocked, honestly: this is NetworkManager's D-Bus *surface*, not NetworkManager. No kernel route changes;
a "reapplied" metric is only stored and read back. Activation completes at once (the real daemon goes through
prepare/config/ip-config for seconds). Added here, modelled on NetworkManager's documented D-Bus API:
- Device.GetAppliedConnection / Device.Reapply on every device, with NetworkManager's rules as far as the backend
  depends on them: only on an activated device (else ...Device.NotActive), version id checked (else
  ...Device.VersionIdMismatch) and bumped on each reapply, the connection's uuid must not change.
- AddModemDevice: a ModemManager-driven device as NetworkManager shows it (named after its control port, its
  IpInterface set only while activated), which the stock template does not offer.
- DeactivateConnection that disconnects only the devices of that active connection: the stock one
  (dbusmock 0.38) disconnects every device, which would make "cold standby" look like a total outage.
- RaceNextReapply: the next Reapply on a device finds that another client reapplied first (version id moved).
Loaded by path into the dbusmock process (SpawnedMock.spawn_with_template).
"""
# pylint: disable=wildcard-import,unused-wildcard-import
import dbus

import dbusmock
from dbusmock import MOCK_IFACE
from dbusmock.templates import networkmanager as stock
from dbusmock.templates.networkmanager import *  # noqa: F401,F403  (BUS_NAME, MAIN_OBJ, the stock mock methods)

NOT_ACTIVE = "org.freedesktop.NetworkManager.Device.NotActive"
VERSION_MISMATCH = "org.freedesktop.NetworkManager.Device.VersionIdMismatch"
INCOMPATIBLE = "org.freedesktop.NetworkManager.Device.IncompatibleConnection"


def load(mock, parameters):
    stock.load(mock, parameters)
    manager = dbusmock.get_object(stock.MANAGER_OBJ)
    manager.AddMethod(stock.MANAGER_IFACE, "DeactivateConnection", "o", "", deactivate_only_its_devices)


def deactivate_only_its_devices(manager, active_path):
    active = dbusmock.get_object(active_path)
    for dev_path in active.Get(stock.ACTIVE_CONNECTION_IFACE, "Devices"):
        manager.RemoveActiveConnection(dev_path, active_path)
        device = dbusmock.get_object(dev_path)
        if device.Get(stock.DEVICE_IFACE, "DeviceType") == 8:
            device.Set(stock.DEVICE_IFACE, "IpInterface", "")


def _copy(settings):
    # dbus types do not survive copy.deepcopy (the stock template says so too)
    return dbus.Dictionary({name: dbus.Dictionary(dict(section), signature="sv")
                            for name, section in settings.items()}, signature="sa{sv}")


def _active_settings(device):
    if device.Get(stock.DEVICE_IFACE, "State") != stock.DeviceState.ACTIVATED:
        raise dbus.exceptions.DBusException("Device is not activated", name=NOT_ACTIVE)
    active_path = device.Get(stock.DEVICE_IFACE, "ActiveConnection")
    applied = getattr(device, "applied", None)
    if applied is None or applied["active"] != active_path:
        conn_path = dbusmock.get_object(active_path).Get(stock.ACTIVE_CONNECTION_IFACE, "Connection")
        device.applied = applied = {"active": active_path, "version": 1,
                                    "settings": _copy(dbusmock.get_object(conn_path).settings)}
    return applied


def get_applied_connection(device, flags):
    applied = _active_settings(device)
    return (_copy(applied["settings"]), dbus.UInt64(applied["version"]))


def reapply(device, connection, version_id, flags):
    applied = _active_settings(device)
    if getattr(device, "race", False):
        device.race = False
        applied["version"] += 1
    if version_id not in (0, applied["version"]):
        raise dbus.exceptions.DBusException(
            f"version id mismatch: {version_id} != {applied['version']}", name=VERSION_MISMATCH)
    if connection:
        if connection["connection"]["uuid"] != applied["settings"]["connection"]["uuid"]:
            raise dbus.exceptions.DBusException("cannot reapply another connection", name=INCOMPATIBLE)
        applied["settings"] = _copy(connection)
    applied["version"] += 1


def _add_applied_connection_methods(path):
    device = dbusmock.get_object(path)
    device.AddMethod(stock.DEVICE_IFACE, "GetAppliedConnection", "u", "a{sa{sv}}t", get_applied_connection)
    device.AddMethod(stock.DEVICE_IFACE, "Reapply", "a{sa{sv}}tu", "", reapply)


@dbus.service.method(MOCK_IFACE, in_signature="ssi", out_signature="s")
def AddEthernetDevice(self, device_name, iface_name, state):
    path = stock.AddEthernetDevice(self, device_name, iface_name, state)
    _add_applied_connection_methods(path)
    return path


@dbus.service.method(MOCK_IFACE, in_signature="sss", out_signature="s")
def AddModemDevice(self, device_name, control_port, ip_iface):
    """A modem device (DeviceType 8), named after its control port; IpInterface is `ip_iface` while activated."""
    path = "/org/freedesktop/NetworkManager/Devices/" + device_name
    self.AddObject(path, "org.freedesktop.NetworkManager.Device.Modem",
                   {"ModemCapabilities": dbus.UInt32(8), "CurrentCapabilities": dbus.UInt32(8),
                    "DeviceId": "dbusmock-modem", "OperatorCode": "", "Apn": ""}, [])
    device = dbusmock.get_object(path)
    device.AddProperties(stock.DEVICE_IFACE, {
        "DeviceType": dbus.UInt32(8),
        "State": dbus.UInt32(stock.DeviceState.DISCONNECTED),
        "StateReason": (dbus.UInt32(stock.DeviceState.DISCONNECTED), dbus.UInt32(0)),
        "Interface": control_port,
        "IpInterface": "",
        "ActiveConnection": dbus.ObjectPath("/"),
        "AvailableConnections": dbus.Array([], signature="o"),
        "AutoConnect": False,
        "Managed": True,
        "Driver": "qmi_wwan",
    })
    device.ip_iface_when_active = ip_iface
    _add_applied_connection_methods(path)
    self.object_manager_emit_added(path)
    manager = dbusmock.get_object(stock.MANAGER_OBJ)
    manager.Set(stock.MANAGER_IFACE, "Devices", manager.Get(stock.MANAGER_IFACE, "Devices") + [dbus.ObjectPath(path)])
    manager.EmitSignal(stock.MANAGER_IFACE, "DeviceAdded", "o", [path])
    return path


@dbus.service.method(MOCK_IFACE, in_signature="ss", out_signature="")
def SetDeviceActive(self, device_path, active_connection_path):
    stock.SetDeviceActive(self, device_path, active_connection_path)
    device = dbusmock.get_object(device_path)
    if hasattr(device, "ip_iface_when_active"):
        device.Set(stock.DEVICE_IFACE, "IpInterface", device.ip_iface_when_active)


@dbus.service.method(MOCK_IFACE, in_signature="so", out_signature="")
def MakeAvailable(self, device_path, connection_path):
    """List a settings connection in a device's AvailableConnections (the stock template does it only for WiFi)."""
    device = dbusmock.get_object(device_path)
    device.Set(stock.DEVICE_IFACE, "AvailableConnections",
               device.Get(stock.DEVICE_IFACE, "AvailableConnections") + [dbus.ObjectPath(connection_path)])


@dbus.service.method(MOCK_IFACE, in_signature="s", out_signature="")
def RaceNextReapply(self, device_path):
    dbusmock.get_object(device_path).race = True


@dbus.service.method(MOCK_IFACE, in_signature="s", out_signature="a{sa{sv}}")
def AppliedSettings(self, device_path):
    """What the device has applied now, for the tests to check (no version bump, no NotActive check)."""
    applied = getattr(dbusmock.get_object(device_path), "applied", None)
    return _copy(applied["settings"]) if applied else {}
