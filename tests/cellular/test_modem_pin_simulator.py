"""`[modem] pin` at boot, against the simulator in virtual time (issue 10, defect 6): a SIM that is still being
read answers AT+CPIN? with +CME ERROR: 14 (SIM busy). That means "ask again", not "no PIN needed": the PIN must
still be entered once the card is read, and never more than once."""
import dataclasses

from agent.core import Core, WallClock
from tests.virtual import FakeClock, InProcessSimulator, Scheduler, attach_modem


def boot(pin: str | None, speed: float = 1.0):
    clock = FakeClock()
    scheduler = Scheduler(clock)
    sim = InProcessSimulator("quectel-rm500q", clock, speed=speed)
    sim.model.set_pin(1, "1234")
    # A slow card (some take 10-20 s after a boot): the agent's first look at it finds it busy.
    sim.engine.timing = dataclasses.replace(sim.engine.timing, sim_read=15.0)
    core = Core(monotonic=clock, wall=WallClock(clock.wall))
    modem = attach_modem(core, scheduler, sim, poll_s=2.0, pin=pin)
    scheduler.run_until(lambda: False, 5)
    sim.model.command_log.clear()   # what the agent sent before the reboot is not what this test is about
    sim.fault("reboot", 1)          # the router powers up with its modem: the card is locked and read again
    return scheduler, sim, core, modem


def cpin_commands(sim) -> list[str]:
    return [c for c in sim.model.command_log if c.upper().startswith("AT+CPIN=")]


def test_the_pin_is_entered_after_the_sim_stops_being_busy():
    scheduler, sim, core, modem = boot("1234")
    # The first AT+CPIN? of the agent comes while the card is still read: the simulator answers SIM busy.
    busy = scheduler.run_until(lambda: sim.model.sim_busy and "AT+CPIN?" in sim.model.command_log, 30)
    assert busy, "the agent asked for the PIN state only after the SIM was read: this test proves nothing"
    ready = scheduler.run_until(lambda: sim.model.sim.pin_state == "READY", 60)
    assert ready, f"PIN never entered: {sim.model.command_log[-12:]}"
    assert len(cpin_commands(sim)) == 1
    scheduler.run_until(lambda: False, 60)                  # a minute on: still once (three wrong tries = PUK)
    assert len(cpin_commands(sim)) == 1
    scheduler.stop()
