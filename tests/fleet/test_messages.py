"""fleet.messages.parse: every documented topic read back, and every bad input turned into a reason."""
from __future__ import annotations

import json

import cbor2
import pytest

from fleet.messages import Kind, Message, Reason, Rejected, Skip, parse


def env(device="dev-1", seq=7, **body):
    return {"device_id": device, "seq": seq, "ts": 1732345678.123, "time_source": "ntp", **body}


def j(doc) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize("encode", [j, cbor2.dumps], ids=["json", "cbor"])
def test_each_documented_topic(encode):
    ev = parse("relais/v1/dev-1/event", encode(env(kind="failover", data={"to": "backup"})))
    assert ev == Message(Kind.EVENT, "dev-1", seq=7, ts=1732345678.123, time_source="ntp",
                         body={"kind": "failover", "data": {"to": "backup"}})
    tm = parse("relais/v1/dev-1/telemetry", encode(env(why="change", metrics={"rsrp_dbm": -95})))
    assert tm.kind is Kind.TELEMETRY and tm.body == {"why": "change", "metrics": {"rsrp_dbm": -95}}
    st = parse("relais/v1/dev-1/state/modem", encode(env(state={"modem": {"sim_slot": 2}})))
    assert st.kind is Kind.STATE and st.part == "modem" and st.body == {"modem": {"sim_slot": 2}}
    rp = parse("relais/v1/dev-1/reply/c42", encode(env(id="c42", ok=False, error="busy")))
    assert rp.kind is Kind.REPLY and rp.part == "c42" and rp.body == {"ok": False, "error": "busy"}


def test_status_and_empty_retained():
    assert parse("relais/v1/dev-1/status", b"online") == Message(Kind.STATUS, "dev-1", online=True)
    assert parse("relais/v1/dev-1/status", b"offline").online is False
    assert parse("relais/v1/dev-1/state", b"") == Skip("dev-1")          # the agent clearing the old topic
    assert parse("relais/v1/dev-1/state/modem", b"") == Skip("dev-1")    # a retained part deleted


@pytest.mark.parametrize("topic, payload, reason", [
    ("relais/v1/dev-2/event", j(env("dev-1", kind="x")), Reason.IMPOSTOR),
    ("relais/v1/dev-2/event", j({"seq": 1, "ts": 1, "kind": "x"}), Reason.IMPOSTOR),       # no device_id at all
    ("relais/v1/dev-1/event", b"{" + b" " * 70000 + b"}", Reason.OVERSIZED),
    ("relais/v1/dev-1/event", b"\xff\x00garbage", Reason.UNDECODABLE),
    ("relais/v1/dev-1/event", b'{"device_id": "dev-1", "seq": NaN}', Reason.UNDECODABLE),
    ("relais/v1/dev-1/event", cbor2.dumps(cbor2.CBORTag(55799, env())), Reason.UNDECODABLE),
    ("relais/v1/dev-1/event", b"[1, 2]", Reason.UNDECODABLE),
    ("relais/v1/dev-1/status", b"maybe", Reason.UNDECODABLE),
    ("relais/v1/dev-1/event", j(env(seq="7", kind="x")), Reason.MALFORMED),
    ("relais/v1/dev-1/event", j(env(seq=-1, kind="x")), Reason.MALFORMED),
    ("relais/v1/dev-1/event", j(env(seq=True, kind="x")), Reason.MALFORMED),
    ("relais/v1/dev-1/event", j({**env(kind="x"), "ts": "yesterday"}), Reason.MALFORMED),
    ("relais/v1/dev-1/event", j(env()), Reason.MALFORMED),                                   # no kind
    ("relais/v1/dev-1/telemetry", j(env(metrics=[1])), Reason.MALFORMED),
    ("relais/v1/dev-1/state/modem", j(env(state={"failover": {}})), Reason.MALFORMED),      # part not the topic's
    ("relais/v1/dev-1/reply/c1", j(env(id="c1")), Reason.MALFORMED),                          # no ok
    ("relais/v1/dev-1/cmd/failover", j({"id": "c1"}), Reason.BAD_TOPIC),                    # a command, not ours
    ("relais/v1/dev 1/event", j(env("dev 1", kind="x")), Reason.BAD_TOPIC),
    ("relais/v1/../event", j(env("..", kind="x")), Reason.BAD_TOPIC),        # /site/.. would be another page
    ("relais/v1/./status", b"online", Reason.BAD_TOPIC),
    ("other/dev-1/event", j(env(kind="x")), Reason.BAD_TOPIC),
    ("relais/v1/dev-1/state/Modem", j(env(state={"Modem": {}})), Reason.BAD_TOPIC),
])
def test_bad_input_is_a_reason_never_an_exception(topic, payload, reason):
    result = parse(topic, payload)
    assert isinstance(result, Rejected) and result.reason is reason, result
    assert result.detail and "\n" not in result.detail


def test_the_size_limit_is_the_configured_one():
    payload = j(env(kind="x", data={"pad": "y" * 500}))
    assert isinstance(parse("relais/v1/dev-1/event", payload, max_bytes=len(payload)), Message)
    assert parse("relais/v1/dev-1/event", payload, max_bytes=len(payload) - 1).reason is Reason.OVERSIZED


def test_another_prefix():
    assert parse("acme/relais/dev-1/status", b"online", prefix="acme/relais").online is True
    assert parse("relais/v1/dev-1/status", b"online", prefix="acme/relais").reason is Reason.BAD_TOPIC


from hypothesis import given, settings, strategies as st   # noqa: E402

_TOPICS = st.one_of(st.text(max_size=60), st.sampled_from(
    ["relais/v1/dev-1/event", "relais/v1/dev-1/telemetry", "relais/v1/dev-1/state/modem", "relais/v1/dev-1/status",
     "relais/v1/dev-1/reply/c1", "relais/v1/dev-1/state"]))
_PLAIN = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                   max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(topic=_TOPICS, payload=st.one_of(st.binary(max_size=200),
                                        _PLAIN.map(lambda v: cbor2.dumps(v)),
                                        st.dictionaries(st.sampled_from(["device_id", "seq", "ts", "kind", "data",
                                                                         "metrics", "state", "ok", "why"]),
                                                        _PLAIN, max_size=9)
                                        .map(lambda d: cbor2.dumps({**d, "device_id": "dev-1", "seq": 5}))))
def test_any_input_gives_a_result_never_an_exception(topic, payload):
    result = parse(topic, payload)
    assert isinstance(result, (Message, Rejected, Skip))
    if isinstance(result, Message) and result.kind is not Kind.STATUS:
        assert isinstance(result.seq, int) and result.device_id == topic.split("/")[2]


@pytest.mark.parametrize("text, ok", [
    ("site-1", True), ("...", True), (".a", True), ("a..", True), ("a:b_c.d", True), ("x" * 64, True),
    (".", False), ("..", False), ("", False), ("x" * 65, False), ("a/b", False), ("+", False), ("#", False),
])
def test_the_one_id_check_refuses_what_a_browser_would_rewrite(text, ok):
    from common.wire.topics import Topics, is_topic_level
    assert is_topic_level(text) is ok
    if not ok:
        with pytest.raises(ValueError, match="cannot be a topic level"):
            Topics("relais/v1", text)


def test_ingest_counts_a_dot_device_and_says_so_once(tmp_path, caplog):
    import logging

    from fleet.config import from_dict
    from fleet.ingest import Delivery, Ingest
    caplog.set_level(logging.WARNING, logger="relais.fleet")
    ingest = Ingest(from_dict({"database": str(tmp_path / "fleet.db"), "mqtt": {"host": "127.0.0.1"}}))
    ingest.db.connect()
    try:
        batch = [Delivery(n, 1, f"relais/v1/{dev}/status", b"online", 0) for n, dev in enumerate(["..", ".", ".."])]
        assert ingest._store(batch + [Delivery(9, 1, "relais/v1/site-1/status", b"online", 0)])
        assert ingest.counters["rejected_bad_topic"] == 3
        lines = [r.getMessage() for r in caplog.records if "not a valid id" in r.getMessage()]
        assert len(lines) == 1 and "'..'" in lines[0] and "\n" not in lines[0]
        assert [r[0] for r in ingest.db.query("SELECT device_id FROM devices")] == ["site-1"]
    finally:
        ingest.db.close()
