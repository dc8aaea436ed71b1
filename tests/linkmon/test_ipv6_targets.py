"""IPv6 probe targets: the grammar (config and probers share it) and the probes over IPv6 sockets on loopback."""
from __future__ import annotations

import socket
import struct
import threading

import pytest

from agent.config import ConfigError, from_dict
from agent.linkmon.methods import Binding, ProbeFailed, ProbeOptions, probe
from agent.linkmon.targets import Target, parse_target


@pytest.mark.parametrize("text, default, expected", [
    ("2001:4860:4860::8888", "icmp", Target("2001:4860:4860::8888", "icmp", "2001:4860:4860::8888")),
    ("icmp:2001:4860:4860::8888", "tcp", Target("icmp:2001:4860:4860::8888", "icmp", "2001:4860:4860::8888")),
    ("icmp:[2001:db8::1]", "tcp", Target("icmp:[2001:db8::1]", "icmp", "2001:db8::1")),
    ("tcp:[2606:4700::1111]:443", "icmp", Target("tcp:[2606:4700::1111]:443", "tcp", "2606:4700::1111", 443)),
    ("tcp:[2606:4700::1111]:80", "icmp", Target("tcp:[2606:4700::1111]:80", "tcp", "2606:4700::1111", 80)),
    ("tcp:2606:4700::1111", "icmp", Target("tcp:2606:4700::1111", "tcp", "2606:4700::1111", 443)),
    ("2606:4700::1111", "tcp", Target("2606:4700::1111", "tcp", "2606:4700::1111", 443)),
    ("dns:2620:fe::fe", "icmp", Target("dns:2620:fe::fe", "dns", "2620:fe::fe", 53)),
    ("dns:[2620:fe::fe]:5353", "icmp", Target("dns:[2620:fe::fe]:5353", "dns", "2620:fe::fe", 5353)),
    # written long or in capitals, kept as the kernel writes it: a reply's source is compared with it
    ("2001:DB8:0:0::0053", "dns", Target("2001:DB8:0:0::0053", "dns", "2001:db8::53", 53)),
    ("fd00:1::1", "icmp", Target("fd00:1::1", "icmp", "fd00:1::1")),   # a ULA: a site's own, routable
    ("http://[2001:db8::80]/generate_204", "icmp",
     Target("http://[2001:db8::80]/generate_204", "http", "2001:db8::80", 80, "/generate_204")),
    ("https://[2001:db8::80]:8443/204", "icmp",
     Target("https://[2001:db8::80]:8443/204", "http", "2001:db8::80", 8443, "/204", tls=True)),
    ("2001:db8::80", "http", Target("2001:db8::80", "http", "2001:db8::80", 80, "/generate_204")),
])
def test_ipv6_target_forms(text, default, expected):
    target = parse_target(text, default)
    assert target == expected and target.ipv6


def test_ipv4_targets_are_not_ipv6():
    assert not parse_target("tcp:1.1.1.1:443").ipv6 and not parse_target("http://example.com/").ipv6


@pytest.mark.parametrize("text, error", [
    ("fe80::1", "'fe80::1' is not a global IPv6 address"),
    ("fe80::1%eth0", "is not a global IPv6 address"),
    ("ff02::1", "is not a global IPv6 address"),
    ("::1", "is not a global IPv6 address"),
    ("::", "is not a global IPv6 address"),
    ("::ffff:192.0.2.1", "is not a global IPv6 address"),
    ("2001:db8::zz", "'2001:db8::zz' is not an IPv6 address"),
    ("tcp:[2001:db8::1", "no closing ]"),
    ("tcp:[2001:db8::1]443", r"expected \[IPv6 address\]:PORT"),
    ("tcp:[2001:db8::1]:99999", "not 1..65535"),
    ("tcp:[192.0.2.1]:443", "is not an IPv6 address"),
    ("icmp:[2001:db8::1]:7", "icmp takes no port"),
    ("http://[fe80::1]/generate_204", "is not a global IPv6 address"),
])
def test_bad_ipv6_targets_are_one_line_errors(text, error):
    with pytest.raises(ValueError, match=error) as e:
        parse_target(text)
    assert "\n" not in str(e.value) and str(e.value).startswith(f"target {text!r}: ")


def test_a_bad_ipv6_target_in_the_config_is_one_line():
    with pytest.raises(ConfigError) as e:
        from_dict({"probes": {"targets": ["2001:db8::1", "tcp:[fe80::1]:443"]}}, source="relais.toml")
    assert str(e.value) == (
        "relais.toml: [probes] targets: expected targets written as 1.1.1.1, 2001:db8::1, tcp:IP:PORT, "
        "tcp:[IPv6]:PORT, dns:IP or http(s)://..., got \"tcp:[fe80::1]:443\" ('fe80::1' is not a global IPv6 "
        "address (link-local, multicast, loopback, unspecified and IPv4-mapped addresses do not test an uplink))")
    assert from_dict({"probes": {"targets": ["1.1.1.1", "2001:4860:4860::8888", "tcp:[2606:4700::1111]:443"]}})


# ---- the probes over IPv6 sockets, on ::1 (no root: the lab tests the uplink binding) ---------------------------

def _serve_once(sock: socket.socket, answer) -> threading.Thread:
    t = threading.Thread(target=answer, args=(sock,), daemon=True)
    t.start()
    return t


def test_tcp_probe_over_ipv6():
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as server:
        port = server.getsockname()[1]
        served = _serve_once(server, lambda s: s.accept()[0].close())
        assert probe(Target("t", "tcp", "::1", port), Binding(), ProbeOptions(timeout_s=2)) >= 0
        served.join(2)   # the connection accepted before the listening socket closes
        # bound to an IPv6 source: the IPv6 one is taken, the IPv4 one left for IPv4 targets
        served = _serve_once(server, lambda s: s.accept()[0].close())
        assert probe(Target("t", "tcp", "::1", port), Binding(None, "127.0.0.1", "::1"),
                     ProbeOptions(timeout_s=2)) >= 0
        served.join(2)


def test_dns_probe_over_ipv6_matches_the_reply_to_the_server():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as server:
        server.bind(("::1", 0))

        def answer(s: socket.socket) -> None:
            data, peer = s.recvfrom(2048)
            s.sendto(data[:2] + struct.pack("!H", 0x8183) + data[4:], peer)
        served = _serve_once(server, answer)
        assert probe(Target("d", "dns", "::1", server.getsockname()[1]), Binding(),
                     ProbeOptions(timeout_s=2)) >= 0
        served.join(2)
        with pytest.raises(ProbeFailed, match="timeout"):      # nobody answers the second time
            probe(Target("d", "dns", "::1", server.getsockname()[1]), Binding(), ProbeOptions(timeout_s=0.2))


def test_an_ipv6_source_that_is_not_ours_is_a_clear_failure():
    with pytest.raises(ProbeFailed, match="cannot bind to 2001:db8::99: cannot assign requested address"):
        probe(Target("t", "tcp", "::1", 9), Binding(None, None, "2001:db8::99"), ProbeOptions(timeout_s=0.5))


def test_the_interface_holding_an_ipv6_address_comes_from_the_kernels_table(tmp_path):
    from agent.linkmon.routecheck import interface_holding6
    table = tmp_path / "if_inet6"
    table.write_text("00000000000000000000000000000001 01 80 10 80       lo\n"
                     "20010db8000200000000000000000002 03 40 00 80    wwan0\n")
    assert interface_holding6("2001:db8:2::2", str(table)) == "wwan0"
    assert interface_holding6("2001:DB8:2:0::2", str(table)) == "wwan0"
    assert interface_holding6("2001:db8:1::2", str(table)) is None
    assert interface_holding6("not an address", str(table)) is None
    assert interface_holding6("::1", str(tmp_path / "missing")) is None
    assert interface_holding6("::1") == "lo"     # this thread's namespace, for real
