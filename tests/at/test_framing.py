"""LineFramer: bytes in any chunking -> the same lines."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.at.framing import MAX_LINE, PROMPT, LineFramer


def frame(*chunks: bytes) -> list[str]:
    f = LineFramer()
    out = []
    for c in chunks:
        out.extend(f.feed(c))
    return out


@pytest.mark.parametrize("raw, lines", [
    (b"\r\nOK\r\n", ["OK"]),                                          # V1 framing
    (b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n", ["AT+CSQ", "+CSQ: 20,99", "OK"]),   # echo on
    (b"+CSQ: 20,99\rOK\r", ["+CSQ: 20,99", "OK"]),                    # bare CR (ATS4 changed)
    (b"+CSQ: 20,99\nOK\n", ["+CSQ: 20,99", "OK"]),                    # bare LF
    (b"\x00\x00\x00\r\nRDY\r\n", ["RDY"]),                            # NULs after USB re-enumeration
    (b"\xff\xfe\x80garbage\r\nOK\r\n", ["garbage", "OK"]),            # non-ASCII junk is dropped from the line
    (b"\x01\x02\x1b[0m\r\nOK\r\n", ["[0m", "OK"]),                    # control characters removed
    (b"AT+CMGS=\"+33612345678\"\r\r\n> ", ['AT+CMGS="+33612345678"', PROMPT]),  # SMS prompt, no line end
    (b"   \r\n\t\r\n", []),                                           # blank lines are nothing
    (b"+QENG: \"servingcell\",\"NOCONN\"\r\n", ['+QENG: "servingcell","NOCONN"']),
])
def test_frames(raw, lines):
    assert frame(raw) == lines


def test_partial_line_waits_for_its_end():
    f = LineFramer()
    assert f.feed(b"+CEREG: 0,") == []
    assert f.feed(b"1\r") == ["+CEREG: 0,1"]


def test_prompt_only_when_it_is_all_that_is_buffered():
    # "> " inside a line is text, not the prompt
    assert frame(b"> hello\r\n") == ["> hello"]


def test_overlong_run_is_cut_not_buffered_forever():
    f = LineFramer()
    out = f.feed(b"x" * (MAX_LINE + 10))
    assert out == ["x" * (MAX_LINE + 10)]
    assert f.feed(b"\r\nOK\r\n") == ["OK"]


def test_reset_forgets_half_line():
    f = LineFramer()
    f.feed(b"+CSQ: 1")
    f.reset()
    assert f.feed(b"OK\r\n") == ["OK"]


TRANSCRIPT = (b"\x00AT+COPS?\r\r\n+COPS: 0,0,\"Orange F\",7\r\n\r\n+CEREG: 1\r\n\r\nOK\r\n"
              b"\r\n+QIND: \"csq\",20,99\r\nAT+CMGS=\"1\"\r\r\n> ")
EXPECTED = ["AT+COPS?", '+COPS: 0,0,"Orange F",7', "+CEREG: 1", "OK", '+QIND: "csq",20,99', 'AT+CMGS="1"', PROMPT]


@given(st.lists(st.integers(min_value=0, max_value=len(TRANSCRIPT)), max_size=30))
@settings(max_examples=300)
def test_any_chunking_gives_the_same_lines(cuts):
    points = sorted(set(cuts))
    chunks = [TRANSCRIPT[a:b] for a, b in zip([0, *points], [*points, len(TRANSCRIPT)])]
    assert frame(*chunks) == EXPECTED


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_and_lines_are_clean(data):
    for line in frame(data):
        assert line == PROMPT or (line and line == line.strip())
        assert not any(ord(c) < 32 and c != "\t" for c in line)
