"""One measurement against a real HTTP(S) server on the loopback (the netns lab, with shaped links, is
test_speed_lab.py): what is measured, where it stops, and a one-line error for each way it can fail."""
from __future__ import annotations

import json
import logging
import subprocess
import time

import pytest

from agent.linkmon.methods import Binding
from agent.speedtest.measure import (MIN_MEASURED_BYTES, Plan, SpeedResult, measure, measure_iperf3,
                                     parse_iperf3, split_host_port)
from tests.speedtest.servers import SpeedServer, wait_listening

LOOPBACK = Binding("lo", "127.0.0.1")


@pytest.fixture
def server():
    s = SpeedServer("127.0.0.1")
    yield s
    s.close()


@pytest.fixture
def https_server(tls):
    s = SpeedServer("127.0.0.1", tls=tls["local"])
    yield s
    s.close()


def test_a_download_stops_at_max_bytes_and_reports_bits_per_second(server):
    start = time.monotonic()
    result = measure(Plan(url=server.url("/bytes/50000000"), max_bytes=4_000_000, timeout_s=5), LOOPBACK)
    elapsed = time.monotonic() - start
    assert result.ok and result.error is None, result
    assert result.bytes == 4_000_000 and result.method == "http" and result.server == "127.0.0.1"
    # bits over the time after the first byte: at least what the whole call's wall time gives
    assert result.down_bps >= 8 * (4_000_000 - 65536) / elapsed
    assert result.up_bps is None
    assert server.sent == 4_000_000       # asked for a range: the server sent no more than is measured
    assert server.headers[0]["Range"] == "bytes=0-3999999"


def test_a_server_that_ignores_the_range_is_measured_all_the_same(server):
    server.ranges = False
    result = measure(Plan(url=server.url("/bytes/50000000"), max_bytes=4_000_000, timeout_s=5), LOOPBACK)
    assert result.ok and result.bytes == 4_000_000, result
    assert server.sent < 50_000_000       # the client hung up: the server did not send it all


def test_a_slow_server_gives_a_time_limited_measurement(server):
    """/bytes/N from a server that sends 64 KiB every 50 ms (~10 Mbit/s): the time limit ends it, not an error."""
    server.pace_s = 0.05
    start = time.monotonic()
    result = measure(Plan(url=server.url("/bytes/50000000"), max_bytes=50_000_000, timeout_s=1.0), LOOPBACK)
    elapsed = time.monotonic() - start
    assert result.ok, result
    assert 0.9 <= elapsed < 1.5
    assert 8 * 65536 / 0.05 * 0.7 <= result.down_bps <= 8 * 65536 / 0.05 * 1.3
    assert result.bytes < 2_000_000


def test_upload_posts_generated_bytes_and_the_server_gets_them_all(server):
    result = measure(Plan(url=server.url("/bytes/10000000"), upload_url=server.url("/upload"),
                          max_bytes=3_000_000, timeout_s=5), LOOPBACK)
    assert result.ok and result.error is None, result
    assert server.received == 3_000_000 and result.bytes == 6_000_000
    assert result.up_bps > 0 and result.down_bps > 0


def test_a_failed_upload_keeps_the_download_and_says_why(server):
    result = measure(Plan(url=server.url("/bytes/10000000"), upload_url=server.url("/nowhere"),
                          max_bytes=1_000_000, timeout_s=5), LOOPBACK)
    assert result.ok and result.down_bps > 0 and result.up_bps is None
    assert result.error == "upload: HTTP 404, expected 2xx"


def test_https_with_the_ca_that_signed_the_server(https_server, tls):
    result = measure(Plan(url=https_server.url("/bytes/2000000"), ca_file=tls["ca"], max_bytes=2_000_000),
                     LOOPBACK)
    assert result.ok and result.method == "https" and result.bytes == 2_000_000, result


@pytest.mark.parametrize("path, error", [
    ("/nope", "HTTP 404, expected 200 or 206"),
    ("/small", "only 100 bytes arrived: too few to measure a speed"),
])
def test_answers_that_give_no_speed(server, path, error):
    assert measure(Plan(url=server.url(path)), LOOPBACK) == SpeedResult(False, method="http", server="127.0.0.1",
                                                                         error=error)
    assert MIN_MEASURED_BYTES > 100


def test_a_server_that_never_answers_ends_at_the_deadline(server):
    start = time.monotonic()
    result = measure(Plan(url=server.url("/stall"), timeout_s=0.5), LOOPBACK)
    assert time.monotonic() - start < 1.5
    assert not result.ok and result.error == "no answer within 0.5 s"


def test_a_certificate_from_another_ca_is_a_tls_error(https_server, tls):
    result = measure(Plan(url=https_server.url("/bytes/2000000"), ca_file=tls["other_ca"]), LOOPBACK)
    assert not result.ok and result.error == "certificate: unable to get local issuer certificate"
    assert https_server.sent == 0


@pytest.mark.parametrize("url, error", [
    ("ftp://127.0.0.1/file", "url: expected http:// or https://, got ftp:"),
    ("127.0.0.1/file", "url: expected http:// or https://, got no scheme"),
    ("http:///file", "url: no host"),
    ("http://127.0.0.1:99999/file", "url: Port out of range 0-65535"),
    ("http://127.0.0.1:1/file", "connection refused"),
])
def test_bad_or_unreachable_urls(url, error):
    result = measure(Plan(url=url), LOOPBACK)
    assert not result.ok and result.error == error and result.down_bps is None


def test_a_missing_interface_is_named(server):
    result = measure(Plan(url=server.url("/bytes/1000000")), Binding("nosuch0"))
    assert result == SpeedResult(False, method="http", server="127.0.0.1",
                                 error="cannot bind to nosuch0: no such device")


def test_credentials_and_query_never_reach_the_result_nor_the_log(server, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"http://user:s3cret@127.0.0.1:{server.port}/bytes/1000000?token=t0ken"
    result = measure(Plan(url=url, max_bytes=1_000_000), LOOPBACK)
    assert result.ok and result.server == "127.0.0.1"
    assert server.headers[0]["Authorization"] == "Basic dXNlcjpzM2NyZXQ="      # user:s3cret, for the server only
    assert "s3cret" not in repr(result) and "t0ken" not in repr(result) and "s3cret" not in caplog.text
    bad = measure(Plan(url=f"http://user:s3cret@127.0.0.1:1/x?token=t0ken"), LOOPBACK)
    assert bad.error == "connection refused" and "s3cret" not in repr(bad)


# ---- iperf3 -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [("speed.example", ("speed.example", 5201)),
                                            ("192.0.2.9:5300", ("192.0.2.9", 5300))])
def test_iperf3_host_and_port(text, expected):
    assert split_host_port(text) == expected


@pytest.mark.parametrize("text", ["", "a b", "host:0", "host:70000", "host:x", "user@host"])
def test_iperf3_bad_host_port(text):
    with pytest.raises(ValueError):
        split_host_port(text)


@pytest.mark.parametrize("text, error", [
    ("", "iperf3: no JSON report"),
    ("[]", "iperf3: no JSON report"),
    ('{"error": "unable to connect to server:\\n Connection refused"}',
     "iperf3: unable to connect to server: Connection refused"),
    ('{"end": {}}', "iperf3: the report has no end.sum_received"),
])
def test_iperf3_reports_that_give_no_speed(text, error):
    from agent.speedtest.measure import Failed
    with pytest.raises(Failed, match="^" + error.replace("(", r"\(") + "$"):
        parse_iperf3(text)


@pytest.fixture
def iperf3_server():
    port = 5301
    proc = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_listening(port)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(5)


def test_iperf3_measures_down_and_up_against_a_real_server(iperf3_server):
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        return subprocess.run(cmd, **kw)
    # 200 MB: on the loopback a few MB are over before iperf3's receiver takes its first sum (parse_iperf3)
    result = measure_iperf3(Plan(iperf3=iperf3_server, max_bytes=200_000_000, timeout_s=5), LOOPBACK, run=run)
    assert result.ok and result.error is None, result
    assert result.method == "iperf3" and result.server == "127.0.0.1"
    assert result.down_bps > 0 and result.up_bps > 0
    assert result.bytes >= 0.9 * 400_000_000      # the receiver's sum may stop short of the last bytes
    assert [c[-1] for c in calls] == ["-R", "127.0.0.1"]       # download (reverse) first, then upload
    assert calls[0][calls[0].index("--bind-dev") + 1] == "lo" and calls[0][calls[0].index("-n") + 1] == "200000000"


def test_iperf3_without_a_server_says_what_iperf3_said():
    result = measure_iperf3(Plan(iperf3="127.0.0.1:1", timeout_s=2), LOOPBACK)
    assert not result.ok and result.error.startswith("iperf3: unable to connect to server"), result


def test_iperf3_not_installed():
    def run(cmd, **kw):
        raise FileNotFoundError(cmd[0])
    result = measure_iperf3(Plan(iperf3="127.0.0.1"), LOOPBACK, run=run)
    assert result == SpeedResult(False, method="iperf3", server="127.0.0.1", error="iperf3 is not installed")


def test_an_upload_url_that_never_answers_is_one_upload_error(server):
    start = time.monotonic()
    result = measure(Plan(url=server.url("/bytes/2000000"), upload_url=server.url("/stall"), max_bytes=1_000_000,
                          timeout_s=0.5), LOOPBACK)
    assert time.monotonic() - start < 3
    assert result.ok and result.down_bps > 0 and result.error == "upload: no answer within 0.5 s", result
