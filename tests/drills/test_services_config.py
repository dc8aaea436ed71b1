"""[[services]] in relais.toml: each check's grammar is validated at load; a bad table is one ConfigError line."""
from __future__ import annotations

import pytest

from agent.config import ConfigError, ServiceConfig, from_dict, load
from agent.config.grammar import parse_service_check


def test_services_load_in_order_and_parse_again(tmp_path):
    path = tmp_path / "relais.toml"
    path.write_text('[[services]]\nname = "Téléphonie"\ncheck = "sip:192.0.2.5"\n\n'
                    '[[services]]\nname = "Terminal de paiement"\ncheck = "tcp:192.0.2.6:443"\n\n'
                    '[[services]]\nname = "Cloud"\ncheck = "https://cloud.example.fr/health"\n'
                    f'ca = "{path}"\n', encoding="utf-8")
    config = load(path)
    assert [s.name for s in config.services] == ["Téléphonie", "Terminal de paiement", "Cloud"]
    targets = [parse_service_check(s.check) for s in config.services]
    assert [(t.kind, t.host, t.port) for t in targets] == [("sip", "192.0.2.5", 5060), ("tcp", "192.0.2.6", 443),
                                                           ("https", "cloud.example.fr", 443)]
    assert targets[2].path == "/health" and config.services[2].ca == str(path)


def test_no_services_by_default():
    assert from_dict({}).services == ()


@pytest.mark.parametrize("services, message", [
    ([{"name": "T", "check": "sip:voip.example.fr"}],
     '[services #1] check: expected sip:IP[:PORT], tcp:IP:PORT, udp:IP:PORT, dns:IP[:NAME] or https://..., '
     'got "sip:voip.example.fr" (\'voip.example.fr\' is not an IPv4 address (names are only allowed in https '
     'checks: resolving one would use whichever link is active))'),
    ([{"name": "A", "check": "tcp:192.0.2.1:443"}, {"name": "B", "check": "tcp:192.0.2.1"}],
     '[services #2] check: expected sip:IP[:PORT], tcp:IP:PORT, udp:IP:PORT, dns:IP[:NAME] or https://..., '
     'got "tcp:192.0.2.1" (no port (tcp:HOST:PORT))'),
    ([{"name": "A", "check": "ftp:192.0.2.1:21"}], "(unknown kind 'ftp' (sip:, tcp:, udp:, dns: or https://))"),
    ([{"name": "A", "check": "udp:192.0.2.1:70000"}], "(port '70000' is not 1..65535)"),
    ([{"name": "A", "check": "dns:192.0.2.53:53"}], "('53' is not a domain name to ask for)"),
    ([{"name": "A", "check": "http://192.0.2.1/"}], "(plain http is not checked, use https://"),
    ([{"name": "A", "check": ""}], '[services #1] check: expected a non-empty string, got ""'),
    ([{"name": "A"}], '[services #1] check: expected sip:IP[:PORT]'),
    ([{"check": "tcp:192.0.2.1:1"}], '[services #1] name: expected a name for the service, got ""'),
    ([{"name": "A\nB", "check": "tcp:192.0.2.1:1"}], "[services #1] name: expected 1 to 64 characters without "
                                                     "control characters"),
    ([{"name": "A", "check": "tcp:192.0.2.1:1"}, {"name": "A", "check": "tcp:192.0.2.1:2"}],
     '[services #2] name: expected a name no other [[services]] has, got "A" again'),
    ([{"name": "A", "check": "tcp:192.0.2.1:1", "ca": "/etc/hostname"}],
     '[services #1] ca: expected nothing ("") for a check other than https://'),
    ([{"name": "A", "check": "https://x.example/", "ca": "/nonexistent/ca.pem"}], "[services #1] ca: expected"),
    ([{"name": "A", "chek": "tcp:192.0.2.1:1"}], "[services #1] chek: expected a known key (did you mean check?)"),
    ({"name": "A", "check": "tcp:192.0.2.1:1"}, "[[services]]: expected tables ([[services]]), got a table"),
    (["tcp:192.0.2.1:1"], '[[services]]: expected tables ([[services]]), got ["tcp:192.0.2.1:1"]'),
])
def test_a_bad_service_is_one_line_naming_the_table_and_key(services, message):
    with pytest.raises(ConfigError) as e:
        from_dict({"services": services}, source="relais.toml")
    text = str(e.value)
    assert text.startswith("relais.toml: ") and message in text and "\n" not in text


def test_a_service_table_is_declarative():
    """The check's grammar is not a second copy: the config runs the parser the checks use."""
    with pytest.raises(ConfigError, match="unknown kind"):
        from_dict({"services": [{"name": "A", "check": "gopher:1.2.3.4:70"}]})
    assert ServiceConfig(name="A", check="sip:192.0.2.5").check == "sip:192.0.2.5"


def test_set_config_replaces_the_services_and_refuses_a_bad_one(tmp_path):
    from agent.mqtt.config_update import apply
    path = tmp_path / "relais.toml"
    path.write_text('[[services]]\nname = "Téléphonie"\ncheck = "sip:192.0.2.5"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[services #1\] check: .*no port"):
        apply(path, {"services": [{"name": "VPN", "check": "udp:192.0.2.7"}]})
    assert [s.name for s in load(path).services] == ["Téléphonie"]      # the file untouched
    _, changed = apply(path, {"services": [{"name": "VPN", "check": "udp:192.0.2.7:1194"}]})
    assert changed == ["services"]
    assert [(s.name, s.check) for s in load(path).services] == [("VPN", "udp:192.0.2.7:1194")]
