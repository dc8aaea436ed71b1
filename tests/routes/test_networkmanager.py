"""The networkmanager backend against python-dbusmock's NetworkManager on a private system bus (dbus-daemon).

The mock (tests/routes/nm_template.py) is NetworkManager's D-Bus surface only: these tests check what the backend
asks NetworkManager to do and what it makes of the answers, not routes in a kernel (see test_iproute2 for those).
"""
from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import dbus
import pytest
from dbusmock import MOCK_IFACE, SpawnedMock
from dbusmock.testcase import BusType, PrivateDBus

from board.routes import RouteError, open_backend

pytestmark = pytest.mark.dbus

TEMPLATE = str(Path(__file__).with_name("nm_template.py"))
NM = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
ACTIVATED, DISCONNECTED = 100, 30


class FakeNetworkManager:
    """Drives the mock from the test side, over its own dbus-python connection to the private bus."""

    def __init__(self, mock: SpawnedMock, address: str):
        self.mock = mock
        self.bus = dbus.bus.BusConnection(address)
        self.control = dbus.Interface(self.bus.get_object(NM, NM_PATH), MOCK_IFACE)
        self.manager = dbus.Interface(self.bus.get_object(NM, NM_PATH), NM)
        self.settings = dbus.Interface(self.bus.get_object(NM, NM_PATH + "/Settings"), NM + ".Settings")

    def connection(self, ident: str, kind: str, ipv6: str = "auto") -> str:
        return str(self.settings.AddConnection({
            "connection": {"id": ident, "uuid": str(uuid.uuid4()), "type": kind},
            "ipv4": {"method": "auto", "route-metric": dbus.Int64(-1)},
            "ipv6": {"method": ipv6, "route-metric": dbus.Int64(-1)},
        }))

    def activate(self, connection: str, device: str) -> None:
        self.manager.ActivateConnection(connection, device, "/")

    def applied(self, device: str) -> dict:
        return {family: dict(section) for family, section in self.control.AppliedSettings(device).items()}

    def metric(self, device: str, family: str = "ipv4") -> int:
        return int(self.applied(device)[family]["route-metric"])

    def device_prop(self, device: str, name: str):
        return self.bus.get_object(NM, device).Get(NM + ".Device", name, dbus_interface=dbus.PROPERTIES_IFACE)

    def calls(self, path: str, method: str) -> list:
        return self.bus.get_object(NM, path).GetMethodCalls(method, dbus_interface=MOCK_IFACE)


@pytest.fixture
def system_bus(monkeypatch):
    if shutil.which("dbus-daemon") is None:
        pytest.skip("needs dbus-daemon (Debian package dbus)")
    monkeypatch.delenv("DBUS_SYSTEM_BUS_ADDRESS", raising=False)   # PrivateDBus sets it; monkeypatch restores
    with PrivateDBus(BusType.SYSTEM) as bus:
        yield bus.address


@pytest.fixture
def nm(system_bus):
    with SpawnedMock.spawn_with_template(TEMPLATE, stdout=subprocess.DEVNULL) as mock:
        yield FakeNetworkManager(mock, system_bus)


@pytest.fixture
def router(nm):
    """A Raspberry Pi with eth0 on fiber and a modem whose gsm connection is up (hot standby)."""
    nm.eth0 = str(nm.control.AddEthernetDevice("eth0", "eth0", DISCONNECTED))
    nm.modem = str(nm.control.AddModemDevice("modem0", "cdc-wdm0", "wwan0"))
    nm.wired = nm.connection("Wired connection 1", "802-3-ethernet")
    nm.gsm = nm.connection("cellular", "gsm", ipv6="ignore")
    nm.control.MakeAvailable(nm.eth0, nm.wired)
    nm.control.MakeAvailable(nm.modem, nm.gsm)
    nm.activate(nm.wired, nm.eth0)
    nm.activate(nm.gsm, nm.modem)
    return nm


@pytest.fixture
def routes(router):
    backend = open_backend("networkmanager", primary_interface="eth0", cellular_interface="wwan0")
    yield backend
    backend.close()


def test_status_reads_devices_and_networkmanager_default_metrics(router, routes):
    status = routes.status()
    assert status["preferred"] == "primary"
    assert status["uplinks"]["primary"] == {"interface": "eth0", "exists": True, "up": True, "state": "activated",
                                            "connection": "Wired connection 1", "metric": 100, "route_metric": -1}
    assert status["uplinks"]["backup"] | {"connection": "cellular", "metric": 700, "route_metric": -1} == \
        status["uplinks"]["backup"]


def test_prefer_reapplies_metrics_without_reactivating(router, routes):
    activations = len(router.calls(NM_PATH, "ActivateConnection"))     # the fixture's two
    routes.prefer("backup")
    assert router.metric(router.modem) == 10 and router.metric(router.eth0) == 20
    assert router.metric(router.eth0, "ipv6") == 20
    assert int(router.applied(router.modem)["ipv6"]["route-metric"]) == -1   # ipv6 ignored there: left alone
    assert routes.status()["preferred"] == "backup"
    assert len(router.calls(router.modem, "Reapply")) == 1 and len(router.calls(router.eth0, "Reapply")) == 1
    assert len(router.calls(NM_PATH, "ActivateConnection")) == activations == 2
    assert router.calls(NM_PATH, "DeactivateConnection") == []
    # everything else in the applied connection went back unchanged
    assert router.applied(router.modem)["connection"]["id"] == "cellular"

    routes.prefer("primary")
    assert (router.metric(router.eth0), router.metric(router.modem)) == (10, 20)
    assert routes.status()["preferred"] == "primary"


def test_prefer_is_idempotent(router, routes):
    routes.prefer("primary")
    before = len(router.calls(router.eth0, "Reapply")) + len(router.calls(router.modem, "Reapply"))
    routes.prefer("primary")
    after = len(router.calls(router.eth0, "Reapply")) + len(router.calls(router.modem, "Reapply"))
    assert (before, after) == (2, 2)


def test_reapply_retries_when_another_client_got_there_first(router, routes):
    router.control.RaceNextReapply(router.modem)
    routes.prefer("backup")
    assert router.metric(router.modem) == 10
    assert len(router.calls(router.modem, "Reapply")) == 2     # refused once (version id), then accepted


def test_cold_standby_deactivates_and_activates_the_gsm_connection(router, routes):
    routes.prefer("primary")
    routes.set_standby("backup", False)
    assert int(router.device_prop(router.modem, "State")) == DISCONNECTED
    assert int(router.device_prop(router.eth0, "State")) == ACTIVATED     # the fiber is not touched
    status = routes.status()
    assert status["uplinks"]["backup"]["up"] is False and status["preferred"] == "primary"
    with pytest.raises(RouteError, match=r"backup \(wwan0\): not activated \(device state disconnected\)"):
        routes.prefer("backup")
    routes.set_standby("backup", False)     # already down: nothing to do
    assert len(router.calls(NM_PATH, "DeactivateConnection")) == 1

    routes.set_standby("backup", True)
    _, args = router.calls(NM_PATH, "ActivateConnection")[-1]
    assert [str(a) for a in args] == [router.gsm, router.modem, "/"]
    assert routes.status()["uplinks"]["backup"]["up"] is True
    routes.prefer("backup")
    assert routes.status()["preferred"] == "backup"


def test_configured_connection_is_used_among_several(router):
    other = router.connection("cellular roaming", "gsm", ipv6="ignore")
    router.control.MakeAvailable(router.modem, other)
    ambiguous = open_backend("networkmanager", primary_interface="eth0", cellular_interface="wwan0")
    ambiguous.set_standby("backup", False)
    with pytest.raises(RouteError, match=r"2 candidate connections on the device; name one in \[board\] "
                                         r"backup_connection"):
        ambiguous.set_standby("backup", True)
    routes = open_backend("networkmanager", primary_interface="eth0", cellular_interface="wwan0",
                          backup_connection="cellular roaming")
    routes.set_standby("backup", True)
    assert str(router.calls(NM_PATH, "ActivateConnection")[-1][1][0]) == other
    assert routes.status()["uplinks"]["backup"]["connection"] == "cellular roaming"

    routes.set_standby("backup", False)
    missing = open_backend("networkmanager", cellular_interface="wwan0", backup_connection="nope")
    with pytest.raises(RouteError, match=r"backup \(wwan0\): no NetworkManager connection with id or uuid 'nope'"):
        missing.set_standby("backup", True)


def test_missing_device_is_named(router):
    routes = open_backend("networkmanager", primary_interface="eth9", cellular_interface="wwan0")
    with pytest.raises(RouteError, match=r"primary \(eth9\): NetworkManager has no such device"):
        routes.prefer("primary")
    assert routes.status()["uplinks"]["primary"]["exists"] is False
    routes.prefer("backup")     # the missing one is only the standby here
    assert routes.status()["preferred"] == "backup"


def test_networkmanager_not_running(system_bus):
    routes = open_backend("networkmanager")
    with pytest.raises(RouteError, match=r"primary \(eth0\): list devices: NetworkManager is not running"):
        routes.prefer("primary")


def test_no_system_bus(monkeypatch, tmp_path):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    with pytest.raises(RouteError, match="cannot connect to the system D-Bus"):
        open_backend("networkmanager")


def test_three_uplinks_get_metrics_in_priority_order(router):
    """[[uplinks]]: fiber on eth0, a second operator on eth1, the modem; the preferred one at preferred_metric, the
    others at standby_metric, +1 in priority order."""
    router.eth1 = str(router.control.AddEthernetDevice("eth1", "eth1", DISCONNECTED))
    router.wired2 = router.connection("Wired connection 2", "802-3-ethernet")
    router.control.MakeAvailable(router.eth1, router.wired2)
    router.activate(router.wired2, router.eth1)
    uplinks = ({"name": "fiber", "interface": "eth0"}, {"name": "second", "interface": "eth1"},
               {"name": "lte", "interface": "wwan0", "cellular": True})
    routes = open_backend("networkmanager", uplinks=uplinks)
    try:
        devices = {"fiber": router.eth0, "second": router.eth1, "lte": router.modem}
        for preferred, metrics in (("second", {"second": 10, "fiber": 20, "lte": 21}),
                                   ("lte", {"lte": 10, "fiber": 20, "second": 21}),
                                   ("fiber", {"fiber": 10, "second": 20, "lte": 21})):
            routes.prefer(preferred)
            assert {u: router.metric(d) for u, d in devices.items()} == metrics
            assert routes.status()["preferred"] == preferred
        with pytest.raises(RouteError, match="unknown uplink 'primary'"):
            routes.prefer("primary")
    finally:
        routes.close()
