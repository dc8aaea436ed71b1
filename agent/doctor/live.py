"""The agent's side of `relais signal --watch` and `relais doctor`: the core command "signal_now", a reading made
for the asker instead of the last poll's.

The agent polls the modem every 30 s; a technician moving the antenna needs a number every second, and the doctor
must know whether the modem answers now, not half a minute ago. The reading is a modem-worker job (the serial port
stays the agent's alone). Requests that arrive while a reading is in flight share it: a hung modem costs one AT
timeout however many watchers ask, and jobs never pile up behind it.

    signal_now {}            -> {"registration", "rat", "cell_id", "lac_tac", "signal": {...}}
    signal_now {"sim": true} -> the same and "sim_state", "sim_slot" (four more commands: for the doctor)
"""
from __future__ import annotations

from typing import Any

from agent.core import CommandError, Core, Deferred


class LiveReading:
    def __init__(self, core: Core, modem) -> None:
        """modem: agent.modem_service.ModemService (its submit() runs a job on the modem worker)."""
        self._modem = modem
        self._waiting: dict[bool, list[Deferred]] = {False: [], True: []}
        core.register_command("signal_now", self._command)

    def _command(self, args: dict[str, Any]) -> Deferred:
        sim = args.get("sim", False)
        if not isinstance(sim, bool) or set(args) - {"sim"}:
            raise CommandError('signal_now takes only {"sim": true|false}')
        d = Deferred()
        waiting = self._waiting[sim]
        waiting.append(d)
        if len(waiting) == 1:                    # nobody asked before: start the reading
            self._modem.submit("signal_now", lambda dev: read(dev, sim), lambda r, e, now: self._done(sim, r, e))
        return d

    def _done(self, sim: bool, result: Any, error: Exception | None) -> None:
        waiting, self._waiting[sim] = self._waiting[sim], []
        for d in waiting:
            if error is None:
                d.resolve(result)
            else:
                d.reject(f"the modem did not answer: {error}")


def read(dev, sim: bool) -> dict[str, Any]:
    """On the modem worker: registration and signal (and the SIM) as modem.device reads them."""
    out: dict[str, Any] = {}
    if sim:
        card = dev.sim()
        out.update(sim_state=card.get("sim_state"), sim_slot=card.get("sim_slot"))
    out.update(dev.registration())
    out["signal"] = dev.signal()
    return out


def attach(core: Core, modem) -> LiveReading:
    return LiveReading(core, modem)
