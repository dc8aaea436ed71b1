"""The config loader: one wording for every error, constraints declared on the fields and applied to every section,
no NaN or infinity anywhere, file paths checked at load, secrets never shown, and no import back into agent/."""
from __future__ import annotations

import ast
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from agent import config
from agent.config import Config, ConfigError, from_dict, load
from agent.config.schema import File, check

ROOT = Path(__file__).resolve().parents[1]


def error(raw: dict) -> str:
    with pytest.raises(ConfigError) as e:
        from_dict(raw, source="relais.toml")
    text = str(e.value)
    assert "\n" not in text and text.startswith("relais.toml: ")
    return text.removeprefix("relais.toml: ")


# ---- one bad value per section, the exact line the operator reads -----------------------------------------------

@pytest.mark.parametrize("raw, message", [
    ({"device": {"id": "a/b"}},
     '[device] id: expected 1 to 64 printable ASCII characters without spaces, /, + or #, got "a/b"'),
    ({"device": {"id": "shop\x01"}},
     '[device] id: expected 1 to 64 printable ASCII characters without spaces, /, + or #, got "shop\\x01"'),
    ({"device": {"site": 5}}, "[device] site: expected a string, got 5"),
    ({"modem": {"baud": -5}},
     "[modem] baud: expected one of 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 3000000, got -5"),
    ({"modem": {"port": ""}}, '[modem] port: expected a non-empty string, got ""'),
    ({"modem": {"vendor": "nokia"}},
     '[modem] vendor: expected one of "auto", "quectel", "simcom", "sierra", "telit", "huawei", "ublox", '
     '"fibocom", "generic", got "nokia"'),
    ({"modem": {"pin": "12345678901"}}, "[modem] pin: expected 4 to 8 digits, got a value not shown (it is a secret)"),
    ({"modem": {"bauds": 9600}}, "[modem] bauds: expected a known key (did you mean baud?), got an unknown key"),
    ({"board": {"backend": "ifupdown"}},
     '[board] backend: expected one of "simulated", "iproute2", "networkmanager", got "ifupdown"'),
    ({"board": {"primary_interface": "eth0/1"}},
     '[board] primary_interface: expected an interface name (1 to 15 characters, no / or space), got "eth0/1"'),
    ({"board": {"led": "blink"}}, '[board] led: expected console, none, gpio or sysfs:NAME, got "blink"'),
    ({"board": {"led": "sysfs:../../power"}},
     '[board] led: expected console, none, gpio or sysfs:NAME, got "sysfs:../../power"'),
    ({"storage": {"dir": ""}}, '[storage] dir: expected a non-empty string, got ""'),
    ({"storage": {"dir": 7}}, "[storage] dir: expected a string, got 7"),
    ({"mqtt": {"reconnect_min_s": math.nan}}, "[mqtt] reconnect_min_s: expected a finite number, got nan"),
    ({"mqtt": {"reconnect_min_s": 10, "reconnect_max_s": 5}},
     "[mqtt] reconnect_max_s: expected at least reconnect_min_s (10), got 5"),
    ({"mqtt": {"topic_prefix": "relais/+/v1"}},
     '[mqtt] topic_prefix: expected non-empty topic levels without +, # or //, got "relais/+/v1"'),
    ({"mqtt": {"nat_keepalive_s": 5}}, "[mqtt] nat_keepalive_s: expected 0 (off) or an integer from 10 to 7200, got 5"),
    ({"mqtt": {"telemetry_qos": 2}}, "[mqtt] telemetry_qos: expected one of 0, 1, got 2"),
    ({"mqtt": {"at_allowlist": ["AT+CSQ", "AT+CFUN=0;+CSQ"]}},
     '[mqtt] at_allowlist: expected commands starting with AT, without ; CR or LF in every item, '
     'got "AT+CFUN=0;+CSQ"'),
    ({"probes": {"interval_s": math.inf}}, "[probes] interval_s: expected a finite number, got inf"),
    ({"probes": {"dns_name": " "}}, '[probes] dns_name: expected a non-empty string, got " "'),
    ({"failover": {"degraded_loss_pct": 0}},
     "[failover] degraded_loss_pct: expected a number above 0 and at most 100, got 0"),
    ({"cellular": {"sim_slots": [1, 9]}}, "[cellular] sim_slots: expected an integer from 1 to 8 in every item, got 9"),
    ({"cellular": {"sim": {"slot": 1}}},
     "[cellular] sim: expected tables ([[cellular.sim]]), got a table"),
    ({"cellular": {"rules": {"weak_signal": {"sinr_db": 50}}}},
     "[cellular.rules.weak_signal] sinr_db: expected a number from -30 to 40, got 50"),
    ({"cellular": {"ladder": "off"}}, '[cellular] ladder: expected a table, got "off"'),
    ({"usage": {"warn_pct": 100}}, "[usage] warn_pct: expected a number of at least 0 and below 100, got 100"),
    ({"sms": {"send_retries": 11}}, "[sms] send_retries: expected an integer from 0 to 10, got 11"),
    ({"time": {"modem_time": 1}}, "[time] modem_time: expected true or false, got 1"),
    ({"mqtt": 5}, "[mqtt]: expected a table, got 5"),
    ({"modems": {}}, "[modems]: expected a known section (did you mean modem?), got an unknown section"),
])
def test_a_bad_value_in_each_section_is_one_exact_line(raw, message):
    assert error(raw) == message


def test_every_section_declares_constraints():
    # Not one section may be left to free text: each has at least one field with a marker or a Literal type.
    def constrained(cls) -> bool:
        hints = typing.get_type_hints(cls, include_extras=True)
        return any("Annotated" in repr(h) or "Literal" in repr(h) for h in hints.values())
    for f in dataclasses.fields(Config):
        if f.name != "source":
            assert constrained(_table_class(typing.get_type_hints(Config)[f.name])), f.name


def _table_class(hint):
    """A section's class; for an array of tables ([[services]]), its item's."""
    return typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint


# ---- NaN and infinity, for every float key of every section (issue 10, defect 7) --------------------------------

def float_keys(cls=Config, path=()):
    """(path of tables, key) for every float field, nested tables and [[cellular.sim]] included."""
    for f in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(hint):
            yield from float_keys(hint, path + (f.name,))
        elif typing.get_origin(hint) is tuple and dataclasses.is_dataclass(typing.get_args(hint)[0]):
            yield from float_keys(typing.get_args(hint)[0], path + (f.name + "[]",))
        elif hint is float:
            yield path, f.name


FLOAT_KEYS = list(float_keys())


def nest(path, key, value) -> dict:
    raw: dict = {key: value}
    for name in reversed(path):
        raw = {name[:-2]: [dict(raw, slot=1)]} if name.endswith("[]") else {name: raw}
    return raw


def test_there_are_float_keys_in_most_sections():
    assert len(FLOAT_KEYS) > 60
    assert {p[0] for p, _ in FLOAT_KEYS} >= {"board", "mqtt", "probes", "failover", "cellular", "usage", "sms", "time"}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_no_float_key_takes_nan_or_infinity(value):
    for path, key in FLOAT_KEYS:
        section = ".".join(p.removesuffix("[]") + (" #1" if p.endswith("[]") else "") for p in path)
        assert error(nest(path, key, value)) == f"[{section}] {key}: expected a finite number, got {value!r}"


# ---- defaults obey their own declarations -----------------------------------------------------------------------

def test_every_default_passes_its_own_constraints():
    def walk(cls):
        hints = typing.get_type_hints(cls, include_extras=True)
        obj = cls()
        for f in dataclasses.fields(cls):
            default = getattr(obj, f.name)
            if dataclasses.is_dataclass(default):
                walk(type(default))
                continue
            hint = hints[f.name]
            markers = typing.get_args(hint)[1:] if typing.get_origin(hint) is typing.Annotated else ()
            if default is None or any(isinstance(m, File) for m in markers) or f.name == "slot":
                continue   # paths depend on the machine; a SimConfig's slot is always given
            raw = list(default) if isinstance(default, tuple) else default
            assert check(hint, raw) == default, (cls.__name__, f.name)
    for f in dataclasses.fields(Config):
        hint = typing.get_type_hints(Config)[f.name]
        if f.name != "source" and dataclasses.is_dataclass(hint):   # [[services]] items have no defaults to check
            walk(hint)
    from_dict({})   # and their cross-key checks


def test_a_nested_table_keeps_the_defaults_of_its_place():
    # SimRules gives each rule its own duration; a rule table that only switches it off must not reset it to the
    # class default (60 s).
    rules = from_dict({"cellular": {"rules": {"sim_failure": {"enabled": False}, "data_cap": {}}}}).cellular.rules
    assert (rules.sim_failure.enabled, rules.sim_failure.duration_s) == (False, 20.0)
    assert rules.data_cap.duration_s == 0.0 and rules.no_registration.duration_s == 120.0


# ---- secrets ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pin", ['1111";+CFUN=0;"', "12'34", "1234;", '"', "12 34 56", "123456789", "１２３４"])
def test_a_bad_modem_pin_is_refused_and_never_shown(tmp_path, pin):
    path = tmp_path / "relais.toml"
    path.write_text(f"[modem]\npin = {json.dumps(pin)}\n", encoding="utf-8")     # a TOML basic string
    with pytest.raises(ConfigError) as e:
        load(path)
    message = str(e.value)
    assert message == f"{path}: [modem] pin: expected 4 to 8 digits, got a value not shown (it is a secret)"
    assert pin not in message and "CFUN" not in message


def test_a_good_modem_pin_is_a_secret():
    cfg = from_dict({"modem": {"pin": "0042"}})
    assert cfg.modem.pin.value == "0042" and "0042" not in repr(cfg)
    assert from_dict({"modem": {"pin": 1234}}).modem.pin.value == "1234"


def test_a_secret_of_the_wrong_type_is_not_shown():
    assert error({"mqtt": {"password": ["hunter2"]}}) == \
        "[mqtt] password: expected a string, got a value not shown (it is a secret)"


# ---- names the operator may still use ---------------------------------------------------------------------------

def test_the_legacy_backend_name_sim_reads_as_simulated():
    assert from_dict({"board": {"backend": "sim"}}).board.backend == "simulated"
    assert from_dict({"board": {"backend": "simulated"}}).board.backend == "simulated"


@pytest.mark.parametrize("board", [
    {}, {"backend": "iproute2"}, {"backend": "networkmanager"}, {"preferred_metric": 20}, {"standby_metric": 5},
    {"preferred_metric": 0}, {"standby_metric": 2**32}, {"backend": "iproute2", "primary_table": 253},
    {"backend": "iproute2", "backup_table": 0}, {"backend": "iproute2", "backup_table": 101},
    {"backend": "iproute2", "primary_table": 2**32}, {"backend": "iproute2", "backup_gateway": "gateway.isp"},
    {"backend": "iproute2", "primary_gateway": "192.0.2.1", "backup_table": 7},
    {"backend": "iproute2", "primary_gateway": "2001:db8::1"},
    {"backend": "iproute2", "primary_gateway6": "fe80::1"}, {"backend": "iproute2", "backup_gateway6": "ff02::2"},
    {"backend": "iproute2", "backup_gateway6": "192.0.2.1"}, {"backend": "iproute2", "primary_gateway6": "::"},
    {"backend": "iproute2", "ipv6": False}, {"backend": "iproute2", "primary_gateway6": "fe80::1%wan0"},
])
def test_the_loader_and_the_route_backends_agree(board):
    # The loader does not import the backends (pyroute2 is 18 MB); what it accepts they must accept, and what
    # they refuse it must refuse.
    from board.routes import RouteError, check_options
    try:
        cfg = from_dict({"board": board}).board
    except ConfigError:
        merged = {**dataclasses.asdict(config.BoardConfig()), **board}
        options = dataclasses.replace(config.BoardConfig(), **merged).route_options()
        with pytest.raises(RouteError):
            check_options(merged["backend"], **options)
    else:
        check_options(cfg.backend, **cfg.route_options())


def test_pdp_types_are_the_modems():
    from agent.config.cellular import PDP_TYPES
    from modem.device import PDP_TYPES as MODEM_PDP_TYPES
    assert tuple(PDP_TYPES) == tuple(MODEM_PDP_TYPES)


def test_vendor_names_are_the_plugins():
    from modem.vendors import NAMES
    for name in ("auto", *NAMES):
        assert from_dict({"modem": {"vendor": name}}).modem.vendor == name


# ---- files: certificates, keys, the storage directory, the modem port -------------------------------------------

def test_tls_files_must_exist_and_be_files(tmp_path):
    pem = tmp_path / "ca.pem"
    pem.write_text("PEM")
    assert from_dict({"mqtt": {"tls": True, "ca": str(pem)}}).mqtt.ca == str(pem)
    missing = tmp_path / "nope.pem"
    for key in ("ca", "cert", "key"):
        assert error({"mqtt": {"tls": True, key: str(missing)}}) == \
            f'[mqtt] {key}: expected a readable file, got "{missing}" (no such file)'
        assert error({"mqtt": {"tls": True, key: str(tmp_path)}}) == \
            f'[mqtt] {key}: expected a readable file, got "{tmp_path}" (not a file)'


def test_an_apn_database_written_must_exist(tmp_path):
    assert error({"cellular": {"apn_database": str(tmp_path / "x.xml")}}) == \
        f'[cellular] apn_database: expected a readable file, got "{tmp_path / "x.xml"}" (no such file)'


def test_an_unreadable_key_is_named(tmp_path):
    key = tmp_path / "device.key"
    key.write_text("KEY")
    key.chmod(0)
    script = ("from agent.config import ConfigError, from_dict\n"
              "try:\n    from_dict({'mqtt': {'tls': True, 'ca': %r}})\n"
              "except ConfigError as e:\n    print(e)\n" % str(key))
    # Root reads any file whatever its mode: as root, drop every capability (CAP_DAC_OVERRIDE included) the way a
    # service user without them is, in a subprocess; as another user, just run it.
    prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all"] if os.geteuid() == 0 else []
    done = subprocess.run(prefix + [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.strip() == \
        f'<dict>: [mqtt] ca: expected a readable file, got "{key}" (not readable by this user)', done.stderr


def test_storage_dir_only_refuses_empty(tmp_path):
    # A dir that is a file, read-only or full is a storage fault the agent runs through on memory
    # (tests/faults/test_storage.py); refusing to start would leave the site without failover.
    assert from_dict({"storage": {"dir": str(tmp_path)}}).storage.dir == str(tmp_path)
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert from_dict({"storage": {"dir": str(a_file)}}).storage.dir == str(a_file)
    assert error({"storage": {"dir": ""}}).startswith("[storage] dir: expected")


def test_a_modem_port_not_there_yet_is_fine():
    # USB enumeration may come after the agent starts; the port thread retries. Only an empty name is an error.
    assert from_dict({"modem": {"port": "/dev/serial/by-id/not-plugged-in"}}).modem.port.endswith("not-plugged-in")


# ---- relais run on a bad config ---------------------------------------------------------------------------------

def test_relais_run_prints_one_line_and_exits_2(tmp_path):
    path = tmp_path / "relais.toml"
    path.write_text("[modem]\nbaud = -5\n")
    out = subprocess.run([sys.executable, "-m", "agent.cli", "run", "--config", str(path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert out.stderr == (f"relais: {path}: [modem] baud: expected one of 9600, 19200, 38400, 57600, 115200, "
                          f"230400, 460800, 921600, 3000000, got -5\n")
    assert out.stdout == ""


def test_relais_run_names_a_missing_led_in_the_same_words(tmp_path):
    # Whether /sys/class/leds/<name> exists is only known on the board: the runtime says it like the loader.
    path = tmp_path / "relais.toml"
    path.write_text(f'[modem]\nport = "{tmp_path}/no-modem"\n[board]\nled = "sysfs:no-such-led"\n'
                    f'[storage]\ndir = "{tmp_path}/storage"\n[mqtt]\nhost = "127.0.0.1"\nport = 1\n')
    out = subprocess.run([sys.executable, "-m", "agent.cli", "run", "--config", str(path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith(f'relais: {path}: [board] led: expected an LED this board has, got '
                                 f'"sysfs:no-such-led" (no LED ')
    assert out.stderr.count("\n") == 1


# ---- import direction -------------------------------------------------------------------------------------------

def test_config_imports_nothing_else_from_agent():
    for source in (ROOT / "agent" / "config").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith("agent") or name.startswith("agent.config"), (source.name, name)


def test_loading_a_full_config_loads_no_other_agent_module(tmp_path):
    code = ("import sys; from agent.config import from_dict; "
            "from_dict({'board': {'backend': 'iproute2', 'power_gpio': 'sysfs:3'}, 'modem': {'vendor': 'quectel'}, "
            "'sms': {'alert_numbers': ['+33612345678']}, 'probes': {'targets': ['tcp:1.1.1.1:443']}}); "
            "print(sorted(m for m in sys.modules if m.startswith('agent') and not m.startswith('agent.config')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "['agent']", out.stderr


# ---- anything in, a Config or one ConfigError out ---------------------------------------------------------------

SECTIONS = {f.name: typing.get_type_hints(Config)[f.name] for f in dataclasses.fields(Config) if f.name != "source"}
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(), st.text(max_size=20))
values = st.recursive(scalars.filter(lambda v: v is not None), lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=8)


@st.composite
def raw_configs(draw):
    raw = {}
    for name in draw(st.lists(st.sampled_from(sorted(SECTIONS) + ["bogus"]), max_size=4, unique=True)):
        cls = SECTIONS.get(name)
        keys = [f.name for f in dataclasses.fields(_table_class(cls))] if cls else ["x"]
        table = st.dictionaries(st.sampled_from(keys + ["typo"]), values, max_size=5)
        raw[name] = draw(st.lists(table, max_size=3) if cls is not _table_class(cls) else table)
    return raw


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_configs())
def test_any_input_gives_a_config_or_one_clear_line(raw):
    try:
        cfg = from_dict(raw, source="fuzz.toml")
    except ConfigError as e:
        text = str(e)
        assert text.startswith("fuzz.toml: [") and "\n" not in text and ": expected " in text and ", got " in text
    else:
        assert isinstance(cfg, config.Config)


toml_lines = st.one_of(
    st.sampled_from(["[modem]", "[mqtt]", "[[cellular.sim]]", "[cellular.rules.roaming]", "[board]", "[nope]", "["]),
    st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(["baud", "port", "pin", "keepalive", "slot", "host", "x",
                                                          "reconnect_min_s", "dir", "backend", "a.b"]),
              st.sampled_from(["nan", "inf", "-5", "1e400", '""', '"sim"', "[1, [2]]", "{a = 1}", "true",
                               "1979-05-27", '"\\u0000"', "0x10", "'a\\'b'", "9600"])),
    st.text(max_size=30))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(toml_lines, max_size=8))
def test_any_file_gives_a_config_or_one_clear_line(tmp_path, lines):
    path = tmp_path / "fuzz.toml"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    try:
        load(path)
    except ConfigError as e:
        assert str(e).startswith(f"{path}: ") and "\n" not in str(e).rstrip("\n")


@pytest.mark.parametrize("key", ["mqtt.ca", "mqtt.cert"])
def test_a_path_the_system_refuses_is_one_line(key):
    # Found by `make fuzz` (config): a 300-character name made Path.exists() raise ENAMETOOLONG.
    section, name = key.split(".")
    raw = {section: {name: "x" * 300}}
    if section == "mqtt":
        raw["mqtt"]["tls"] = True
    assert "(File name too long)" in error(raw)
