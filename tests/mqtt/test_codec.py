import dataclasses
import enum
import json

import cbor2
import pytest

from agent.config import Secret
from agent.mqtt.codec import DecodeError, decode_map, encode, sniff, to_plain


class Rat(enum.Enum):
    LTE = "LTE"


@dataclasses.dataclass
class Cell:
    rat: Rat
    pci: int


def test_to_plain_never_leaks_a_secret():
    state = {"sim": {"pin": Secret("1234")}, "list": [Secret("abcd")], "cell": Cell(Rat.LTE, 7),
             "t": (1, 2), "nan": float("nan"), "b": b"\x01\x02"}
    plain = to_plain(state)
    assert plain == {"sim": {"pin": "***"}, "list": ["***"], "cell": {"rat": "LTE", "pci": 7}, "t": [1, 2],
                     "nan": None, "b": "0102"}
    for fmt in ("json", "cbor"):
        assert b"1234" not in encode(plain, fmt) and b"abcd" not in encode(plain, fmt)
    # Why to_plain exists: the encoders write a str subclass's real content.
    assert b"1234" in cbor2.dumps({"pin": Secret("1234")})
    assert "1234" in json.dumps({"pin": Secret("1234")})


@pytest.mark.parametrize("payload, fmt", [(b'{"id":1}', "json"), (b'  \n{"id":1}', "json"),
                                          (cbor2.dumps({"id": 1}), "cbor"), (b"", None), (b"hello", None),
                                          (cbor2.dumps([1]), None)])
def test_sniff(payload, fmt):
    assert sniff(payload) == fmt


@pytest.mark.parametrize("payload, message", [
    (b"\xff\xfe{", "not a JSON object or CBOR map"),
    (b'{"id": 1', "undecodable json"),
    (b'{"id": "\xff"}', "undecodable json"),
    (b'{"a": NaN}', "NaN is not a number"),
    (b'{"a": 1} trailing', "undecodable json"),
    (b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
    (cbor2.dumps({"id": "1"}) + b"xx", "2 bytes after the CBOR map"),
    (cbor2.dumps({1: 2}), "map keys must be strings"),
    (cbor2.dumps({"a": b"bytes"}), "bytes values are not accepted"),
    (b"\xa1\x62id\xc1\x1a\x00\x00\x00\x01", "datetime values are not accepted"),     # tag 1: epoch time
    (b"\xa1\x62id\xd9\x27\x0f\x01", "undecodable cbor"),                             # unknown tag 9999
    (b"\xbb\xff\xff\xff\xff\xff\xff\xff\xff", "undecodable cbor"),                   # a map of 2^64 entries
    (b"\xa1\x62id\x5b\xff\xff\xff\xff\xff\xff\xff\xff", "undecodable cbor"),         # 2^64-byte string
    (cbor2.dumps({"a": float("inf")}), "non-finite number"),
])
def test_decode_map_refuses_with_a_reason(payload, message):
    with pytest.raises(DecodeError, match=message):
        decode_map(payload)


def test_decode_map_accepts_plain_documents():
    doc = {"id": "a1", "args": {"mode": "force_backup", "n": 3, "x": 1.5, "l": [True, None]}}
    assert decode_map(json.dumps(doc).encode()) == ("json", doc)
    assert decode_map(cbor2.dumps(doc)) == ("cbor", doc)
