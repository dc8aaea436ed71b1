import hashlib
import hmac

import pytest

from common.wire.signing import SignatureRejected, sign, signing_text, verify

KEY = b"per-device-key"


class Memory:
    def __init__(self):
        self.seen = set()

    def remember(self, nonce, ts, now, window_s):
        if nonce in self.seen:
            return False
        self.seen.add(nonce)
        return True


def doc(ts=1_700_000_000, nonce="n0nce-0001", args=None, name="failover", cid="c1", key=KEY, device="dev-1"):
    args = {} if args is None else args
    return {"id": cid, "args": args, "ts": ts, "nonce": nonce, "sig": sign(key, device, name, cid, ts, nonce, args)}


def check(d, now=1_700_000_010, name="failover", device="dev-1", memory=None):
    verify(KEY, device, name, d["id"], d.get("args", {}), d, now, 300, memory or Memory())


def test_the_signing_text_is_documented_and_stable():
    text = signing_text("dev-1", "failover", "c1", 1700000000, "n0nce-0001", {"mode": "force_backup", "a": 1})
    assert text == b'relais-cmd-v1\ndev-1\nfailover\nc1\n1700000000\nn0nce-0001\n{"a":1,"mode":"force_backup"}'
    # the documented text (docs/mqtt.md, "Signed commands") under HMAC-SHA256: what any other signer must compute
    assert sign(KEY, "dev-1", "failover", "c1", 1700000000, "n0nce-0001", {"mode": "force_backup", "a": 1}) == \
        hmac.new(KEY, text, hashlib.sha256).hexdigest()


def test_a_good_signature_passes_once():
    memory = Memory()
    d = doc(args={"mode": "force_backup"})
    check(d, memory=memory)
    with pytest.raises(SignatureRejected) as e:
        check(d, memory=memory)
    assert e.value.reason == "replayed"


@pytest.mark.parametrize("change, reason", [
    (lambda d: d.update(sig="0" * 64), "forged"),
    (lambda d: d.update(args={"mode": "force_primary"}), "forged"),       # args changed after signing
    (lambda d: d.update(id="c2"), "forged"),                              # id changed after signing
    (lambda d: d.update(sig=sign(b"other-key", "dev-1", "failover", "c1", d["ts"], d["nonce"], {})), "forged"),
    (lambda d: d.pop("sig"), "unsigned"),
    (lambda d: d.update(ts="1700000000"), "unsigned"),
    (lambda d: d.update(ts=True), "unsigned"),
    (lambda d: d.update(nonce="short"), "unsigned"),
    (lambda d: d.update(nonce="has space 123"), "unsigned"),
])
def test_tampered_or_incomplete_commands_are_refused(change, reason):
    d = doc()
    change(d)
    with pytest.raises(SignatureRejected) as e:
        check(d)
    assert e.value.reason == reason


def test_signature_binds_device_and_command_name():
    with pytest.raises(SignatureRejected, match="bad signature"):
        check(doc(), device="dev-2")
    with pytest.raises(SignatureRejected, match="bad signature"):
        check(doc(), name="modem_reset")


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
def test_outside_the_window_is_expired(skew):
    with pytest.raises(SignatureRejected) as e:
        check(doc(ts=1_700_000_000), now=1_700_000_000 - skew)
    assert e.value.reason == "expired"


def test_a_forged_command_does_not_consume_a_nonce():
    memory = Memory()
    bad = doc()
    bad["sig"] = "f" * 64
    with pytest.raises(SignatureRejected):
        check(bad, memory=memory)
    assert memory.seen == set()
    check(doc(), memory=memory)   # the genuine command with that nonce still passes
