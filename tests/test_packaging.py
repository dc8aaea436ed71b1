"""What packaging/ ships must work: the sample configuration loads, the unit runs the CLI that exists."""
import configparser
from pathlib import Path

from agent import config

ROOT = Path(__file__).resolve().parents[1]


def test_sample_config_loads(tmp_path):
    # The sample names the certificate files and storage of a real install; the loader checks that they exist.
    text = (ROOT / "packaging" / "relais.toml").read_text()
    for name in ("ca.pem", "device.pem", "device.key"):
        (tmp_path / name).write_text("PEM")
    sample = tmp_path / "relais.toml"
    sample.write_text(text.replace("/etc/relais/", f"{tmp_path}/").replace("/var/lib/relais", f"{tmp_path}/lib"))
    cfg = config.load(sample)
    assert cfg.device.id == "shop-042"
    assert cfg.board.backend == "iproute2"
    assert cfg.mqtt.tls and cfg.mqtt.payload == "cbor"


def test_unit_runs_relais_run_with_the_watchdog():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "packaging" / "relais.service")
    assert unit["Service"]["Type"] == "notify"
    assert "relais run --config" in unit["Service"]["ExecStart"]
    assert int(unit["Service"]["WatchdogSec"]) > 0


def test_config_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    for text, expected in [("[mqtt]\nport = 'x'\n", '[mqtt] port: expected an integer, got "x"'),
                           ("[nope]\n", "[nope]: expected one of board, business, cellular, console, contacts, "
                                         "contracts, "),
                           ("[device]\nid = \n", "not valid TOML"),
                           ("[modem]\nbaud = 9600\nspeed = 1\n", "[modem] speed: expected one of baud, pin, port, "
                                                                 "vendor, got an unknown key")]:
        bad.write_text(text)
        try:
            config.load(bad)
        except config.ConfigError as e:
            assert expected in str(e) and str(bad) in str(e)
        else:
            raise AssertionError(f"{text!r} was accepted")


def test_secrets_do_not_print():
    cfg = config.from_dict({"modem": {"pin": "4711"}, "mqtt": {"password": "hunter2"}})
    assert "4711" not in repr(cfg) and "4711" not in str(cfg.modem.pin) and "hunter2" not in repr(cfg)
    assert cfg.modem.pin.value == "4711"
