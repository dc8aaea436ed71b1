"""The service checks against real servers on loopback (no uplink binding: the netns lab tests that, in
test_services_lab.py). Timeouts are short and the time a failing check took is measured, not slept."""
from __future__ import annotations

import socket
import struct
import time
from dataclasses import replace

import pytest

from agent.drills.services import Binding, ServiceResult, check, parse_service_check, sip_options, sip_status
from tests.drills.servers import (HttpsServer, UdpResponder, make_ca, make_server_cert, sip_reply,
                                  udp_socket)

LOCAL = Binding()
TIMEOUT_S = 0.3


@pytest.fixture
def responders():
    started: list = []

    def start(reply) -> UdpResponder:
        r = UdpResponder(udp_socket("127.0.0.1"), reply)
        started.append(r)
        return r
    yield start
    for r in started:
        r.close()


def free_udp_port() -> int:
    """A port nothing listens on: bound, read, released."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(target: str, **kw):
    start = time.monotonic()
    result = check(target, LOCAL, TIMEOUT_S, **kw)
    return result, time.monotonic() - start


# ---- the SIP request and answer -----------------------------------------------------------------------------

def test_the_options_request_carries_what_rfc_3261_requires():
    raw = sip_options("192.0.2.5", 5060, ("100.64.2.2", 40000), "abc@relais", "1f2e", "77aa")
    assert raw.endswith(b"\r\n\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    start, *headers = raw.decode().rstrip("\r\n").split("\r\n")
    assert start == "OPTIONS sip:192.0.2.5:5060 SIP/2.0"
    fields = dict(h.split(": ", 1) for h in headers)
    assert fields["Via"] == "SIP/2.0/UDP 100.64.2.2:40000;branch=z9hG4bK1f2e;rport"
    assert fields["Max-Forwards"] == "70"
    assert fields["To"] == "<sip:192.0.2.5:5060>"
    assert fields["From"] == "<sip:relais@100.64.2.2>;tag=77aa"
    assert fields["Call-ID"] == "abc@relais"
    assert fields["CSeq"] == "1 OPTIONS"
    assert fields["Contact"] == "<sip:relais@100.64.2.2:40000>"
    assert fields["Content-Length"] == "0"


@pytest.mark.parametrize("data, expected", [
    (b"SIP/2.0 200 OK\r\nCall-ID: c1\r\n\r\n", "SIP/2.0 200 OK"),
    (b"SIP/2.0 401 Unauthorized\r\nCall-ID: c1\r\nWWW-Authenticate: Digest\r\n\r\n", "SIP/2.0 401 Unauthorized"),
    (b"SIP/2.0 404 Not Found\r\ni: c1\r\n\r\n", "SIP/2.0 404 Not Found"),      # compact form of Call-ID
    (b"SIP/2.0 200 OK\r\nCall-ID: another\r\n\r\n", None),    # an answer to someone else's request
    (b"HTTP/1.1 200 OK\r\n\r\n", None),
    (b"SIP/2.0 OK\r\n\r\n", None),
    ("SIP/2.0 ²²² OK\r\n\r\n".encode(), None),
    (b"SIP/2.0 200 OK\r\nCall-ID: c1\r\n\r\nCall-ID: body", "SIP/2.0 200 OK"),      # the body is not a header
    (b"\xff\xfe garbage", None),
    (b"SIP/2.0 200 OK\nCall-ID: c1\n\n", "SIP/2.0 200 OK"),             # bare LF: still one line
    (b"SIP/2.0 200 O\x1bK\r\n\r\n", "SIP/2.0 200 O?K"),                # no terminal escapes in the log
    (b"", None),
])
def test_only_a_sip_status_line_for_our_call_is_an_answer(data, expected):
    assert sip_status(data, "c1") == expected


# ---- each kind against a real server --------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["200 OK", "401 Unauthorized", "403 Forbidden", "404 Not Found"])
def test_any_sip_status_means_a_sip_server_answered(responders, status):
    server = responders(sip_reply(status))
    host, port = server.address
    result = check(f"sip:{host}:{port}", LOCAL, TIMEOUT_S)
    assert result.ok and result.detail == f"SIP/2.0 {status}" and result.rtt_ms > 0
    assert server.requests[0].startswith(f"OPTIONS sip:{host}:{port} SIP/2.0\r\n".encode())


def test_a_udp_answer_that_is_not_sip_does_not_pass_a_sip_check(responders):
    server = responders(lambda data: b"hello")
    result, took = timed("sip:%s:%d" % server.address)
    assert not result.ok and result.detail == f"no answer within {TIMEOUT_S:g} s"
    assert TIMEOUT_S <= took < TIMEOUT_S + 0.5
    assert server.requests, "the request reached the server"


def test_udp_any_answer_passes_and_silence_times_out(responders):
    talker, mute = responders(lambda data: b"x" * 3), responders(lambda data: None)
    result = check("udp:%s:%d" % talker.address, LOCAL, TIMEOUT_S)
    assert result.ok and result.detail == "3 bytes back"
    result, took = timed("udp:%s:%d" % mute.address)
    assert not result.ok and result.rtt_ms is None and result.detail == f"no answer within {TIMEOUT_S:g} s"
    assert TIMEOUT_S <= took < TIMEOUT_S + 0.5


def test_udp_port_unreachable_fails_at_once():
    result, took = timed(f"udp:127.0.0.1:{free_udp_port()}")
    assert not result.ok and result.detail == "port unreachable (ICMP)"
    assert took < TIMEOUT_S      # the ICMP error ends the wait, not the timeout


def test_tcp_accepted_passes_refused_fails():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert check(f"tcp:127.0.0.1:{port}", LOCAL, TIMEOUT_S).detail == "connected"
    result = check(f"tcp:127.0.0.1:{port}", LOCAL, TIMEOUT_S)     # closed now
    assert not result.ok and result.detail == "connection refused"


def dns_server(rcode: int):
    def reply(data: bytes) -> bytes | None:
        return data[:2] + struct.pack("!H", 0x8180 | rcode) + data[4:] if len(data) >= 12 else None
    return reply


@pytest.mark.parametrize("rcode, ok, detail", [(0, True, "NOERROR for example.org"),
                                               (3, True, "NXDOMAIN for example.org"),
                                               (2, False, "the resolver answered SERVFAIL for example.org"),
                                               (5, False, "the resolver answered REFUSED for example.org")])
def test_dns_a_resolver_that_resolves_passes(responders, rcode, ok, detail):
    server = responders(dns_server(rcode))
    host, port = server.address
    # dns: checks ask port 53, which the test need not own: the parsed target, moved to the server's port
    target = replace(parse_service_check(f"dns:{host}:example.org"), port=port)
    result = check(target, LOCAL, TIMEOUT_S)
    assert (result.ok, result.detail) == (ok, detail)
    assert b"\x07example\x03org\x00\x00\x01\x00\x01" in server.requests[0]     # asks A for the name


# ---- https ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    ca, other_ca = make_ca(d, "relais-test-ca"), make_ca(d, "someone-else")
    return {"ca": ca[0], "other_ca": other_ca[0], "server": make_server_cert(d, ca, "127.0.0.1")}


@pytest.fixture
def https(tls):
    server = HttpsServer("127.0.0.1", *tls["server"])
    yield server
    server.close()


@pytest.mark.parametrize("path, ok, detail", [("/", True, "HTTP 200"), ("/moved", True, "HTTP 301"),
                                              ("/broken", False, "HTTP 500, expected 2xx or 3xx")])
def test_https_needs_2xx_or_3xx(https, tls, path, ok, detail):
    result = check(f"https://127.0.0.1:{https.port}{path}", LOCAL, 2.0, ca_file=str(tls["ca"]))
    assert (result.ok, result.detail) == (ok, detail)


def test_https_refuses_a_certificate_from_another_ca(https, tls):
    result = check(f"https://127.0.0.1:{https.port}/", LOCAL, 2.0, ca_file=str(tls["other_ca"]))
    assert not result.ok and result.detail.startswith("certificate: ")
    assert "issuer" in result.detail
    assert not https.peers, "no request was sent over an unverified connection"


def test_https_server_silent_after_connect_times_out(tls):
    with socket.create_server(("127.0.0.1", 0)) as silent:      # the kernel accepts; nobody speaks TLS
        result, took = timed(f"https://127.0.0.1:{silent.getsockname()[1]}/", ca_file=str(tls["ca"]))
    assert result == ServiceResult(False, None, f"no answer within {TIMEOUT_S:g} s")
    assert TIMEOUT_S <= took < TIMEOUT_S + 0.5


def test_https_missing_ca_file_is_one_line(tmp_path):
    result = check("https://127.0.0.1:9/", LOCAL, 1.0, ca_file=str(tmp_path / "none.pem"))
    assert not result.ok and result.detail.startswith(f"ca file {tmp_path / 'none.pem'}: ")
    assert "\n" not in result.detail


# ---- bad input --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["", "udp:1.2.3.4:²", "ftp:1.2.3.4:21", "tcp:1.2.3.4", "sip:voip.example.fr", "udp:1.2.3.4:0",
                                    "dns:9.9.9.9:53", "https://"])
def test_a_bad_target_is_a_failed_check_with_one_line(target):
    result = check(target, LOCAL, TIMEOUT_S)
    assert not result.ok and result.rtt_ms is None
    assert result.detail.startswith("check ") and "\n" not in result.detail


def test_a_missing_interface_is_a_failed_check_naming_it():
    result = check("tcp:127.0.0.1:9", Binding(interface="nosuch0"), TIMEOUT_S)
    assert not result.ok and result.detail.startswith("cannot bind to nosuch0: ")


# ---- untrusted input: anything a config or a server sends ------------------------------------------------------

from hypothesis import given, settings, strategies as st   # noqa: E402  (only these tests use it)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40),
                 st.builds(lambda k, r: f"{k}:{r}", st.sampled_from(["sip", "tcp", "udp", "dns", "https", "http"]),
                           st.text(alphabet="0123456789.:/abc-_[]@", max_size=30))))
def test_any_check_text_parses_or_is_one_line(text):
    try:
        target = parse_service_check(text)
    except ValueError as e:
        assert str(e).startswith("check ") and "\n" not in str(e)
    else:
        assert target.kind in ("sip", "tcp", "udp", "dns", "https") and 0 < target.port < 65536


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_datagram_is_a_sip_answer_or_not_never_an_error(data):
    status = sip_status(data, "c1")
    assert status is None or (status.startswith("SIP/2.0 ") and "\n" not in status)
