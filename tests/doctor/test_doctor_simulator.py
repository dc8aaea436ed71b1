"""Issue 12's "done when" for the doctor and the antenna view, with the real programs: `relais sim`, `relais run`,
a Mosquitto the test starts and stops, `relais sim-ctl` faults — and `relais doctor` / `relais signal` giving the
right verdicts through the running agent's console socket, and on the port when the agent is stopped."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cellular.test_relais_run import stop, wait_for
from tests.mqtt.broker import Broker, require_mosquitto

ROOT = Path(__file__).resolve().parents[2]
RELAIS = [sys.executable, "-m", "agent.cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# One SIM slot: a denied or missing SIM stays so (with two, the agent's SIM rules would switch to the other).
VENDOR = "sierra-em7455"

CONFIG = """
[device]
id = "doctor-test"
[modem]
port = "{link}"
[board]
backend = "simulated"
[storage]
dir = "{storage}"
[console]
socket = "{socket}"
[mqtt]
host = "127.0.0.1"
port = {port}
"""


def relais(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(RELAIS + list(args), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def doctor(config: Path) -> tuple[int, dict]:
    done = relais("doctor", "--config", str(config), "--json")
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    return done.returncode, {c["name"]: c for c in report["checks"]} | {"_via": report["modem_via"]}


def sim_ctl(link: Path, *fault: str) -> None:
    done = relais("sim-ctl", str(link), *fault, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("ok:"), done


def level(report: dict, name: str) -> str:
    return report[name]["level"]


class Site:
    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.link, self.storage = tmp_path / "modem", tmp_path / "var"
        self.socket = tmp_path / "console.sock"
        self.config = tmp_path / "relais.toml"
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.broker = Broker(tmp_path / "broker").start()
        self.config.write_text(CONFIG.format(link=self.link, storage=self.storage, socket=self.socket,
                                             port=self.broker.port))
        self.config.chmod(0o600)

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        self.logs.append(log)
        with open(log, "w") as out:
            proc = subprocess.Popen(RELAIS + list(args), cwd=ROOT, env=ENV, stdout=out, stderr=out)
        self.procs.append(proc)
        return proc

    def start_sim(self) -> None:
        self.spawn("sim", "sim", "--vendor", VENDOR, "--link", str(self.link), "--speed", "0.1")
        self.wait(lambda: os.path.exists(str(self.link) + ".ctl"), 20, "the simulator's control socket")

    def start_agent(self) -> subprocess.Popen:
        agent = self.spawn("agent", "-v", "run", "--config", str(self.config))
        self.wait(lambda: self.modem().get("registration") == "home" and self.socket.exists(), 60,
                  "the agent registered, its console listening")
        return agent

    def modem(self) -> dict:
        try:
            return json.loads((self.storage / "status.json").read_text())["state"].get("modem", {})
        except (FileNotFoundError, ValueError, KeyError):
            return {}

    def wait(self, predicate, timeout: float, what: str):
        return wait_for(predicate, timeout, what,
                        lambda: "\n" + "\n".join(p.read_text()[-3000:] for p in self.logs if p.exists()))

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)
        self.broker.stop()


@pytest.fixture
def site(tmp_path):
    require_mosquitto()
    s = Site(tmp_path)
    yield s
    s.close()


@pytest.mark.slow
def test_doctor_verdicts_through_the_running_agent(site):
    site.start_sim()
    agent = site.start_agent()
    code, r = doctor(site.config)
    assert r["_via"] == "agent"
    for name in ("configuration", "config file permissions", "agent", "serial port", "port users", "modem", "SIM",
                 "registration", "broker"):
        assert level(r, name) == "OK", r[name]
    assert r["port users"]["detail"].startswith("only the agent uses it") and str(agent.pid) in \
        r["port users"]["detail"]
    assert level(r, "signal") == "OK" and r["signal"]["detail"].startswith("fair: RSRP -95 dBm")
    assert "login" not in r["broker"]["detail"] and "connect accepted" in r["broker"]["detail"]

    sim_ctl(site.link, "signal", "-125")          # weak: the doctor asks the modem now, not the last poll
    code, r = doctor(site.config)
    assert code == 1 and level(r, "signal") == "FAIL" and "RSRP -125 dBm" in r["signal"]["detail"]
    assert r["signal"]["advice"] == "move the antenna out of the rack or use an external antenna"
    sim_ctl(site.link, "signal", "-105")
    code, r = doctor(site.config)
    assert level(r, "signal") == "WARN" and "antenna" in r["signal"]["advice"]
    sim_ctl(site.link, "signal", "-95")

    sim_ctl(site.link, "deny", "1")
    code, r = doctor(site.config)
    assert code == 1 and level(r, "registration") == "FAIL" and "refuses this SIM" in r["registration"]["detail"]
    sim_ctl(site.link, "allow", "1")

    sim_ctl(site.link, "sim-remove", "1")
    code, r = doctor(site.config)
    assert code == 1 and level(r, "SIM") == "FAIL" and r["SIM"]["detail"].startswith("no SIM")
    assert level(r, "registration") == "SKIP"
    sim_ctl(site.link, "sim-insert", "1")
    site.wait(lambda: doctor(site.config)[1]["registration"]["level"] == "OK", 60, "registered again")

    site.broker.stop()                            # broker down
    code, r = doctor(site.config)
    assert code == 1 and level(r, "broker") == "FAIL" and "TCP" in r["broker"]["detail"]
    assert level(r, "modem") == "OK"

    sim_ctl(site.link, "hang", "forever")
    code, r = doctor(site.config)
    assert code == 1 and level(r, "modem") == "FAIL" and "does not answer" in r["modem"]["detail"]
    assert level(r, "agent") == "OK" and all(level(r, n) == "SKIP" for n in ("SIM", "registration", "signal"))
    assert "Traceback" not in (site.tmp / "agent.log").read_text()


@pytest.mark.slow
def test_signal_watch_shows_the_change_while_the_agent_runs(site):
    site.start_sim()
    site.start_agent()
    out = site.tmp / "watch.out"
    with open(out, "w") as f:
        watch = subprocess.Popen(RELAIS + ["signal", "--watch", "--count", "8", "--config", str(site.config)],
                                 cwd=ROOT, env=ENV, stdout=f, stderr=subprocess.PIPE, text=True)
    try:
        site.wait(lambda: "fair" in out.read_text(), 20, "a first reading")
        sim_ctl(site.link, "signal", "-125")
        assert watch.wait(30) == 0
    finally:
        stop(watch)
    lines = out.read_text().splitlines()
    assert "through the agent" in watch.stderr.read()
    readings = [ln for ln in lines if not ln.strip().startswith("->")]
    assert len(readings) == 8 and "fair" in readings[0] and "RSRP -95 dBm" in readings[0]
    assert "poor" in readings[-1] and "RSRP -125 dBm" in readings[-1]
    assert any("move the antenna out of the rack" in ln for ln in lines)
    # the agent keeps the port: `relais signal` never opened it (the agent's log shows no lost port)
    assert "port_lost" not in (site.tmp / "agent.log").read_text()


@pytest.mark.slow
def test_with_the_agent_stopped_the_doctor_and_signal_ask_the_port(site):
    site.start_sim()
    code, r = doctor(site.config)
    assert r["_via"] == "port" and level(r, "agent") == "WARN"
    assert level(r, "modem") == "OK" and "on its port" in r["modem"]["detail"]
    assert level(r, "SIM") == "OK" and level(r, "registration") == "OK" and level(r, "signal") == "OK"
    sim_ctl(site.link, "signal", "-118")
    done = relais("signal", "--count", "2", "--config", str(site.config))
    assert done.returncode == 0 and "asking the modem on" in done.stderr, done
    assert done.stdout.count("poor") == 2 and "RSRP -118 dBm" in done.stdout
    # somebody else on the port: not opened, and said who
    holder = subprocess.Popen([sys.executable, "-c", f"f = open({str(site.link)!r}); print(1, flush=True); "
                               "import time; time.sleep(120)"], stdout=subprocess.PIPE)
    site.procs.append(holder)
    assert holder.stdout.readline().strip() == b"1"
    code, r = doctor(site.config)
    assert code == 1 and level(r, "port users") == "FAIL" and str(holder.pid) in r["port users"]["detail"]
    assert level(r, "modem") == "SKIP" and "in use" in r["modem"]["detail"]
    done = relais("signal", "--config", str(site.config))
    assert done.returncode == 1 and f"PID {holder.pid}" in done.stderr


@pytest.mark.slow
def test_a_hung_modem_with_the_agent_stopped_fails_modem(site):
    site.start_sim()
    sim_ctl(site.link, "hang", "forever")
    started = time.monotonic()
    code, r = doctor(site.config)
    assert code == 1 and level(r, "modem") == "FAIL" and r["_via"] == "port"
    assert time.monotonic() - started < 60
