"""Hypothesis: no input line crashes a parser, decode() or the batch CLI, and the batch never loses a line."""
import io
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from modem import decode, decode_cli
from modem.decoder import command_table, prefix_table

# Every parser, generic and every vendor plugin's: the merged views of the one registry.
COMMANDS, PREFIXES = command_table(), prefix_table()

TOKENS = st.sampled_from(["0", "1", "2", "5", "7", "11", "13", "99", "255", "-32768", "32767", "-", "--", "", "FFFF",
                          "0x1A2B", "1a2b", "-94", "-850", "12.5", "-14.0", '"LTE"', '"FDD"', '"NR5G-NSA"',
                          '"servingcell"', '"NOCONN"', '"310 260"', '"26201"', '"004D006F"', "460-11", "EUTRAN-BAND3",
                          "NR5G_BAND78", "(1,2)", "(0-4)", '"', "(", ")", ",", "\t", "n78", "B3", "---", "NaN",
                          "1e999", "9" * 40])
PREFIX_NAMES = sorted(PREFIXES) + ["+COPS", "+CREG", "+QENG", "!GSTATUS", "#RFSTS", "+CPSI", "Serving", "LTE band"]


@st.composite
def at_line(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.text(max_size=80))
    prefix = draw(st.sampled_from(PREFIX_NAMES))
    fields = draw(st.lists(TOKENS, max_size=25))
    sep = draw(st.sampled_from([": ", ":", " : ", "", ":  "]))
    return prefix + sep + draw(st.sampled_from([",", ", ", " "])).join(fields)


LINES = st.lists(at_line(), max_size=12)
COMMAND_NAMES = st.one_of(st.none(), st.sampled_from(sorted(COMMANDS) + ['AT+QENG="neighbourcell"', "ATI",
                                                                          "AT+CSQ", "at+cops=?", "AT",
                                                                          "AT+CSQ;+COPS?;+CREG?", "AT+CMEE=2;+CPIN?",
                                                                          "AT+CGMI;+CGMM;I", ";;"]),
                          st.text(max_size=20))
VENDORS = st.one_of(st.none(), st.sampled_from(["quectel", "simcom", "sierra", "telit", "huawei", "ublox", "fibocom",
                                                "generic", "nokia", ""]), st.text(max_size=8))
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(lines=LINES)
def test_every_parser_survives_any_lines(lines):
    for parser in set(COMMANDS.values()) | set(PREFIXES.values()):
        result = parser(lines)
        assert isinstance(result, dict)


@FAST
@given(command=COMMAND_NAMES, lines=LINES, vendor=VENDORS)
def test_decode_always_returns_a_json_object(command, lines, vendor):
    result = decode(command, lines, vendor)
    assert isinstance(result, dict) and result
    json.dumps(result, allow_nan=False)


@FAST
@given(lines=st.one_of(st.none(), st.integers(), st.text(), st.lists(st.one_of(st.text(), st.integers(), st.none()))))
def test_decode_rejects_wrong_types_with_an_error(lines):
    result = decode("AT+CSQ", lines)
    assert isinstance(result, dict)


@FAST
@given(records=st.lists(st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=60),
    st.builds(lambda c, r, v: json.dumps({"command": c, "response": r, "vendor": v}), COMMAND_NAMES, LINES, VENDORS),
    st.builds(json.dumps, st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                                       lambda x: st.lists(x, max_size=3) | st.dictionaries(st.text(max_size=3), x,
                                                                                           max_size=3),
                                       max_leaves=8))), max_size=15))
def test_batch_answers_every_line_in_order(records):
    stdin = "".join(r.replace("\n", " ") + "\n" for r in records)
    out = io.StringIO()
    decode_cli.run_batch(io.StringIO(stdin, newline="\n"), out)
    answers = out.getvalue().split("\n")
    assert answers[-1] == ""
    assert len(answers) - 1 == len(records)
    for a in answers[:-1]:
        assert isinstance(json.loads(a), dict)
