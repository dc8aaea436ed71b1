"""`make demo` / `relais demo`: the agent driving the built-in modem simulator through a scripted outage.

No hardware, no root, no broker: the modem is the simulator on a pty, the uplinks are simulated (board backend
"simulated"), and the MQTT reporter points at a broker that is not there, so what it would have sent waits in its
outbox, on disk. Every step waits for the agent to react on its own and prints what it did and how long it took;
a step whose reaction does not come in time fails the demo (exit 1).
"""
from __future__ import annotations

import json
import logging
import queue
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from agent import config as configuration
from agent.core import CommandReceived
from agent.runtime import Runtime, build

VENDOR_SPEED = 0.1           # simulator delays at a tenth of a real modem's: the demo lasts ~half a minute


# The shop the demo's report is for: what [business] and [[contracts]] say in demo/config.toml.
BUSINESS = {"name": "Boulangerie Martin", "hours": "Mon-Sat 07:00-20:00", "timezone": "Europe/Paris",
            "cost_per_hour": 120.0, "default_period": "since_start"}   # the demo's own minutes
CONTRACTS = [{"uplink": "primary", "provider": "Orange Pro", "reference": "FTTO-DEMO-0042", "availability_pct": 99.9,
              "repair_hours": 4.0, "down_mbps": 300.0, "up_mbps": 300.0, "support_phone": "3901"}]
# Whom the shop calls when the Internet is cut, for its continuity sheet (demo/plan.html).
CONTACTS = [{"name": "Julien Martin", "role": "gérant", "phone": "+33 6 12 34 56 78", "when": "d'abord"},
            {"name": "InfoLyon Services", "role": "prestataire informatique", "phone": "+33 4 72 00 00 00",
             "when": "si le voyant clignote vite, ou si la fibre est coupée depuis plus d'une heure"}]


class Demo:
    def __init__(self, vendor: str, fast: bool, out: str = "demo"):
        from agent.power.simulator import SimulatedUps
        from modem.simulator import Simulator
        self.tmp = tempfile.TemporaryDirectory(prefix="relais-demo-")
        base = Path(self.tmp.name)
        # The ledger outlives the demo (out/var/ledger.db), so that `relais report --config out/config.toml`
        # reproduces the report the demo ends with; each run starts it afresh.
        self.out = Path(out).resolve()
        shutil.rmtree(self.out / "var", ignore_errors=True)
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:     # run from a read-only directory: the demo still runs, its report goes elsewhere
            fallback = Path(tempfile.mkdtemp(prefix="relais-demo-report-"))
            print(f"relais demo: cannot write {self.out} ({e.strerror or e}): the report goes to {fallback}")
            self.out = fallback
        self.link = str(base / "ttyUSB2")
        self.sim = Simulator(vendor=vendor, link=self.link, speed=0.0 if fast else VENDOR_SPEED)
        # The shop's UPS, speaking NUT on a local port: the agent reads it as it reads a real one ([power] ups).
        self.ups = SimulatedUps("onduleur").start()
        self.events: queue.Queue = queue.Queue()
        self.seen: list[Any] = []
        self.failures = 0
        self.t0 = time.monotonic()
        self.started_wall = time.time()     # the demo's report covers its own minutes, not the last 30 days
        self.raw = {
            "device": {"id": "demo-shop-42", "site": "Boulangerie Martin, Lyon",
                       "location": "arrière-boutique, étagère du haut à côté de la box fibre"},
            "modem": {"port": self.link},
            "board": {"backend": "simulated"},
            "storage": {"dir": str(self.out / "var")},
            "mqtt": {"host": "127.0.0.1", "port": _unused_port(), "payload": "json"},
            # Shorter than the defaults (10 s hold-down, 30 s of denial) so that the demo lasts half a minute.
            "failover": {"hold_down_s": 4.0},
            "cellular": {"rules": {"registration_denied": {"duration_s": 3.0}}},
            "probes": {"trickle_interval_s": 5.0},
            "business": BUSINESS, "contracts": CONTRACTS, "contacts": CONTACTS,
            "plan": {"router": "le boîtier blanc marqué « relais »"},
            # Read every second, a change counted at once (a real site waits confirm_s = 10 s): a cut of a
            # second or two is enough to show, and the demo stays as short as it was.
            "power": {"ups": self.ups.address, "poll_s": 1.0, "confirm_s": 0.0},
        }
        cfg = configuration.from_dict(self.raw, source="demo")
        self.rt: Runtime = build(cfg)
        self.rt.core.add_sink(self.events.put)
        self.thread = threading.Thread(target=self.rt.run, name="core", daemon=True)

    # ---- helpers ----------------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.2f}s] {text}", flush=True)

    def step(self, title: str) -> None:
        print(f"\n== {title}", flush=True)

    def state(self) -> dict[str, Any]:
        return self.command("get_status", {})

    def command(self, name: str, args: dict[str, Any], timeout: float = 60.0) -> Any:
        answer: queue.Queue = queue.Queue()
        self.rt.core.post(CommandReceived(name, args, answer.put, origin="demo"))
        reply = answer.get(timeout=timeout)
        if not reply.get("ok"):
            raise RuntimeError(f"{name}: {reply.get('error')}")
        return reply["result"]

    def wait_state(self, what: str, pred: Callable[[dict[str, Any]], bool], timeout: float) -> bool:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if pred(self.state()):
                    self.say(f"{what} (after {time.monotonic() - start:.2f} s)")
                    return True
            except (KeyError, TypeError):
                pass
            time.sleep(0.1)
        self.fail(f"{what}: not within {timeout:g} s")
        return False

    def wait_event(self, kind: str, timeout: float) -> dict[str, Any] | None:
        start = time.monotonic()
        for e in self.seen:
            if e.kind == kind:
                self.seen.remove(e)
                return e.data
        while time.monotonic() - start < timeout:
            try:
                e = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if e.kind == kind:
                self.say(f"event {kind}: {_brief(e.data)}")
                return e.data
            self.seen.append(e)
        self.fail(f"no {kind} event within {timeout:g} s")
        return None

    def led(self) -> None:
        from agent.led_status import pattern_for
        self.say(f"status LED: {pattern_for(self.state())}")

    def power_line(self) -> str:
        """The power line of `relais status`, as the agent's status shows it now."""
        from agent.status_file import render
        lines = [line.strip() for line in render({"state": self.state()}).splitlines()]
        return next((line for line in lines if line.startswith("power")), "power: not shown")

    def fail(self, why: str) -> None:
        self.failures += 1
        self.say(f"FAILED: {why}")

    # ---- the scenario -----------------------------------------------------------------------------------
    def run(self) -> int:
        print("relais demo: the backup-WAN agent on a simulated 5G modem (no hardware needed)")
        self.sim.start()
        self.rt.start()
        self.thread.start()
        try:
            self.scenario()
        finally:
            self.rt.stop()
            self.thread.join(5)
            self.sim.stop()
            self.ups.stop()
            self.tmp.cleanup()
        self.write_reports()
        print(f"\nrelais demo: {'all steps passed' if not self.failures else f'{self.failures} step(s) FAILED'}")
        return 0 if not self.failures else 1

    def scenario(self) -> None:
        self.step("1. The agent finds its modem")
        if self.wait_state("modem registered", lambda s: s["modem"].get("registration") in ("home", "roaming"), 30):
            m = self.state()["modem"]
            sig = m.get("signal", {})
            self.say(f"{m.get('manufacturer')} {m.get('model')} rev {m.get('revision')}, IMEI {m.get('imei')}")
            self.say(f"SIM slot {m.get('sim_slot')} {m.get('sim_state')}, ICCID {m.get('iccid')}; "
                     f"{m.get('registration')} on {m.get('operator_name')} ({m.get('mcc')}-{m.get('mnc')}), "
                     f"{m.get('rat')}, RSRP {sig.get('rsrp_dbm')} dBm, SINR {sig.get('sinr_db')} dB")

        self.step("2. Fiber healthy: traffic on the primary, cellular on hot standby")
        self.wait_state("primary carries the traffic",
                        lambda s: s["failover"]["active_uplink"] == "primary" and s["failover"]["links"]["primary"]
                        .get("up"), 15)
        self.led()

        self.step("3. The fiber is cut beyond the router (its port stays up: only probes can tell)")
        cut = time.monotonic()
        self.rt.uplinks.set("primary", reachable=False)
        data = self.wait_event("failover", 10)
        if data is not None:
            self.say(f"traffic moved to {data.get('to')} {time.monotonic() - cut:.2f} s after the cut "
                     f"(reason: {data.get('reason')})")
            self.say(f"route backend now: {self.rt.routes.status().get('preferred')}")
            self.led()

        self.step("4. The modem reboots on its own while it carries the traffic (USB port vanishes, comes back)")
        self.sim.fault("reboot", 1.0)
        self.wait_event("modem_reset", 10)
        self.wait_state("modem back and registered", lambda s: s["modem"].get("connected")
                        and s["modem"].get("registration") in ("home", "roaming"), 30)

        if "cellular" in self.rt.parts and len(self.sim.model.personality.sims) > 1:
            self.step("5. The operator of SIM 1 refuses registration: switch to SIM 2")
            self.sim.fault("deny", 1)
            data = self.wait_event("sim_switch", 60)
            if data is not None:
                self.wait_state("registered on SIM 2", lambda s: s["modem"].get("sim_slot") == 2
                                and s["modem"].get("registration") in ("home", "roaming"), 60)
                m = self.state()["modem"]
                self.say(f"now on {m.get('operator_name')} ({m.get('mcc')}-{m.get('mnc')}) with SIM 2")

        self.step("6. The fiber is repaired: back to the primary after the hold-down, without flapping")
        fixed = time.monotonic()
        self.rt.uplinks.set("primary", reachable=True)
        data = self.wait_event("failback", 30)
        if data is not None:
            self.say(f"traffic back on the primary {time.monotonic() - fixed:.2f} s after the repair")
            self.led()

        self.step("7. A power cut at the shop: the router, the modem and the fiber box run on the UPS")
        self.ups.set("OB", charge=97, runtime_s=2100)
        if self.wait_event("power_lost", 10) is not None:
            self.say(self.power_line())
            self.led()
            self.ups.set("OL CHRG", charge=96)
            data = self.wait_event("power_restored", 10)
            if data is not None:
                self.say(f"power back after {data.get('duration_s', 0):.1f} s: a site incident in the ledger, "
                         f"counted apart (not the operator's downtime)")

        self.step("8. A failover drill: prove the backup carries traffic, then come back")
        try:
            self.command("drill", {"duration_s": 5})
            data = self.wait_event("drill_result", 30)
            if data is not None and not data.get("ok", False):
                self.fail(f"drill reported failure: {_brief(data)}")
        except RuntimeError as e:
            self.fail(str(e))

        self.step("9. The ledger's report (the evidence for the operator)")
        try:
            print(self.command("report", {"format": "text", "lang": "en",
                                          "since": int(self.started_wall) - 1})["content"])
        except RuntimeError as e:
            self.fail(str(e))

        self.step("10. Reported to the central broker")
        reporter = self.rt.parts.get("reporter")
        pending = reporter.pending() if reporter is not None and hasattr(reporter, "pending") else None
        self.say(f"no broker reachable in this demo: {pending if pending is not None else 'all'} messages "
                 f"wait in the on-disk outbox and will be delivered in order when it is")


    def write_reports(self) -> None:
        """The period's report as HTML, JSON and CSV, and the configuration that reproduces it."""
        from types import SimpleNamespace

        from agent.config.toml_text import dump_toml
        from agent.report.cli import build_report
        self.step("11. The report, written for the owner")
        config = self.out / "config.toml"
        config.write_text("# Written by `relais demo`: `relais report --config " + str(config) + "` reads the demo's"
                          " ledger.\n" + dump_toml(self.raw))
        for fmt in ("html", "json", "csv"):
            args = SimpleNamespace(config=str(config), month=None, since=None, until=None, format=fmt, lang="fr",
                                   tz=None, claim=False, uplink=None)
            try:
                text, _ = build_report(args, now=time.time())
            except Exception as e:     # the demo says what went wrong, one line
                self.fail(f"report {fmt}: {e}")
                continue
            (self.out / f"report.{fmt}").write_text(text, encoding="utf-8")
        print(f"report: {self.out / 'report.html'} (and report.json, report.csv)")
        print(f"again:  relais report --config {config} [--format html|json|csv] [--claim]")
        from agent.plan.cli import Refused, build_plan     # the site's continuity sheet, from the same files
        try:
            plan = build_plan(SimpleNamespace(config=str(config), format="html", lang="fr"), now=time.time())
        except Refused as e:
            self.fail(f"plan: {e}")
        else:
            (self.out / "plan.html").write_text(plan, encoding="utf-8")
            print(f"plan:   {self.out / 'plan.html'} (relais plan --config {config} --format html)")


def _brief(data: dict[str, Any]) -> str:
    text = json.dumps(data, default=str)
    return text if len(text) < 160 else text[:157] + "..."


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_demo(args) -> int:
    logging.getLogger().setLevel(logging.ERROR)  # the demo narrates; the agent's own log is for `relais run`
    return Demo(args.vendor, args.fast, getattr(args, "out", "demo")).run()
