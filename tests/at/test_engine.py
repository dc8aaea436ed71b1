"""AtEngine: matching, finals, URCs mid-command, queue, timeouts, prompt — as tables, with time passed in."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.at.engine import AtEngine, Done, Failed, Rebooted, Send, Unsolicited
from modem.at.errors import AtError, AtTimeout, BusyError, ModemRestarted, TransportError


def run(command: str, reply: bytes, urc_prefixes: tuple[str, ...] = (), **kw):
    """Submit one command at t=0, feed the reply; return (outcomes of feed, engine). urc_prefixes: the vendor's
    unsolicited lines, as its plugin would register them."""
    e = AtEngine()
    e.urcs.set_vendor_prefixes(urc_prefixes)
    sent = e.submit(e.make_request(command, token="t", **kw), now=0.0)
    assert sent == [Send(command.encode() + b"\r")]
    return e.feed(reply, now=0.1), e


def done(outs):
    (d,) = [o for o in outs if isinstance(o, Done)]
    return d.response


def urcs(outs):
    return [o.line for o in outs if isinstance(o, Unsolicited)]


def test_csq_quectel_ec25_echo_on():
    outs, _ = run("AT+CSQ", b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
    r = done(outs)
    assert r.lines == ["+CSQ: 20,99"] and r.final == "OK"


def test_echo_off():
    outs, _ = run("AT+CSQ", b"\r\n+CSQ: 31,99\r\n\r\nOK\r\n")
    assert done(outs).lines == ["+CSQ: 31,99"]


@pytest.mark.parametrize("urc", [b"+CREG: 1", b'+QIND: "csq",20,99', b"+CGEV: ME PDN DEACT 1", b"+CPIN: READY", b"+CEREG: 5,\"1A2B\",\"01ABCDEF\",7",
                                 b'+CMTI: "SM",3', b"^HCSQ: \"LTE\",50,44,148,20"])
def test_urc_mid_command_goes_to_urc_never_into_reply(urc):
    outs, _ = run("AT+COPS?", b"AT+COPS?\r\r\n" + urc + b'\r\n+COPS: 0,0,"Orange F",7\r\n' + urc + b"\r\nOK\r\n")
    assert done(outs).lines == ['+COPS: 0,0,"Orange F",7']
    assert urcs(outs) == [urc.decode()] * 2


def test_urc_between_raw_identity_lines_quectel_ati():
    outs, _ = run("ATI", b"ATI\r\r\nQuectel\r\nRM500Q-GL\r\n+QIND: \"csq\",20,99\r\nRevision: RM500QGLABR11A06M4G\r\n\r\nOK\r\n",
                  urc_prefixes=("+QIND:",))
    assert done(outs).lines == ["Quectel", "RM500Q-GL", "Revision: RM500QGLABR11A06M4G"]


def test_unknown_unsolicited_line_during_prefixed_command_is_not_the_answer():
    outs, _ = run("AT+CSQ", b"+NEWFWURC: 1\r\n+CSQ: 5,99\r\nOK\r\n")
    assert done(outs).lines == ["+CSQ: 5,99"]
    assert urcs(outs) == ["+NEWFWURC: 1"]


def test_joined_commands_collect_both_prefixes():
    outs, _ = run("AT+CSQ;+CREG?", b"+CSQ: 20,99\r\n+CREG: 0,1\r\nOK\r\n")
    assert done(outs).lines == ["+CSQ: 20,99", "+CREG: 0,1"]


@pytest.mark.parametrize("final, kind, code, text", [
    ("ERROR", "ERROR", None, None),
    ("+CME ERROR: 10", "CME", 10, "SIM not inserted"),
    ("+CME ERROR: SIM not inserted", "CME", 10, "SIM not inserted"),     # AT+CMEE=2
    ("+CME ERROR: some new text", "CME", None, "some new text"),
    ("+CMS ERROR: 500", "CMS", 500, None),
    ("NO CARRIER", "NO CARRIER", None, None),
    ("BUSY", "BUSY", None, None),
    ("NO ANSWER", "NO ANSWER", None, None),
    ("NO DIALTONE", "NO DIALTONE", None, None),
    ("COMMAND NOT SUPPORT", "COMMAND NOT SUPPORT", None, None),           # Huawei
])
def test_error_finals_are_typed(final, kind, code, text):
    outs, _ = run("AT+CPIN?", f"\r\n{final}\r\n".encode())
    (f,) = [o for o in outs if isinstance(o, Failed)]
    assert isinstance(f.error, AtError)
    assert (f.error.kind, f.error.code, f.error.text) == (kind, code, text)


def test_connect_with_rate_is_success():
    outs, _ = run("ATD*99#", b"\r\nCONNECT 150000000\r\n")
    assert done(outs).final == "CONNECT 150000000"


def test_one_in_flight_and_fifo():
    e = AtEngine()
    assert e.submit(e.make_request("AT+CSQ", token=1), 0.0) == [Send(b"AT+CSQ\r")]
    assert e.submit(e.make_request("AT+CREG?", token=2), 0.0) == []        # waits
    outs = e.feed(b"+CSQ: 1,99\r\nOK\r\n", 0.1)
    assert [type(o) for o in outs] == [Done, Send] and outs[1] == Send(b"AT+CREG?\r")
    outs = e.feed(b"+CREG: 0,1\r\nOK\r\n", 0.2)
    assert done(outs).lines == ["+CREG: 0,1"] and not e.busy()


def test_timeout_fails_command_and_starts_next():
    e = AtEngine()
    e.submit(e.make_request("AT+CSQ", timeout=2.0, token=1), 0.0)
    e.submit(e.make_request("AT", token=2), 0.0)
    assert e.poll(1.9) == []
    outs = e.poll(2.0)
    assert isinstance(outs[0], Failed) and isinstance(outs[0].error, AtTimeout)
    assert outs[1] == Send(b"AT\r")


def test_late_final_after_timeout_is_dropped_not_given_to_next():
    e = AtEngine()
    e.submit(e.make_request("AT+CSQ", timeout=1.0, token=1), 0.0)
    e.poll(5.0)
    assert e.feed(b"+CSQ: 9,99\r\nOK\r\n", 5.1) == [Unsolicited("+CSQ: 9,99")]


def test_timeout_comes_from_the_policy_the_engine_is_given():
    # The engine knows no vendor: whoever knows the modem (modem.device, from its plugin) says how long.
    assert AtEngine().make_request("AT+COPS=?").timeout == 5.0
    e = AtEngine(timeout_for=lambda command: 180.0 if command.startswith("AT+COPS=") else 2.0)
    assert (e.make_request("AT+COPS=?").timeout, e.make_request("AT+CSQ").timeout) == (180.0, 2.0)
    assert e.make_request("AT+COPS=?", timeout=7.0).timeout == 7.0


def test_reboot_mid_command_fails_it_at_once_and_is_reported():
    outs, e = run("AT+CSQ", b"\r\nRDY\r\n")
    kinds = [type(o) for o in outs]
    assert Rebooted in kinds
    (f,) = [o for o in outs if isinstance(o, Failed)]
    assert isinstance(f.error, ModemRestarted) and not e.busy()


def test_cfun_urc_after_asked_radio_on_is_not_a_reboot():
    outs, _ = run("AT+CFUN=1", b"\r\n+CFUN: 1\r\n\r\nOK\r\n")
    assert not any(isinstance(o, Rebooted) for o in outs)
    assert done(outs).final == "OK"


def test_cfun_urc_unasked_is_a_reboot():
    e = AtEngine()
    outs = e.feed(b"\r\n+CFUN: 1\r\n", 0.0)
    assert Rebooted("+CFUN: 1") in outs


def test_sms_prompt_sends_body_with_ctrl_z():
    e = AtEngine()
    e.submit(e.make_request('AT+CMGS="+33612345678"', body=b"fiber down", token=1), 0.0)
    outs = e.feed(b'AT+CMGS="+33612345678"\r\r\n> ', 0.1)
    assert outs == [Send(b"fiber down\x1a")]
    outs = e.feed(b"\r\n+CMGS: 42\r\n\r\nOK\r\n", 2.0)
    assert done(outs).lines == ["+CMGS: 42"]


def test_sms_timeout_without_prompt_sends_escape():
    e = AtEngine()
    e.submit(e.make_request('AT+CMGS="1"', body=b"x", timeout=1, token=1), 0.0)
    outs = e.poll(1.0)
    assert outs[0] == Send(b"\x1b")


def test_fail_all_when_port_lost():
    e = AtEngine()
    e.submit(e.make_request("AT+CSQ", token=1), 0.0)
    e.submit(e.make_request("AT+CREG?", token=2), 0.0)
    e.feed(b"+CSQ: 1", 0.0)                       # half a line from the old port
    outs = e.fail_all(TransportError("gone"))
    assert [o.token for o in outs] == [1, 2] and not e.busy()
    e.submit(e.make_request("AT", token=3), 1.0)
    assert done(e.feed(b"OK\r\n", 1.1)).lines == []  # the half line was forgotten


def test_queue_is_bounded():
    e = AtEngine()
    for i in range(AtEngine.MAX_QUEUE + 1):
        e.submit(e.make_request("AT", token=i), 0.0)
    with pytest.raises(BusyError):
        e.submit(e.make_request("AT", token="x"), 0.0)


def test_registered_urc_overrides_default_classification():
    e = AtEngine()
    seen = []
    e.urcs.add("+QNEWVENDOR:", seen.append)
    e.submit(e.make_request("AT+QENG=\"servingcell\"", token=1), 0.0)
    outs = e.feed(b'+QNEWVENDOR: 1\r\n+QENG: "servingcell","NOCONN"\r\nOK\r\n', 0.1)
    assert done(outs).lines == ['+QENG: "servingcell","NOCONN"']
    e.urcs.dispatch("+QNEWVENDOR: 1")("+QNEWVENDOR: 1")
    assert seen == ["+QNEWVENDOR: 1"]


REPLY = b"AT+CEREG?\r\r\n+CEREG: 2,1,\"1A2B\",\"01ABCDEF\",7\r\n+QIND: \"csq\",20,99\r\n\r\nOK\r\n"


@given(st.lists(st.integers(min_value=0, max_value=len(REPLY)), max_size=20))
@settings(max_examples=200)
def test_reply_split_anywhere_gives_same_answer(cuts):
    e = AtEngine()
    e.submit(e.make_request("AT+CEREG?", token=1), 0.0)
    pts = sorted(set(cuts))
    outs = []
    for a, b in zip([0, *pts], [*pts, len(REPLY)]):
        outs += e.feed(REPLY[a:b], 0.1)
    assert done(outs).lines == ['+CEREG: 2,1,"1A2B","01ABCDEF",7']
    assert urcs(outs) == ['+QIND: "csq",20,99']


@given(st.binary(max_size=500))
def test_garbage_then_a_clean_command_still_works(junk):
    e = AtEngine()
    e.feed(junk, 0.0)
    e.feed(b"\r\n", 0.0)
    # whatever the junk did (it may even have looked like a final), the next command gets its own answer
    if e.busy():
        e.poll(100.0)
    e.submit(e.make_request("AT+CSQ", token=9), 200.0)
    outs = e.feed(b"\r\n+CSQ: 7,99\r\n\r\nOK\r\n", 200.1)
    assert done(outs).lines == ["+CSQ: 7,99"]


def test_line_noise_glued_before_the_answer_is_cut_off():
    outs, _ = run("AT+CSQ", b"AT+CSQ\r\r\n#$%junk+CSQ: 20,99\r\n\r\nOK\r\n")
    assert done(outs).lines == ["+CSQ: 20,99"]


def test_line_noise_glued_before_the_echo_of_a_raw_command():
    outs, _ = run("ATI", b"%&#ATI\r\r\nQuectel\r\nEC25\r\n\r\nOK\r\n")
    assert done(outs).lines == ["Quectel", "EC25"]


# ---- secrets in error messages (issue 10, defect 4: a PIN with quotes and ';' showed in the log) --------------
@pytest.mark.parametrize("command", ['AT+CPIN="1111";+CFUN=0;""', 'AT+CPIN="1111"', "AT+CPIN=1111,2222",
                                     'AT+CGAUTH=1,1,"user","s3cr3t;x"', 'AT+QICSGP=1,1,"apn","u","pw",1'])
def test_errors_never_carry_the_secret(command):
    from modem.at.errors import AtError, AtTimeout
    for error in (AtError(command, "ERROR", "ERROR"), AtTimeout(command, 5.0)):
        for secret in ("1111", "2222", "s3cr3t", "pw"):
            if secret in command.split("=", 1)[1]:
                assert secret not in str(error) and secret not in error.command, str(error)
        assert "***" in str(error)


def test_a_restart_during_the_pin_command_does_not_show_the_pin():
    # Found by `make fuzz` (at_engine): the ModemRestarted message carried the command as sent.
    from modem.at.engine import AtEngine, Failed
    engine = AtEngine()
    engine.submit(engine.make_request('AT+CPIN="48151623"', token=1), 0.0)
    outs = engine.feed(b"RDY\r\n", 0.1)
    failed = [o for o in outs if isinstance(o, Failed)]
    assert failed and "48151623" not in str(failed[0].error) and "restarted" in str(failed[0].error)

def test_vendor_urc_prefixes_sit_between_handlers_and_defaults_and_are_replaced():
    from modem.at.urc import UrcRegistry
    r = UrcRegistry()
    seen: list[str] = []
    r.add("+QIND: \"csq\"", seen.append)               # a handler someone registered: it wins
    r.set_vendor_prefixes(("+QIND:", "RDY"))
    assert r.dispatch('+QIND: "csq",20,99') is not None and r.is_urc("+QIND: 1") and r.is_urc("RDY")
    assert r.is_urc("+CEREG: 1")                        # the 3GPP defaults stay
    r.set_vendor_prefixes(("^HCSQ:",))                  # another vendor's: the previous ones go
    assert not r.is_urc("+QIND: 1") and r.is_urc('^HCSQ: "LTE",50,40,120,20')
    assert r.is_urc('+QIND: "csq",20,99')               # the handler was not the vendor's to remove
