"""What `relais status` and `relais watch` print, in process: colours only for a terminal that has them, the
watch loop's frames on a virtual clock, a lost agent said on screen."""
from __future__ import annotations

import io
from types import SimpleNamespace

from agent.console import cli


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colours_only_on_a_terminal_with_a_term_and_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert cli.colour_for(Tty()) is True
    assert cli.colour_for(io.StringIO()) is False          # a pipe, a file
    for term in ("dumb", ""):                              # a serial console's getty, cron
        monkeypatch.setenv("TERM", term)
        assert cli.colour_for(Tty()) is False
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")                    # https://no-color.org
    assert cli.colour_for(Tty()) is False
    assert cli.painter(False)("bad", "DOWN") == "DOWN"
    assert cli.painter(True)("bad", "DOWN") == "\x1b[1;31mDOWN\x1b[0m"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds + 0.25                         # each wake-up comes a quarter of a second late


def watch(path, out, count=3, clock=None):
    clock = clock or Clock()
    args = SimpleNamespace(interval=1.0, count=count, timeout=2.0)
    assert cli.run_watch(args, path, out=out, sleep=clock.sleep, clock=clock) == 0
    return clock


def test_watch_keeps_its_one_second_cadence_when_woken_late(live):
    out = io.StringIO()
    clock = watch(live.path, out)
    assert clock.slept == [1.0, 0.75]                      # the lateness is taken off the next wait: no drift
    frames = out.getvalue().split("--- relais watch  ")[1:]
    assert len(frames) == 3 and all("signal      : RSRP -97 dBm" in f for f in frames)


def test_watch_redraws_in_place_on_a_terminal(live, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Tty()
    watch(live.path, out, count=2)
    text = out.getvalue()
    assert text.count(cli.CLEAR) == 2 and text.startswith(cli.CLEAR)
    assert "--- relais watch" not in text


def test_watch_says_the_agent_is_gone_and_keeps_asking(short_dir):
    out = io.StringIO()
    watch(short_dir / "console.sock", out, count=2)
    text = out.getvalue()
    assert text.count(f"no answer from the agent: no console socket at {short_dir / 'console.sock'}") == 2
    assert "(asking again every 1 s)" in text


def test_one_line_leaves_out_what_is_not_known():
    assert cli.one_line({"from_slot": 1, "to_slot": 2, "rule": None}) == "from_slot 1, to_slot 2"
    assert cli.one_line({"a": {"b": 1}}) == "a b 1"
    assert cli.one_line("two\nlines") == "two lines"
    assert cli.one_line(None) == "null"


def test_control_characters_from_outside_never_reach_the_terminal():
    hostile = {"state": {"modem": {"operator_name": "Free\x1b]0;pwned\x07\x1b[2J", "registration": "home"}},
               "recent_events": [{"kind": "x\ny"}]}
    shown = cli.printable(hostile)
    assert shown["state"]["modem"]["operator_name"] == "Free?]0;pwned??[2J"
    assert shown["recent_events"] == [{"kind": "x?y"}]
    assert cli.printable([1, None, 2.5, True]) == [1, None, 2.5, True]
