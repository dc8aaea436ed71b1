"""`relais modem decode` end to end, through agent/cli.py's parser and a real subprocess for the batch mode."""
import io
import json
import subprocess
import sys
from types import SimpleNamespace

from modem import decode_cli


def run(stdin: str, command=None, vendor=None, batch=False):
    out = io.StringIO()
    if batch:
        rc = decode_cli.run_batch(io.StringIO(stdin), out)
    else:
        rc = decode_cli.run_single(io.StringIO(stdin), out, command, vendor)
    return rc, out.getvalue()


def test_single_with_echo_and_ok():
    rc, out = run("AT+CSQ\r\n+CSQ: 20,99\r\n\r\nOK\r\n", command="AT+CSQ")
    assert rc == 0 and json.loads(out) == {"rssi_dbm": -73, "ber": None}


def test_single_without_command_is_urc():
    rc, out = run("+CEREG: 5\n")
    assert json.loads(out) == {"registration": "roaming"}


def test_single_cme_error_is_an_answer_not_a_failure():
    rc, out = run("+CME ERROR: 10\n", command="AT+CPIN?")
    assert rc == 0 and json.loads(out) == {"cme_error": 10, "sim_state": "NOT INSERTED"}


def test_single_undecodable_gives_error_and_exit_1():
    rc, out = run("hello\n", command="AT+CSQ")
    assert rc == 1 and "error" in json.loads(out)


def test_batch_one_answer_per_line_in_order():
    lines = [
        json.dumps({"command": "AT+CSQ", "response": ["+CSQ: 31,0", "OK"], "vendor": None}),
        "not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"command": 7, "response": []}),
        json.dumps({"command": "AT+COPS?", "response": "+COPS: 0,2,\"26201\",7\nOK", "vendor": "telit"}),
        json.dumps({"command": None, "response": ["+CREG: 1"]}),
        json.dumps({"command": "AT+CREG?", "response": [1, 2]}),
        "{" * 5000,
        json.dumps({"command": "AT+CSQ", "response": ["+CSQ: 99,99"], "vendor": 3}),
    ]
    rc, out = run("\n".join(lines) + "\n", batch=True)
    answers = [json.loads(x) for x in out.splitlines()]
    assert len(answers) == len(lines)
    assert answers[0] == {"rssi_dbm": -51, "ber": 0}
    assert all("error" in answers[i] for i in (1, 2, 3, 4, 7, 8, 9))
    assert answers[5] == {"mcc": "262", "mnc": "01", "rat": "LTE"}
    assert answers[6] == {"registration": "home"}


def test_batch_last_line_without_newline_still_answered():
    rc, out = run(json.dumps({"command": "AT+CSQ", "response": ["+CSQ: 0,0"]}), batch=True)
    assert json.loads(out) == {"rssi_dbm": -113, "ber": 0}


def test_batch_oversized_line_costs_one_error_line(monkeypatch):
    monkeypatch.setattr(decode_cli, "MAX_BATCH_LINE", 100)
    big = json.dumps({"command": "AT+CSQ", "response": ["+CSQ: 1,1" + " " * 500]})
    ok = json.dumps({"command": "AT+CSQ", "response": ["+CSQ: 2,2"]})
    rc, out = run(big + "\n" + ok + "\n", batch=True)
    answers = [json.loads(x) for x in out.splitlines()]
    assert len(answers) == 2 and "error" in answers[0] and answers[1]["rssi_dbm"] == -109


def test_run_decode_reads_args(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO('+QENG: "servingcell","SEARCH"\nOK\n'))
    rc = decode_cli.run_decode(SimpleNamespace(command='AT+QENG="servingcell"', vendor="quectel", batch=False))
    assert rc == 0 and json.loads(capsys.readouterr().out) == {"state": "searching"}


def test_relais_entry_point_batch_subprocess():
    payload = "\n".join([json.dumps({"command": "AT+CESQ", "response": ["+CESQ: 99,99,255,255,31,62"]}),
                         "\x00\x01 binary junk", json.dumps({"command": "AT+CGSN", "response": ["358...", "OK"]})])
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "modem", "decode", "--batch"], input=payload,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(answers) == 3
    assert answers[0]["rsrp_dbm"] == -79 and "error" in answers[1] and "error" in answers[2]


# ---- issue 10, defect 9: nothing silently ignored, nothing silently cut ------------------------------------
def test_an_unknown_vendor_is_an_error_not_ignored():
    rc, out = run("+CSQ: 20,99\n", command="AT+CSQ", vendor="nokia")
    assert rc == 1 and json.loads(out)["error"].startswith("unknown vendor 'nokia' (known: quectel")
    rc, out = run("+CSQ: 20,99\n", command="AT+CSQ", vendor="Quectel")     # a known one, any case
    assert rc == 0


def test_letters_where_numbers_belong_are_an_error():
    for command, line in (("AT+CSQ", "+CSQ: abc"), ("AT+CSQ", "+CSQ: ,"), ("AT+CESQ", "+CESQ: a,b,c,d,e,f")):
        rc, out = run(line + "\n", command=command)
        assert rc == 1 and "cannot decode" in json.loads(out)["error"], (line, out)
    rc, out = run("+CSQ: 99,99\n", command="AT+CSQ")        # unknown values are an answer
    assert rc == 0 and json.loads(out) == {"rssi_dbm": None, "ber": None}


def test_what_is_cut_is_said():
    rc, out = run("+CSQ: 20,99\n" * 2500, command="AT+CSQ")
    assert rc == 0 and json.loads(out)["truncated"] == "only the first 2000 of 2500 lines decoded"
    rc, out = run("+CSQ: 20,99" + " " * 5000 + "\n", command="AT+CSQ")
    assert json.loads(out)["truncated"] == "lines longer than 4096 characters cut"
    rc, out = run("+CSQ: 20,99\n", command="AT+CSQ")
    assert "truncated" not in json.loads(out)
