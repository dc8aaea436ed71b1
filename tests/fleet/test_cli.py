"""`relais fleet serve` and `relais fleet ls` as processes: killed with -9 in the middle of a stream, started
again, nothing the broker accepted is missing; the listing and its filters; bad configuration in one line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from fleet.db import FleetDb
from tests.fleet.conftest import write_fleet_toml
from tests.fleet.loadgen import Publisher, birth, stream
from tests.fleet.postgres import wait_for

RELAIS = [sys.executable, "-m", "agent.cli"]


def relais(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*RELAIS, *args], capture_output=True, text=True, timeout=timeout)


def serve(config) -> subprocess.Popen:
    return subprocess.Popen([*RELAIS, "fleet", "serve", "--config", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def rows(db: FleetDb) -> int:
    return db.count("events") + db.count("telemetry")


@pytest.mark.mosquitto
def test_serve_killed_mid_stream_loses_nothing(tmp_path, broker):
    database = str(tmp_path / "fleet.db")
    config = write_fleet_toml(tmp_path / "fleet.toml", database, broker)
    devices = 200
    messages = [m for i in range(devices) for m in birth(i)] + list(stream(devices, 30))
    keys = {m.key for m in messages if m.key}
    proc = serve(config)
    try:
        db = FleetDb(database)
        wait_for(lambda: os.path.exists(database) and "fleet-cli" in broker.tail(5), 20, "fleet serve connected")
        pub = Publisher(broker.host, broker.port)
        publishing = threading.Thread(target=pub.publish_all, args=(messages,))
        publishing.start()
        wait_for(lambda: rows(db) > 500, 30, "the first rows")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        at_kill = rows(db)
        publishing.join(120)          # the devices go on publishing: the broker queues for the dead session
        proc = serve(config)
        wait_for(lambda: rows(db) >= len(keys), 60, f"{len(keys)} rows")
        stored = set(db.query("SELECT device_id, seq FROM events UNION ALL SELECT device_id, seq FROM telemetry"))
        assert stored == keys and rows(db) == len(keys)
        assert at_kill < len(keys), "the kill came after everything was stored: it tested nothing"
        pub.close()
        db.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert "Traceback" not in err


def test_ls_and_its_filters(tmp_path):
    from fleet.messages import parse
    from tests.fleet.loadgen import Outgoing
    database = str(tmp_path / "fleet.db")
    db = FleetDb(database).connect()
    outgoing: list[Outgoing] = [m for i in range(10) for m in birth(i)]
    outgoing[0] = Outgoing(outgoing[0].topic, b"offline", None)            # site-00000 says offline
    db.store([parse(m.topic, m.payload) for m in outgoing], received=1000.0)
    db.close()
    config = tmp_path / "fleet.toml"
    config.write_text(f'database = "{database}"\n')
    listed = relais("fleet", "ls", "--config", str(config), "--json")
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    assert [d["site"] for d in doc] == [f"site-{i:05d}" for i in range(10)]
    assert doc[3]["operator"] == "Orange F" and doc[3]["rsrp_dbm"] == -83 and doc[3]["uplink"] == "primary"
    backup = relais("fleet", "ls", "--config", str(config), "--filter", "on_backup")
    assert [line.split()[0] for line in backup.stdout.splitlines()[1:]] == ["site-00000", "site-00005"]
    both = relais("fleet", "ls", "--config", str(config), "--filter", "on_backup", "--filter", "offline")
    assert [line.split()[0] for line in both.stdout.splitlines()[1:]] == ["site-00000"]
    poor = json.loads(relais("fleet", "ls", "--config", str(config), "--filter", "poor_signal", "--json").stdout)
    assert poor == []   # loadgen's RSRP goes down to -89 for ten devices: none is poor


@pytest.mark.parametrize("text, line", [
    ('database = ""\n', "fleet.toml: database: expected a file path or a postgresql:// URL, got ''"),
    ('[mqtt]\nport = 70000\n', "fleet.toml: [mqtt] port: expected an integer from 0 to 65535, got 70000"),
    ('[mqtt]\npasword = "x"\n', "fleet.toml: [mqtt] pasword: unknown key (did you mean 'password'?)"),
    ('[mqtt]\npassword = 5\n', "fleet.toml: [mqtt] password: expected a string, got ***"),
    ('[ingest]\nbatch_wait_s = nan\n', "fleet.toml: [ingest] batch_wait_s: expected a number from 0 to 10, got nan"),
    ('mqtt = 3\n', "fleet.toml: [mqtt]: expected a table, got int"),
    ('[mqtt\n', "fleet.toml: not valid TOML: "),
])
def test_a_bad_config_is_one_line(tmp_path, text, line):
    config = tmp_path / "fleet.toml"
    config.write_text(text)
    r = relais("fleet", "ls", "--config", str(config))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"relais fleet ls: {tmp_path}/{line}") and r.stderr.count("\n") == 1, r.stderr


def test_an_unreachable_database_is_one_line(tmp_path):
    config = tmp_path / "fleet.toml"
    config.write_text('database = "postgresql://fleet:pw@127.0.0.1:1/relais"\n')
    r = relais("fleet", "ls", "--config", str(config))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "pw" not in r.stderr.replace("postgresql", "")
    assert r.stderr.startswith("relais fleet ls: postgresql://fleet@127.0.0.1:1/relais: ")


def test_the_agent_without_the_fleet_side(tmp_path):
    """The router packages ship agent/, modem/, board/, common/ and no fleet/: `relais` starts, and `relais fleet`
    says in one line that the fleet side is not there. -S: no site-packages, so not this checkout's editable
    install; cwd: not this checkout either."""
    import shutil
    from tests.mqtt.broker import REPO
    for package in ("agent", "modem", "board", "common"):
        shutil.copytree(REPO / package, tmp_path / package)
    run = "import sys; sys.path.insert(0, sys.argv[1]); from agent.cli import main; sys.exit(main(sys.argv[2:]))"

    def relais_alone(*args):
        return subprocess.run([sys.executable, "-S", "-c", run, str(tmp_path), *args], capture_output=True,
                              text=True, timeout=30, cwd=tmp_path)
    helped = relais_alone("--help")
    assert helped.returncode == 0 and " run " in helped.stdout
    refused = relais_alone("fleet", "ls")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("relais fleet: the fleet side is not installed with this package")
    assert refused.stderr.count("\n") == 1


def test_the_agent_loads_nothing_of_the_fleet_side():
    """`relais run` and the other agent commands build the parser: it must not import fleet/ (128 MB routers)."""
    probe = ("import sys; from agent.cli import _build_parser; _build_parser(); "
             "print(sorted(m for m in sys.modules if m == 'fleet' or m.startswith('fleet.')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_serve_refuses_a_bad_device_list_in_one_line(tmp_path):
    devices = tmp_path / "devices.txt"
    devices.write_text("shop-1\nshop 2\n")
    config = tmp_path / "fleet.toml"
    config.write_text(f'database = "{tmp_path}/f.db"\n[ingest]\ndevices = "{devices}"\n')
    r = relais("fleet", "serve", "--config", str(config))
    assert r.returncode == 2
    assert r.stderr == f"relais fleet serve: [ingest] devices: {devices}:2: 'shop 2' is not a device id " \
                       f"(1-64 of A-Z a-z 0-9 _ . : -)\n"
    config.write_text(f'[ingest]\ndevices = "{tmp_path}/none.txt"\n')
    r = relais("fleet", "serve", "--config", str(config))
    assert r.returncode == 2 and r.stderr.count("\n") == 1   # the value is shown, cut to 60 characters
    assert r.stderr.startswith(f"relais fleet serve: {config}: [ingest] devices: expected \"\" or a readable file, "
                               f"got '{str(tmp_path)[:40]}")


def test_the_fleet_toml_in_docs_fleet_md_loads(tmp_path):
    """The example in docs/fleet.md is a valid fleet.toml with every key there is (its file paths made real)."""
    import re
    import tomllib
    from dataclasses import fields
    from fleet.config import _SECTIONS, FleetConfig, from_dict
    from tests.mqtt.broker import REPO
    text = (REPO / "docs" / "fleet.md").read_text()
    doc = tomllib.loads(re.search(r"## fleet.toml\n\n```toml\n(.*?)```", text, re.S).group(1))
    for key in ("ca", "cert", "key"):
        (tmp_path / key).write_text("")
        doc["mqtt"][key] = str(tmp_path / key)
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    doc["commands"]["keys"] = str(keys_dir)
    config = from_dict(doc)
    assert config.mqtt.tls is True and config.database.endswith("fleet.db")
    documented = {(s, k) for s, table in doc.items() if isinstance(table, dict) for k in table}
    documented |= {("", k) for k, v in doc.items() if not isinstance(v, dict)}
    every = {(name, f.name) for name, cls in _SECTIONS.items() for f in fields(cls)}
    every |= {("", f.name) for f in fields(FleetConfig) if f.name not in _SECTIONS}
    every -= {("", "correlate"), ("", "alerts")}     # their own example: "Configuration (fleet.toml)" below
    commented = set(re.findall(r"^# (\w+) = ", re.search(r"```toml\n(.*?)```", text, re.S).group(1), re.M))
    assert every - documented == {("mqtt", k) for k in commented}


def test_the_shipped_unit_runs_fleet_serve_as_documented():
    """packaging/relais-fleet.service: its ExecStart is a `relais fleet serve` the CLI parses, with the config where
    docs/fleet.md puts it, and the database's default directory is the unit's StateDirectory."""
    import configparser
    import shlex
    from fleet.cli import DEFAULT_CONFIG, build_parser
    from fleet.config import FleetConfig
    from tests.mqtt.broker import REPO
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(REPO / "packaging" / "relais-fleet.service")
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[0].endswith("/relais") and argv[1] == "fleet"
    args = build_parser().parse_args(argv[2:])
    assert (args.fleet_cmd, args.config) == ("serve", DEFAULT_CONFIG)
    assert FleetConfig.database.startswith(f"/var/lib/{unit['Service']['StateDirectory']}/")
    assert DEFAULT_CONFIG.startswith(f"/etc/{unit['Service']['ConfigurationDirectory']}/")
    assert unit["Service"]["Restart"] == "always"     # serve exits 1 for a restart when its writer dies
