"""`relais config check` and `relais config show`, run as the technician runs them (a subprocess), and
docs/config.md kept equal to what agent.config.doc generates from the dataclasses."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from agent.config import Config, ConfigError, Secret, from_dict, load
from agent.config.loader import problems
from agent.config.render import MASK, as_dict, to_toml
from tests.test_config import raw_configs

ROOT = Path(__file__).resolve().parents[1]


def relais(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def write(tmp_path: Path, text: str, name: str = "relais.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- check ------------------------------------------------------------------------------------------------------

def test_check_says_ok_for_a_good_file(tmp_path):
    path = write(tmp_path, '[modem]\nport = "/dev/ttyUSB3"\n[mqtt]\nhost = "broker.example"\n')
    out = relais("config", "check", str(path))
    assert (out.returncode, out.stdout, out.stderr) == (0, f"{path}: OK\n", "")


BAD = """\
[modem]
baud = -5
portt = "/dev/ttyUSB2"
pin = "12"

[board]
standby_metric = 5

[mqtt]
command_key = 1.5
keepalive = 3

[[cellular.sim]]
slot = 9

[modems]
"""


def test_check_lists_every_problem_by_section_and_key(tmp_path):
    path = write(tmp_path, BAD)
    out = relais("config", "check", str(path))
    assert out.returncode == 1
    assert out.stdout.splitlines() == [
        f"{path}: [modem] baud: expected one of 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, "
        "3000000, got -5",
        f"{path}: [modem] portt: expected a known key (did you mean port?), got an unknown key",
        f"{path}: [modem] pin: expected 4 to 8 digits, got a value not shown (it is a secret)",
        f"{path}: [board] standby_metric: expected a metric above preferred_metric (10), got 5",
        f"{path}: [mqtt] command_key: expected a string, got a value not shown (it is a secret)",
        f"{path}: [mqtt] keepalive: expected an integer from 10 to 65535, got 3",
        f"{path}: [cellular.sim #1] slot: expected an integer from 1 to 8, got 9",
        f"{path}: [modems]: expected a known section (did you mean modem?), got an unknown section",
    ]
    assert out.stderr == f"{path}: 8 problems\n"
    assert "1.5" not in out.stdout and '"12"' not in out.stdout


def test_check_gives_the_error_the_agent_gives_first(tmp_path):
    # `relais run` stops at the first problem; `config check` must name that one too, in the same words.
    path = write(tmp_path, BAD)
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert relais("config", "check", str(path)).stdout.splitlines()[0] == str(refused.value)
    run = relais("run", "--config", str(path))
    assert (run.returncode, run.stderr) == (2, f"relais: {refused.value}\n")


@pytest.mark.parametrize("raw", [
    {"modem": {"baud": 9601}},
    {"board": {"preferred_metric": 30}},                      # only the cross-key check fails
    {"cellular": {"sim": [{"slot": 3}]}},                     # cross-key, in the parent table
    {"cellular": {"rules": {"weak_signal": {"sinr_db": 50}}}},
    {"sms": {"command_numbers": ["+33612345678"]}},
    {"mqtt": 5},
    {"probes": {"targets": ["1.1.1.1", "example.com"]}},
])
def test_one_problem_is_reported_once_and_as_the_agent_words_it(raw):
    with pytest.raises(ConfigError) as refused:
        from_dict(raw, source="f")
    assert problems(Config, raw, "f") == [str(refused.value)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_configs())
def test_collecting_agrees_with_the_agent_on_any_input(raw):
    # No problem found that the agent would not refuse, none missed, and the first one in the agent's words.
    found = problems(Config, raw, "fuzz.toml")
    try:
        from_dict(raw, source="fuzz.toml")
    except ConfigError as e:
        assert found and found[0] == str(e)
        assert all(line.startswith("fuzz.toml: [") and "\n" not in line and ", got " in line for line in found)
        assert len(set(found)) == len(found)          # each key once: [[tables]] items are numbered
    else:
        assert found == []


def test_a_wrong_key_does_not_make_its_table_judge_defaults():
    # [cellular.sim] slot 9 is wrong and left at its default (0): [cellular]'s own check must not then also say
    # "slot 0 is not one of sim_slots", a problem the operator did not write.
    raw = {"cellular": {"sim_slots": [1], "sim": [{"slot": 9}, {"slot": 1, "apn": "a b"}]}}
    found = problems(Config, raw, "f")
    assert [line.split(":")[1].strip() for line in found] == ["[cellular.sim #1] slot", "[cellular.sim #2] apn"]


def test_a_good_config_has_no_problems():
    assert problems(Config, {"modem": {"pin": "1234"}, "cellular": {"sim": [{"slot": 2}]}}, "f") == []


@pytest.mark.parametrize("text, reason", [
    (None, "no such file"),
    ("[modem\n", "not valid TOML"),
    (b"\xff\xfe[modem]\n", "cannot read"),
])
def test_check_exits_2_on_a_file_it_cannot_read(tmp_path, text, reason):
    path = tmp_path / "relais.toml"
    if isinstance(text, str):
        path.write_text(text)
    elif text is not None:
        path.write_bytes(text)
    out = relais("config", "check", str(path))
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith(f"relais: {path}: {reason}") and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr


# ---- show -------------------------------------------------------------------------------------------------------

FULL = """\
[device]
id = "rack-7"
site = "Julien's \\"shop\\"\\tback room é"

[modem]
pin = "7391"

[mqtt]
password = "hunter22"
command_key = "k3y-material"
at_allowlist = ["AT+CSQ"]

[cellular]
sim_slots = [2, 1]
preferred_plmns = ["20801"]

[[cellular.sim]]
slot = 1
apn = "orange"
pin = "4321"

[[cellular.sim]]
slot = 2
roaming = true

[cellular.rules.weak_signal]
rsrp_dbm = -115

[sms]
command_numbers = ["+33612345678"]
pin = "s3cret-pin"

[probes]
targets = ["tcp:1.1.1.1:443", "9.9.9.9"]
"""
SECRETS = ("7391", "hunter22", "k3y-material", "4321", "s3cret-pin")


def _put_secrets_back(shown: dict, config: Config) -> dict:
    """The shown tree with each "***" replaced by the secret it stands for, read from the config itself."""
    def walk(node, obj):
        if isinstance(node, dict):
            for key, value in node.items():
                if value == MASK:
                    secret = getattr(obj, key)
                    assert isinstance(secret, Secret), key
                    node[key] = secret.value
                else:
                    walk(value, getattr(obj, key))
        elif isinstance(node, list):
            for item, sub in zip(node, obj):
                walk(item, sub)
    walk(shown, config)
    return shown


def test_show_fills_in_every_default_and_masks_secrets(tmp_path):
    path = write(tmp_path, FULL)
    out = relais("config", "show", "--config", str(path))
    assert out.returncode == 0, out.stderr
    for secret in SECRETS:
        assert secret not in out.stdout
    shown = tomllib.loads(out.stdout)
    assert shown["mqtt"]["command_key"] == MASK and shown["sms"]["pin"] == MASK
    assert shown["cellular"]["sim"][0]["pin"] == MASK and "pin" not in shown["cellular"]["sim"][1]
    assert shown["failover"]["hold_down_s"] == 10.0                # a section the file does not mention
    assert shown["cellular"]["rules"]["weak_signal"] == {"enabled": True, "rsrp_dbm": -115.0, "sinr_db": -5.0,
                                                         "duration_s": 300.0}
    assert shown["cellular"]["rules"]["sim_failure"]["duration_s"] == 20.0    # the default of its place
    _every_key_is_there(shown, load(path))


def _every_key_is_there(shown: dict, obj) -> None:
    for f in dataclasses.fields(obj):
        if f.name == "source":
            continue
        value = getattr(obj, f.name)
        if value is None:            # an unset secret: a comment, TOML has no null
            assert f.name not in shown
            continue
        assert f.name in shown, f"{type(obj).__name__}.{f.name} not shown"
        if dataclasses.is_dataclass(value):
            _every_key_is_there(shown[f.name], value)


def test_shown_toml_with_secrets_put_back_loads_to_the_same_config(tmp_path):
    path = write(tmp_path, FULL)
    original = load(path)
    out = relais("config", "show", "--config", str(path))
    restored = write(tmp_path, to_toml_text(_put_secrets_back(tomllib.loads(out.stdout), original)), "back.toml")
    assert dataclasses.replace(load(restored), source="x") == dataclasses.replace(original, source="x")
    # the secrets came back as secrets, not as plain strings that would print
    assert isinstance(load(restored).mqtt.command_key, Secret)


def to_toml_text(tree: dict, prefix: str = "") -> str:
    """A parsed TOML tree written back (Python has no TOML writer); values through render.toml_value."""
    from agent.config.render import toml_value
    lines, tables = [], []
    for key, value in tree.items():
        if isinstance(value, dict):
            tables.append((f"[{prefix}{key}]", value, f"{prefix}{key}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            tables += [(f"[[{prefix}{key}]]", v, f"{prefix}{key}.") for v in value]
        else:
            lines.append(f"{key} = {toml_value(value)}")
    text = "\n".join(lines) + "\n"
    for header, value, sub in tables:
        text += f"{header}\n" + to_toml_text(value, sub)
    return text


def test_the_defaults_shown_load_back_to_the_defaults():
    text = to_toml(Config())
    assert dataclasses.replace(from_dict(tomllib.loads(text)), source="x") == dataclasses.replace(Config(), source="x")


def test_a_default_file_absent_here_is_shown_as_a_comment(monkeypatch):
    # Written out, a path that does not exist would be refused by the loader; as a default it means "none here".
    from agent.config import cellular
    missing = "/nonexistent/serviceproviders.xml"
    fields = {f.name: f for f in dataclasses.fields(cellular.CellularConfig)}
    monkeypatch.setattr(fields["apn_database"], "default", missing)
    config = Config(cellular=cellular.CellularConfig(apn_database=missing))
    text = to_toml(config)
    assert f'# apn_database = "{missing}"' in text
    from_dict(tomllib.loads(text))      # loads


def test_show_json_is_the_masked_tree(tmp_path):
    path = write(tmp_path, FULL)
    out = relais("config", "show", "--config", str(path), "--json")
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown == as_dict(load(path))
    assert shown["modem"]["pin"] == MASK and shown["mqtt"]["username"] == ""
    assert shown["device"]["site"] == 'Julien\'s "shop"\tback room é'
    for secret in SECRETS:
        assert secret not in out.stdout


def test_show_refuses_a_bad_file_with_the_check_messages(tmp_path):
    path = write(tmp_path, BAD)
    out = relais("config", "show", "--config", str(path))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.splitlines() == relais("config", "check", str(path)).stdout.splitlines()


# ---- the documented schema --------------------------------------------------------------------------------------

def test_docs_config_md_is_what_the_dataclasses_generate():
    from agent.config.doc import markdown
    assert (ROOT / "docs/config.md").read_text(encoding="utf-8") == markdown(), \
        "docs/config.md is out of date: python -m agent.config.doc > docs/config.md"


def test_the_doc_has_a_row_for_every_key_with_its_default():
    from agent.config.doc import markdown
    from agent.config.render import toml_value
    text = markdown()

    def rows(cls, title, default_obj):
        section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
        body = section.split("|---|", 1)[1].splitlines()
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            value = getattr(default_obj, f.name)
            if dataclasses.is_dataclass(value):
                rows(type(value), f"[{title[1:-1]}.{f.name}]", value)
                continue
            item = typing.get_args(hints[f.name])[0] if typing.get_origin(hints[f.name]) is tuple else None
            if dataclasses.is_dataclass(item):       # [[tables]]: their own section, checked by hand below
                continue
            shown = "not set" if value is None else f"`{toml_value(value)}`".replace("|", "\\|")
            row = next((line for line in body if line.startswith(f"| {f.name} | ")), None)
            assert row is not None, (title, f.name)
            assert row.split(" | ")[2] == shown, (title, f.name, row)

    for f in dataclasses.fields(Config):
        hint = typing.get_type_hints(Config)[f.name] if f.name != "source" else None
        if hint is None:
            continue
        if typing.get_origin(hint) is tuple:          # a top-level [[table]]: checked by hand below
            continue
        else:
            rows(hint, f"[{f.name}]", getattr(Config(), f.name))
    assert "| pin | secret string | not set | 4 to 8 digits | goes into AT+CPIN=\"...\" |" in text
    services = text.split("## [[services]]\n", 1)[1].split("\n## ", 1)[0]
    assert "| name | string | required |" in services and "| check | string | required |" in services
    sim = text.split("## [[cellular.sim]]\n", 1)[1]
    assert "\n| slot | integer | required | from 1 to 8 |" in sim     # its default 0 is only a placeholder


def test_the_doc_module_runs_as_the_header_says():
    out = subprocess.run([sys.executable, "-m", "agent.config.doc"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0 and out.stdout == (ROOT / "docs/config.md").read_text(encoding="utf-8")


def test_every_key_has_a_meaning():
    # A new field without a comment would be a key nobody on site can look up: its row's last cell is empty.
    from agent.config.doc import markdown
    empty = [line for line in markdown().splitlines()
             if line.startswith("| ") and line.endswith("|  |")]
    assert empty == []
