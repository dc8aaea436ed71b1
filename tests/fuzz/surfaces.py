"""Every outside surface of the agent fed generated inputs: AT bytes into the engine, modem answers into the
decoder, MQTT command bodies into the intake, configuration files into the loader, SMS texts into the SMS
commands (issue 10, "Fuzzing at volume").

Each surface is a generator of inputs (seeded, so a finding is reproduced by its seed and index) and a check of
what the code must do with any of them: return one of its documented results, never raise, never log a
traceback, never let a secret through. Inputs are built from real material (captured modem lines, the sample
configuration, documented commands) and then mutated: a fuzzer that only sends random bytes never gets past the
first parser.
"""
from __future__ import annotations

import json
import logging
import math
import random
import string
from dataclasses import dataclass, field
from typing import Any, Callable

import cbor2

# A PIN and a password planted in every input that can hold one: no output, error or log line may contain them.
SECRET_PIN = "48151623"
SECRET_WORD = "Zq7SECRETpw"
SECRETS = (SECRET_PIN, SECRET_WORD)


class Finding(AssertionError):
    """The code under test did something it must not (raised, leaked, returned the wrong kind of thing)."""


@dataclass
class Surface:
    name: str
    make: Callable[[random.Random], Any]      # one input
    check: Callable[[Any], None]              # raises Finding (or anything else: a crash)
    setup: Callable[[], None] = field(default=lambda: None)


# ---- mutation helpers ----------------------------------------------------------------------------------------
JUNK = ["", " ", ",", ",,", '"', "\"\"", "(", ")", "-", "--", "0", "-1", "99", "255", "65535", "4294967296",
        "-2147483649", "1e999", "NaN", "inf", "0x7F", "FFFFFFFF", "\t", "\x00", "\x1a", "\x1b", "\r", "\n", "\r\n",
        "é", "€", "\ufffd", "\ud7ff", "+CME ERROR: 10", "OK", "ERROR", "RDY", "> ", "9" * 60, "A" * 300]


def mutate_text(rng: random.Random, text: str) -> str:
    """A few edits of the kinds that break parsers: cut, duplicate, swap a field, insert junk, flip a char."""
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        i = rng.randint(0, len(text))
        if op == 0:
            text = text[:i]
        elif op == 1:
            text = text[:i] + rng.choice(JUNK) + text[i:]
        elif op == 2 and text:
            j = rng.randint(i, len(text))
            text = text[:i] + text[i:j] * rng.randint(2, 5) + text[j:]
        elif op == 3 and text:
            fields = text.split(",")
            fields[rng.randrange(len(fields))] = rng.choice(JUNK)
            text = ",".join(fields)
        elif op == 4 and text and i < len(text):
            text = text[:i] + chr(rng.randrange(0x20, 0x7F)) + text[i + 1:]
        elif op == 5:
            text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40)))
        else:
            text = text.replace(",", rng.choice([", ", ";", ",,", " "]))
    return text


def mutate_value(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """A JSON/TOML-like value of another type, out of range, or structurally odd."""
    choices: list[Any] = [None, True, False, 0, -1, 1, 2 ** 31, -2 ** 63, 2 ** 64 + 1, 0.5, -0.0, math.nan, math.inf,
                          -math.inf, 1e308, "", " ", "x" * rng.randint(1, 300), "\x00", "../../etc/passwd", "🙂",
                          [], {}, [1, "a"], {"a": {"b": [None]}}]
    if isinstance(value, str):
        choices += [mutate_text(rng, value), value.upper(), value + "\n"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        choices += [value * 10 ** rng.randint(1, 12), -value, value + 0.5, str(value)]
    if isinstance(value, list) and value:
        choices += [value * rng.randint(2, 50), value[:-1], [mutate_value(rng, value[0], depth + 1)]]
    if isinstance(value, dict) and depth < 3:
        choices.append({k: mutate_value(rng, v, depth + 1) for k, v in value.items()})
    return rng.choice(choices)


def mutate_doc(rng: random.Random, doc: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Change, drop or add a few keys anywhere in a nested document."""
    doc = json.loads(json.dumps(doc))
    for _ in range(rng.randint(1, 3)):
        node = doc
        for _ in range(rng.randint(0, 2)):
            tables = [k for k, v in node.items() if isinstance(v, dict)]
            if not tables:
                break
            node = node[rng.choice(tables)]
        op = rng.randrange(4)
        keys = list(node)
        if op == 0 and keys:
            k = rng.choice(keys)
            node[k] = mutate_value(rng, node[k])
        elif op == 1 and keys:
            del node[rng.choice(keys)]
        elif op == 2:
            node[rng.choice(["x", "tls", "pin", "port", "interval_s", "Id", "targets", "sim", "slot", "é"])] = \
                mutate_value(rng, rng.choice(["a", 1, 1.5, [1], {"a": 1}]))
        elif keys:
            k = rng.choice(keys)
            node[mutate_text(rng, k) or "k"] = node.pop(k)
    return doc


def assert_no_secret(*texts: Any) -> None:
    for text in texts:
        s = text if isinstance(text, str) else repr(text)
        for secret in SECRETS:
            if secret in s:
                raise Finding(f"secret {secret!r} in output: {s[:200]!r}")


class LogWatch(logging.Handler):
    """Every log record while fuzzing: a traceback (exc_info) or a secret in a message is a finding."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.findings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception as e:    # a bad format string in a log call is a bug too
            self.findings.append(f"unformattable log record {record.msg!r}: {e}")
            return
        if record.exc_info:
            self.findings.append(f"traceback logged: {text[:200]}")
        for secret in SECRETS:
            if secret in text:
                self.findings.append(f"secret in log: {text[:200]}")


# ---- AT lines into the engine --------------------------------------------------------------------------------
def _corpus_lines() -> list[str]:
    from tests.fuzz.corpus import MODEM_LINES
    return MODEM_LINES


def make_at_stream(rng: random.Random) -> dict[str, Any]:
    lines = _corpus_lines()
    chunks: list[bytes] = []
    for _ in range(rng.randint(1, 12)):
        line = rng.choice(lines)
        if rng.random() < 0.5:
            line = mutate_text(rng, line)
        end = rng.choice(["\r\n", "\r\n", "\n", "\r", "", "\r\r\n"])
        data = (line + end).encode("utf-8", "surrogateescape" if False else "replace")
        if rng.random() < 0.1:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        chunks.append(data)
    blob = b"".join(chunks)
    cuts = sorted(rng.sample(range(len(blob) + 1), k=min(len(blob) + 1, rng.randint(0, 6))))
    pieces = [blob[a:b] for a, b in zip([0, *cuts], [*cuts, len(blob)])]
    commands = ["AT+CSQ", "ATI", "AT+COPS?", 'AT+QENG="servingcell"', "AT+CPIN?", "AT+CMGL=\"ALL\"", "AT",
                f'AT+CPIN="{SECRET_PIN}"', "AT+CEREG?;+CSQ"]
    return {"commands": rng.sample(commands, k=rng.randint(0, 3)), "pieces": pieces,
            "advance": [rng.choice([0.0, 0.01, 1.0, 10.0, 200.0]) for _ in pieces]}


def check_at_stream(case: dict[str, Any]) -> None:
    from modem.at.engine import AtEngine, Done, Failed, Rebooted, Send, Unsolicited
    from modem.at.errors import ModemError
    engine = AtEngine()
    now = 0.0
    outs: list[Any] = []
    for i, command in enumerate(case["commands"]):
        try:
            outs += engine.submit(engine.make_request(command, token=i), now)
        except ModemError:
            pass
    for piece, dt in zip(case["pieces"], case["advance"]):
        outs += engine.feed(piece, now)
        now += dt
        outs += engine.poll(now)
    for _ in range(len(case["commands"]) + 1):     # each poll times out the command in flight, starts the next
        now += 1000.0
        outs += engine.poll(now)
    for out in outs:
        if not isinstance(out, (Send, Done, Failed, Unsolicited, Rebooted)):
            raise Finding(f"unexpected engine output {out!r}")
        if isinstance(out, Failed):
            assert_no_secret(str(out.error))
    if engine.busy():
        raise Finding("a command still in flight after every deadline passed")


# ---- modem answers into the decoder --------------------------------------------------------------------------
DECODE_COMMANDS = ["AT+CSQ", "AT+CESQ", "AT+COPS?", "AT+CREG?", "AT+CEREG?", "AT+C5GREG?", "AT+CPIN?", "ATI",
                   "AT+CGMI", "AT+CGMM", "AT+CGSN", "AT+QCCID", 'AT+QENG="servingcell"', 'AT+QENG="neighbourcell"',
                   "AT+QNWINFO", "AT+QCAINFO", "AT+QRSRP", "AT+CPSI?", "AT!GSTATUS?", "AT!LTEINFO?", "AT#RFSTS",
                   "AT#SERVINFO", "AT#MONI", "AT#BND?", "AT^HCSQ?", "AT^SYSINFOEX", "AT+UCGED?", "AT+UBANDSEL?",
                   "AT+XCESQ?", "AT+CCLK?", "AT+CMGL=\"ALL\"", "AT+CGPADDR", "AT+CGCONTRDP", "AT+COPS=?",
                   "AT+CEREG?;+CSQ", "AT+QCSQ", None, "", "AT"]
VENDORS = ["quectel", "simcom", "sierra", "telit", "huawei", "ublox", "fibocom", "generic", None, "nokia", ""]


def make_decode(rng: random.Random) -> tuple[Any, list[str], Any]:
    lines = [mutate_text(rng, rng.choice(_corpus_lines())) if rng.random() < 0.6 else rng.choice(_corpus_lines())
             for _ in range(rng.randint(0, 8))]
    return rng.choice(DECODE_COMMANDS), lines, rng.choice(VENDORS)


def check_decode(case: tuple[Any, list[str], Any]) -> None:
    from modem import decode
    command, lines, vendor = case
    result = decode(command, lines, vendor)
    if not isinstance(result, dict) or not result:
        raise Finding(f"decode returned {result!r}")
    json.dumps(result, allow_nan=False)


# ---- MQTT command bodies into the intake ---------------------------------------------------------------------
COMMAND_DOCS = [
    {"id": "c1"}, {"id": 42, "args": {}}, {"id": "c2", "args": {"mode": "backup"}},
    {"id": "c3", "args": {"slot": 2}}, {"id": "c4", "args": {"changes": {"mqtt": {"keepalive_s": 300}},
                                                            "dry_run": True}},
    {"id": "c5", "args": {"command": "AT+CSQ"}}, {"id": "c6", "args": {"month": "2026-11", "format": "json"}},
    {"id": "c7", "args": {"pin": SECRET_PIN}},
]
NAMES = ["get_status", "failover", "sim_switch", "set_config", "report", "at", "drill", "modem_reset", "x", "A-b"]


def _signed(doc: dict[str, Any], name: str, key: bytes, ts: int) -> dict[str, Any]:
    from common.wire.signing import sign
    doc = dict(doc, ts=ts, nonce="n" + format(abs(hash(json.dumps(doc, sort_keys=True, default=str))), "x")[:20])
    try:
        doc["sig"] = sign(key, "dev-1", name, str(doc.get("id")), ts, doc["nonce"], doc.get("args", {}))
    except (TypeError, ValueError):
        doc["sig"] = "0" * 64
    return doc


def make_intake(rng: random.Random) -> dict[str, Any]:
    name = rng.choice(NAMES)
    signed = rng.random() < 0.4
    doc = dict(rng.choice(COMMAND_DOCS))
    if signed:
        doc = _signed(doc, name, b"k" * 32, 1_700_000_000 + rng.choice([0, 5, -1000, 10 ** 6]))
    if rng.random() < 0.8:
        doc = mutate_doc(rng, doc)
    encoding = rng.choice(["json", "cbor"])
    try:
        payload = (json.dumps(doc, allow_nan=True).encode() if encoding == "json" else cbor2.dumps(doc))
    except (TypeError, ValueError):
        payload = b"{}"
    r = rng.random()
    if r < 0.15:
        payload = mutate_text(rng, payload.decode("latin-1")).encode("latin-1", "replace")
    elif r < 0.2:
        payload = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80)))
    elif r < 0.25:
        # CBOR's own traps: bignums, tags, byte strings, indefinite lengths, deep nesting
        payload = rng.choice([cbor2.dumps({"id": 10 ** rng.randint(18, 6000)}), b"\xa1bid\xc2\x58\x20" + b"\xff" * 32,
                              b"\xbf\x62id\x61a\xff", b"\xa1\x62id" + b"\x81" * 5000, cbor2.dumps({"id": b"raw"}),
                              b'{"id": "a", "args": {"k": "\\ud800"}}', b'{"id": 1e400}',
                              b'{"id": "a"' + b', "x": [' * 3000])
    topic = f"relais/v1/dev-1/cmd/{name}" if rng.random() < 0.9 else mutate_text(rng, f"relais/v1/dev-1/cmd/{name}")
    return {"topic": topic, "payload": payload, "signed": signed, "mono": rng.uniform(0, 2000)}


_INTAKES: dict[bool, Any] = {}


def check_intake(case: dict[str, Any]) -> None:
    from agent.mqtt.intake import Accepted, CommandIntake, Refusal, Repeat
    from common.wire.topics import Topics

    class Nonces:
        def remember(self, nonce, ts, now, window_s):
            return True

    intake = _INTAKES.get(case["signed"])
    if intake is None:
        intake = _INTAKES[case["signed"]] = CommandIntake(Topics("relais/v1", "dev-1"), 4096,
                                                          b"k" * 32 if case["signed"] else None, 300, Nonces())
    out = intake.take(case["topic"], case["payload"], 1_700_000_000.0, case["mono"])
    if not isinstance(out, (Accepted, Refusal, Repeat)):
        raise Finding(f"intake returned {out!r}")
    if isinstance(out, Refusal):
        if not isinstance(out.message, str) or "\n" in out.message or len(out.message) > 400:
            raise Finding(f"refusal message not one short line: {out.message!r}")
        assert_no_secret(out.message)
    if isinstance(out, Accepted):
        json.dumps(out.args, allow_nan=False)          # what reaches a handler is plain, finite, encodable


# ---- configuration files into the loader ---------------------------------------------------------------------
BASE_CONFIG: dict[str, Any] = {
    "device": {"id": "shop-042", "site": "Lyon"},
    "modem": {"port": "/dev/ttyUSB2", "vendor": "auto", "baud": 115200, "pin": SECRET_PIN},
    "board": {"backend": "simulated", "primary_interface": "eth0", "cellular_interface": "wwan0", "led": "none"},
    "storage": {"dir": "/tmp/relais-fuzz"},
    "probes": {"targets": ["icmp:192.0.2.1", "tcp:192.0.2.2:443", "dns:192.0.2.53"], "interval_s": 1.0,
               "timeout_s": 1.0},
    "failover": {"down_after": 3, "up_after": 10, "hold_down_s": 60.0},
    "mqtt": {"host": "broker.example.net", "port": 8883, "tls": False, "username": "dev",
             "password": SECRET_WORD, "keepalive_s": 600, "reconnect_min_s": 1.0, "reconnect_max_s": 300.0},
    "cellular": {"sim_slots": [1, 2], "sim": [{"slot": 1, "apn": "orange", "pin": SECRET_PIN},
                                             {"slot": 2, "apn": "free"}]},
    "sms": {"allowed_numbers": ["+33612345678"], "pin": SECRET_PIN},
}


def make_config(rng: random.Random) -> str:
    doc = mutate_doc(rng, BASE_CONFIG)
    if rng.random() < 0.3:
        doc = mutate_doc(rng, doc)
    text = _toml(doc)
    if rng.random() < 0.1:
        text = mutate_text(rng, text)
    return text


def _toml(doc: dict[str, Any]) -> str:
    """Mutated documents hold values TOML cannot say (None, NaN in some spots): write what can be written."""
    from agent.mqtt.config_update import dump_toml
    try:
        return dump_toml(_toml_safe(doc))
    except Exception:
        return "[device]\nid = 1\n"


def _toml_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _toml_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        items = [_toml_safe(v) for v in value if v is not None]
        return items
    if isinstance(value, int) and not isinstance(value, bool) and not -2 ** 63 <= value < 2 ** 63:
        return str(value)
    return value


def check_config(text: str) -> None:
    import tomllib

    from agent.config import Config, ConfigError, from_dict
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return                                  # the loader's own TOML error path is exercised by load(); not ours
    try:
        config = from_dict(raw, source="fuzz.toml")
    except ConfigError as e:
        message = str(e)
        if "\n" in message.strip() or not message:
            raise Finding(f"config error is not one line: {message!r}")
        assert_no_secret(message)
        return
    if not isinstance(config, Config):
        raise Finding(f"from_dict returned {config!r}")
    for value in _floats(config):
        if not math.isfinite(value):
            raise Finding(f"a non-finite number was accepted: {value!r}")


def _floats(obj: Any, depth: int = 0):
    import dataclasses
    if depth > 6:
        return
    if isinstance(obj, float):
        yield obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _floats(getattr(obj, f.name), depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _floats(v, depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _floats(v, depth + 1)


# ---- SMS texts into the SMS commands -------------------------------------------------------------------------
SMS_TEXTS = [f"{SECRET_PIN} status", f"{SECRET_PIN} failover backup", f"{SECRET_PIN} sim 2", f"{SECRET_PIN} help",
             "status", "1234 status", f"{SECRET_PIN}status", f" {SECRET_PIN}  FAILOVER  AUTO ", f"{SECRET_PIN}",
             f"PIN {SECRET_PIN} sim 1", "", "\x00" * 5, "é" * 200]
SENDERS = ["+33612345678", "0612345678", "+33 6 12 34 56 78", "+447700900123", "ORANGE", "", None, "+" + "9" * 30]


def make_sms(rng: random.Random) -> tuple[Any, str, bool]:
    text = rng.choice(SMS_TEXTS)
    if rng.random() < 0.7:
        text = mutate_text(rng, text)
    return rng.choice(SENDERS), text, rng.random() < 0.1


def check_sms(case: tuple[Any, str, bool]) -> None:
    from agent.cellular import sms
    sender, text, locked = case
    number = sms.normalize_number(sender, "33")
    verdict = sms.judge(number, text, frozenset({"+33612345678"}), SECRET_PIN, locked)
    assert_no_secret(verdict.label, verdict.reason or "", verdict.args or {})
    assert_no_secret(sms.redact(text, SECRET_PIN), sms.mask_number(sender))


SURFACES = {s.name: s for s in [
    Surface("at_engine", make_at_stream, check_at_stream),
    Surface("decoder", make_decode, check_decode),
    Surface("mqtt_intake", make_intake, check_intake),
    Surface("config", make_config, check_config),
    Surface("sms", make_sms, check_sms),
]}
