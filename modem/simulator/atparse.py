"""Command-line syntax of V.250 / 3GPP TS 27.007 as a modem sees it. Pure functions, no state.

    AT<basic>...[;]<extended>[;<extended>...]

Basic commands: a letter and digits (E0, V1, I, Z), &<letter><digits> (&F, &D2), S<n>=<v> / S<n>?, D<rest>.
Extended commands: a prefix (+ # ! ^ $ * %) and a name, then nothing (action), '?' (read), '=?' (test) or
'=<args>' (set); they are separated by ';' outside double quotes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

EXTENDED_PREFIXES = "+#!^$*%"
_NAME = re.compile(r"[A-Za-z0-9_./\-]*")


class SyntaxErrorAT(ValueError):
    """The command line is not well formed (unbalanced quotes, stray characters ...): the modem says ERROR."""


@dataclass(frozen=True)
class Command:
    name: str           # upper case: "+CSQ", "E", "I", "&F", "S0", "D"
    kind: str           # "action" | "read" | "test" | "set"
    raw: str = ""       # the text after '=' for set commands (after the letter for basic ones)
    args: tuple[str, ...] = ()      # raw split on commas outside quotes, quotes removed, blanks stripped
    quoted: tuple[bool, ...] = ()   # whether each arg was quoted

    def arg(self, i: int, default: str | None = None) -> str | None:
        if i < len(self.args) and self.args[i] != "":
            return self.args[i]
        return default

    def int_arg(self, i: int, default: int | None = None) -> int | None:
        """The i-th argument as an int; ValueError if it is not one."""
        v = self.arg(i)
        if v is None:
            return default
        return int(v, 10)


def find_at(line: str) -> str | None:
    """Return the text after the 'AT' prefix, or None if the line has none (any case; junk before is dropped, as a
    real modem hunting for 'AT' does)."""
    m = re.search(r"[Aa][Tt]", line)
    if m is None:
        return None
    return line[m.end():]


def split_args(text: str) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """'1,"IP","a,b"' -> ('1', 'IP', 'a,b'). Raises SyntaxErrorAT on an unbalanced quote."""
    args: list[str] = []
    quoted: list[bool] = []
    cur: list[str] = []
    in_q = False
    was_q = False
    for ch in text:
        if ch == '"':
            in_q = not in_q
            was_q = True
            continue
        if ch == "," and not in_q:
            args.append("".join(cur).strip() if not was_q else "".join(cur))
            quoted.append(was_q)
            cur, was_q = [], False
            continue
        cur.append(ch)
    if in_q:
        raise SyntaxErrorAT("unbalanced quote")
    if text != "" or args:
        args.append("".join(cur).strip() if not was_q else "".join(cur))
        quoted.append(was_q)
    return tuple(args), tuple(quoted)


def _extended_end(body: str, i: int) -> int:
    """Index of the ';' ending the extended command starting at i (or len(body)), honouring quotes."""
    in_q = False
    while i < len(body):
        ch = body[i]
        if ch == '"':
            in_q = not in_q
        elif ch == ";" and not in_q:
            return i
        i += 1
    if in_q:
        raise SyntaxErrorAT("unbalanced quote")
    return i


def parse_line(body: str) -> list[Command]:
    """Split what follows 'AT' into commands. Raises SyntaxErrorAT."""
    cmds: list[Command] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch in " ;":
            i += 1
            continue
        if ch in EXTENDED_PREFIXES:
            m = _NAME.match(body, i + 1)
            name = (ch + m.group(0)).upper()
            if len(name) < 2:
                raise SyntaxErrorAT("empty command name")
            j = m.end()
            end = _extended_end(body, j)
            rest = body[j:end]
            if rest == "":
                cmds.append(Command(name, "action"))
            elif rest == "?":
                cmds.append(Command(name, "read"))
            elif rest == "=?":
                cmds.append(Command(name, "test"))
            elif rest.startswith("="):
                args, quoted = split_args(rest[1:])
                cmds.append(Command(name, "set", rest[1:], args, quoted))
            else:
                raise SyntaxErrorAT(f"unexpected {rest!r} after {name}")
            i = end
            continue
        up = ch.upper() if ch.isascii() else ""       # 'ß'.upper() is 'SS': only ASCII letters are commands
        if up == "D":                          # dial: the rest of the line is the dial string
            rest = body[i + 1:]
            cmds.append(Command("D", "set", rest, (rest,), (False,)))
            break
        if up == "S":
            m = re.match(r"[Ss](\d+)(\?|=(\d*))", body[i:])
            if not m:
                raise SyntaxErrorAT("bad S-register syntax")
            name = f"S{int(m.group(1))}"
            if m.group(2) == "?":
                cmds.append(Command(name, "read"))
            else:
                cmds.append(Command(name, "set", m.group(3), (m.group(3),), (False,)))
            i += m.end()
            continue
        if up == "&":
            m = re.match(r"&([A-Za-z])(\d*)", body[i:])
            if not m:
                raise SyntaxErrorAT("bad & command")
            cmds.append(Command("&" + m.group(1).upper(), "action", m.group(2), (m.group(2),) if m.group(2) else ()))
            i += m.end()
            continue
        if up.isalpha():
            m = re.match(r"[A-Za-z](\d*)", body[i:])
            digits = m.group(1)
            cmds.append(Command(up, "action", digits, (digits,) if digits else ()))
            i += m.end()
            continue
        raise SyntaxErrorAT(f"unexpected character {ch!r}")
    return cmds
