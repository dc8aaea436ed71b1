"""The console as its users see it: headless Chromium (one browser session for the module) on `relais fleet serve`
with a real Mosquitto, a real agent on the simulator and a load generator's fleet. Log in, filter, open the
agent's site, fetch its own report, force the backup with a signed `failover` and see the device's reply; each
step saves a screenshot in the test's tmp dir (CONSOLE_SCREENSHOTS=dir copies them there too, for docs/)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from agent.mqtt.config_update import dump_toml
from modem.simulator import Simulator
from tests.fleet import loadgen
from tests.fleet.cdp import Browser
from tests.fleet.conftest import QUEUE_ALL
from tests.mqtt.broker import REPO, Broker, free_port, require_mosquitto
from tests.mqtt.conftest import FAST
from tests.report.test_chromium import read_png

KEY = "k-7c1e9b04a2f35d68"
PASSWORD = "a console password"
pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console-e2e")
    require_mosquitto()
    broker = Broker(tmp / "broker", persistence=True, extra=QUEUE_ALL).start()
    keys = tmp / "keys"
    keys.mkdir()
    (keys / "site-7.key").write_text(KEY + "\n")
    port = free_port()
    fleet_toml = tmp / "fleet.toml"
    fleet_toml.write_text(f'database = "{tmp}/fleet.db"\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
                          f'client_id = "fleet-console"\n[commands]\nkeys = "{keys}"\nreply_timeout_s = 20\n'
                          f'[console]\nlisten = "127.0.0.1:{port}"\nlive_every_s = 0.5\n')
    for name, role in (("olga", "operator"),):
        added = subprocess.run([sys.executable, "-m", "agent.cli", "fleet", "user", "add", name, "--role", role,
                                "--config", str(fleet_toml)], input=PASSWORD + "\n", capture_output=True,
                               text=True, cwd=REPO, timeout=30)
        assert added.returncode == 0 and added.stdout == f"added {name} ({role})\n", added.stderr
    agent_toml = tmp / "relais.toml"
    link = str(tmp / "ttyUSB2")
    agent_toml.write_text(dump_toml({
        "device": {"id": "site-7"}, "modem": {"port": link}, "board": {"backend": "simulated", "led": "none"},
        "mqtt": {"host": broker.host, "port": broker.port, "payload": "cbor", "command_key": KEY, **FAST},
        "storage": {"dir": str(tmp / "store")}}))
    serve = subprocess.Popen([sys.executable, "-m", "agent.cli", "fleet", "serve", "--config", str(fleet_toml)],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sim = Simulator(vendor="quectel-rm500q", link=link, speed=0).__enter__()
    agent = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--config", str(agent_toml)], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    publisher = loadgen.Publisher(broker.host, broker.port, "console-loadgen")
    browser = None
    try:
        publisher.publish_all([m for i in range(20) for m in loadgen.birth(i)])
        browser = Browser(tmp / "profile", 1280, 1000)
        yield {"url": f"http://127.0.0.1:{port}", "browser": browser, "tmp": tmp, "config": fleet_toml}
    finally:
        publisher.close()
        if browser is not None:
            browser.close()
        agent.send_signal(signal.SIGKILL)
        _, agent_err = agent.communicate(timeout=10)
        sim.__exit__(None, None, None)
        serve.terminate()
        _, serve_err = serve.communicate(timeout=15)
        broker.stop()
    assert "Traceback" not in agent_err + serve_err, (agent_err + serve_err)[-3000:]


def shot(fleet, name: str):
    path = fleet["browser"].screenshot(fleet["tmp"] / f"{name}.png")
    width, height, pixels = read_png(path.read_bytes())
    assert (width, height) == (1280, 1000) and len(set(pixels[i:i + 3] for i in range(0, len(pixels), 3))) > 20
    out = os.environ.get("CONSOLE_SCREENSHOTS")
    if out:
        shutil.copy(path, out)
    return path


def test_log_in_filter_open_a_site_and_force_the_backup(fleet):
    b, url = fleet["browser"], fleet["url"]
    b.go(url + "/login")
    b.js(f"document.querySelector('[name=name]').value = 'olga';"
         f"document.querySelector('[name=password]').value = {PASSWORD!r};")
    b.click_and_wait("form[action='/login'] button", "document.getElementById('fleet') !== null")
    # the agent and the load generator's 20 devices, the agent's state in (its failover part on primary): a
    # device that joins the table while the page is open is offered as a reload link; a person would click it
    deadline = time.monotonic() + 60
    while not b.js("document.querySelectorAll('#fleet tbody tr').length === 21 && "
                   "document.querySelector('#row-site-7 td:nth-child(3)').textContent === 'primary'"):
        assert time.monotonic() < deadline, b.js("document.getElementById('fleet').textContent")
        time.sleep(0.5)
        b.go(url + "/")
    assert b.js("document.cookie") == ""   # HttpOnly: no script reads the session
    shot(fleet, "fleet-table")

    b.click_and_wait("a[data-filter=on_backup]", "location.search === '?filter=on_backup'")
    rows = b.js("[...document.querySelectorAll('#fleet tbody tr')].map(r => r.id)")
    assert rows == [f"row-site-{i:05d}" for i in range(0, 20, 5)]   # loadgen: every fifth device is on backup
    shot(fleet, "filtered")

    b.go(url + "/site/site-7")
    assert b.js("document.querySelector('svg.timeline') !== null && document.querySelector('h1').textContent")\
        == "site-7"
    identity = b.js("document.querySelector('dl').textContent")
    assert "ICCID" in identity and "quectel" in identity.lower()
    b.click_and_wait("form[action='/site/site-7/report'] button", "document.getElementById('report') !== null")
    report = b.js("document.getElementById('report').textContent")
    assert b.js("document.getElementById('report').tagName") == "PRE" and "site-7" in report, report[:500]

    b.click_and_wait("button[value=failover_force_backup]", "document.getElementById('reply') !== null", 60)
    reply = b.js("document.getElementById('reply').textContent")
    assert b.js("document.getElementById('reply').dataset.ok") == "true", reply
    assert '"mode": "force_backup"' in reply and '"ok": true' in reply
    shot(fleet, "site-reply")

    # the agent's new state reaches the open table by itself (retained state -> fleet serve -> the database ->
    # server-sent events -> the row swapped in place), then the filter has it
    b.go(url + "/")
    b.wait("document.getElementById('live').textContent.startsWith('live')", 10, "the live stream open (CSP)")
    b.wait("document.querySelector('#row-site-7 td:nth-child(3)').textContent === 'backup'", 30,
           "site-7's row on the backup, live")
    b.click_and_wait("a[data-filter=on_backup]", "location.search === '?filter=on_backup'")
    assert b.js("document.getElementById('row-site-7') !== null")
    shot(fleet, "on-backup")
