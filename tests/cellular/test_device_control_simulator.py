"""ModemDevice's control methods (SIM slot, operator, PDP context and data call, radio, reset, PIN) against the
in-process modem simulator in virtual time, and the +CGPADDR parser on its answer forms."""
from __future__ import annotations

import pytest

from modem.at import AtError, AtTimeout, ModemError
from modem.at.loopback import LoopbackPort
from modem.device import ModemDevice, parse_cgpaddr
from tests.virtual import FakeClock, InProcessSimulator, Scheduler


@pytest.fixture
def modem(tmp_path):
    """make(vendor, pins) -> (simulator, ModemDevice, wait): the device over modem.at.loopback's port to the
    in-process simulator, in virtual time; wait(cond, timeout) runs both until cond() (virtual seconds)."""
    made = []

    def make(vendor="quectel-rm500q", pins=None):
        clock = FakeClock()
        scheduler = Scheduler(clock)
        sim = InProcessSimulator(vendor, clock)
        for slot, pin in (pins or {}).items():
            sim.model.set_pin(slot, pin)
        port = LoopbackPort(sim.wire(), clock=clock, wait=scheduler.wait)
        scheduler.add(sim.service, sim.next_deadline)
        scheduler.add(port.service, port.next_deadline)
        port.start(wait_open_s=5)
        made.append(port)
        dev = ModemDevice(port)
        dev.initialize()
        dev.identify()
        return sim, dev, scheduler.run_until
    yield make
    for port in made:
        port.close()


@pytest.mark.parametrize("lines,address", [
    (['+CGPADDR: 1,"100.72.18.5"'], "100.72.18.5"),
    (["+CGPADDR: 1,100.72.18.5"], "100.72.18.5"),
    (["+CGPADDR: 1"], None),
    (['+CGPADDR: 1,"0.0.0.0"'], None),
    (['+CGPADDR: 1,"0.0.0.0","32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1"'], "2001:db8::1"),
    (['+CGPADDR: 1,"2001:db8::5","10.1.2.3"'], "10.1.2.3"),                # IPv4 preferred
    (['+CGPADDR: 2,"10.9.9.9"', '+CGPADDR: 1,"10.1.1.1"'], "10.1.1.1"),    # the asked context only
    (['+CGPADDR: 1,"garbage"'], None),
    ([], None),
])
def test_parse_cgpaddr(lines, address):
    assert parse_cgpaddr(lines, 1) == address


@pytest.mark.parametrize("vendor,command", [("quectel-rm500q", "AT+QUIMSLOT=2"), ("quectel-ec25", "AT+QDSIM=1")])
def test_sim_switch_with_the_models_own_command(modem, vendor, command):
    sim, dev, wait = modem(vendor)
    assert dev.sim()["sim_slot"] == 1
    dev.switch_sim(2)
    assert command in sim.model.command_log
    assert wait(lambda: sim.model.active_slot == 2 and sim.model.registered, 5)
    assert dev.sim()["sim_slot"] == 2 and dev.sim()["iccid"] == sim.model.slots[2].iccid


def test_no_slot_three(modem):
    _, dev, _ = modem()
    with pytest.raises(ModemError, match="no SIM slot 3"):
        dev.switch_sim(3)


def test_operator_manual_with_fallback_and_strict_manual(modem):
    sim, dev, wait = modem()
    dev.set_operator("20810")                            # SFR with the Orange SIM: roaming
    assert 'AT+COPS=4,2,"20810"' in sim.model.command_log
    assert wait(lambda: dev.registration().get("registration") == "roaming", 5)
    dev.set_operator("20820")                            # forbidden on this SIM: the modem falls back to automatic
    assert wait(lambda: dev.registration().get("registration") == "home", 5)
    with pytest.raises(AtError) as e:
        dev.set_operator("20820", fallback=False)
    assert e.value.code == 32
    dev.set_operator(None)
    assert sim.model.cops_mode == 0
    with pytest.raises(ModemError, match="5 or 6 digits"):
        dev.set_operator("208;01")


def test_operator_scan(modem):
    _, dev, _ = modem()
    networks = dev.scan_operators()
    plmns = {(n["mcc"] + n["mnc"], n["availability"]) for n in networks}
    assert {("20801", "current"), ("20810", "available"), ("20820", "forbidden")} <= plmns


@pytest.mark.parametrize("vendor,via", [("quectel-rm500q", "AT+QNETDEVCTL=1,1,1"),   # RM5xx dials itself
                                        ("quectel-ec25", "AT+CGACT=1,1")])           # no QNETDEVCTL: 3GPP
def test_data_call_the_vendors_way_or_3gpp(modem, vendor, via):
    sim, dev, _ = modem(vendor)
    dev.define_pdp(1, "IPV4V6", "orange.fr")
    assert sim.model.sim.pdp[1].apn == "orange.fr"
    assert dev.activate_data(1) == via
    assert dev.data_address(1) == sim.model.slots[1].card.pdp_address
    dev.deactivate_data(1)
    assert dev.data_address(1) is None


def test_data_call_without_registration_is_an_error(modem):
    sim, dev, wait = modem()
    sim.fault("deny", 1)
    assert wait(lambda: not sim.model.registered, 5)
    with pytest.raises(AtError) as e:
        dev.activate_data(1)
    assert e.value.code == 30


@pytest.mark.parametrize("cid,pdp_type,apn", [(1, "PPP", "x"), (0, "IP", "x"), (1, "IP", 'a"b'), (1, "IP", "a b"),
                                              (1, "IP", "x" * 101), (1, "IP", "a,b")])
def test_unusable_pdp_context_is_refused_before_sending(modem, cid, pdp_type, apn):
    sim, dev, _ = modem()
    before = len(sim.model.command_log)
    with pytest.raises(ModemError):
        dev.define_pdp(cid, pdp_type, apn)
    assert len(sim.model.command_log) == before


def test_radio_off_and_on(modem):
    sim, dev, wait = modem()
    dev.radio(False)
    assert sim.model.cfun == 0 and not sim.model.registered
    dev.radio(True)
    assert wait(lambda: sim.model.registered, 5)


def test_reset_restarts_the_modem(modem):
    sim, dev, wait = modem()
    boots = sim.model.boot_count
    dev.reset()
    assert wait(lambda: sim.model.boot_count > boots and sim.model.registered, 10)


def test_enter_pin(modem):
    sim, dev, wait = modem(pins={1: "4321"})
    assert dev.sim()["sim_state"] == "SIM PIN"
    with pytest.raises(ModemError, match="4 to 8 digits"):
        dev.enter_pin("12")
    dev.enter_pin("4321")
    assert wait(lambda: dev.sim()["sim_state"] == "READY", 5)


def test_ping_a_hung_modem_times_out(modem):
    sim, dev, _ = modem()
    sim.fault("hang", "forever")
    with pytest.raises(AtTimeout):
        dev.ping(0.3)
