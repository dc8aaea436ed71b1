"""`relais status` reads a file a person may have edited or a crash half-written: any JSON renders or gets one
clear line, never a traceback (issue 10, defect 9)."""
import json
import subprocess
import sys

import pytest

from agent.status_file import render


def status(tmp_path, text):
    (tmp_path / "status.json").write_text(text)
    return subprocess.run([sys.executable, "-m", "agent.cli", "status", "--storage", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("text", ["[1, 2]", "3", '"x"', "null"])
def test_json_of_another_shape_is_one_clear_line(tmp_path, text):
    r = status(tmp_path, text)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert "not a relais status file" in r.stderr


@pytest.mark.parametrize("doc", [
    {"state": [1]}, {"state": {"modem": "x", "failover": {"links": {"primary": 5}}}},
    {"state": {"modem": {"signal": [1]}}}, {"recent_events": [1, {"ts": "soon"}, {"ts": 1e300}, {}]},
    {"recent_events": {"a": 1}},
])
def test_wrong_shapes_inside_render_with_question_marks(tmp_path, doc):
    text = render(doc)
    assert text.startswith("relais ?")
    r = status(tmp_path, json.dumps(doc))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
