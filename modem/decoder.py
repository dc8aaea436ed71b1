"""modem.decode(command, lines, vendor=None) -> dict: one AT response (or a batch of URCs) as plain values.

Output keys (a key the response does not carry is left out; a value the modem marks unknown is None):
  rssi_dbm ber rsrp_dbm rsrq_db sinr_db rscp_dbm ecio_db      signal, in real units (floats for tenths)
  rat                 GSM | UMTS | LTE | LTE-M | NB-IoT | NR5G-NSA | NR5G-SA
  operator_name operator_short mcc mnc                        strings; "01" keeps its zero
  registration        not_registered home searching denied unknown roaming home_sms_only roaming_sms_only
                      emergency home_csfb_not_preferred roaming_csfb_not_preferred rlos
  lac_tac cell_id     uppercase hex without 0x
  band bands earfcn arfcn pci bandwidth_mhz
  nr_nsa_bands nr_sa_bands umts_bands bands_mhz              band configuration reads (#BND?, +UACT?, +UBANDSEL?)
  rsrp_dbm_per_antenna sinr_db_per_antenna rssi_dbm_per_antenna   +QRSRP / +QSINR / +QRSSI, one value per Rx branch
  iccid imsi imei manufacturer model revision sim_state sim_slot sim_inserted
  lte / nr            EN-DC: the anchor and the NR leg (rat NR5G-NSA)
  carriers            carrier aggregation, one dict per component carrier
  networks            +COPS=? scan: availability operator_name operator_short mcc mnc rat
  cells               neighbour / survey lists
  clock_utc clock_local tz_quarters dst_hours nitz          +CCLK / +CTZV / +CTZE (modem/parsers/clock.py)
  sms sms_storage sms_index mr                              +CMGR / +CMGL / +CMTI / +CMGS (modem/parsers/sms.py)
  cme_error           final ERROR (text "ERROR"), +CME ERROR / +CMS ERROR (number, or the text)
  error               the input could not be decoded (why, in words)
  parts               a compound command line 'AT+A;+B;+C': one dict per command, in order, each with "command" and
                      that command's decoded values; the values of the answered parts are merged at the top level
                      too (first wins). When an ERROR ends the line, the parts answered before it keep their values,
                      the part that failed carries the cme_error and the parts after it {"error": "not run ..."}.
"""
from __future__ import annotations

import functools
import re
from typing import Callable

from modem import vendors
from modem.at.commands import normalize_command
from modem.parsers import clock, ident, network, registration, signal, sms

Parser = Callable[[list[str]], dict]
MAX_LINES = 2000
MAX_LINE_LEN = 4096
MAX_PARTS = 64          # commands on one AT line; modems cap the line near 500 characters anyway

# The generic 3GPP parsers: normalised command -> parser. Keys are what normalize_command() returns; "+X=*" matches
# any set form. A vendor's own commands are its plugin's (modem/vendors/*.py `parsers`); find_parser() says the
# order in which the two are looked up.
COMMANDS: dict[str, Parser] = {
    "I": ident.parse_ati, "I0": ident.parse_ati, "I1": ident.parse_ati, "+GMI": ident.parse_cgmi,
    "+CGMI": ident.parse_cgmi, "+CGMI?": ident.parse_cgmi, "+CGMM": ident.parse_cgmm, "+GMM": ident.parse_cgmm,
    "+CGMR": ident.parse_cgmr, "+GMR": ident.parse_cgmr, "+CGSN": ident.parse_cgsn,
    "+CGSN=*": ident.parse_cgsn, "+GSN": ident.parse_cgsn, "+CIMI": ident.parse_cimi,
    # every vendor's spelling of the ICCID query answers the same way
    "+CCID": ident.parse_iccid, "+CCID?": ident.parse_iccid, "+QCCID": ident.parse_iccid,
    "+ICCID": ident.parse_iccid, "+CICCID": ident.parse_iccid, "^ICCID?": ident.parse_iccid,
    "^ICCID": ident.parse_iccid, "#CCID": ident.parse_iccid, "!ICCID?": ident.parse_iccid,
    "+CRSM=*": ident.parse_crsm_iccid, "+CPIN?": ident.parse_cpin,
    "+CSQ": signal.parse_csq, "+CESQ": signal.parse_cesq,
    "+COPS?": network.parse_cops_read, "+COPS=?": network.parse_cops_test,
    "+CREG?": registration.parse_registration, "+CGREG?": registration.parse_registration,
    "+CEREG?": registration.parse_registration, "+C5GREG?": registration.parse_registration,
    "+CCLK?": clock.parse_cclk, "%CCLK?": clock.parse_cclk, "+CMGR=*": sms.parse_cmgr, "+CMGL": sms.parse_cmgl,
    "+CMGL=*": sms.parse_cmgl, "+CMGS=*": sms.parse_cmgs,
}

# The generic response / URC prefix -> parser, for unsolicited lines and for commands no table knows.
PREFIXES: dict[str, Parser] = {
    "+CREG": registration.parse_registration, "+CGREG": registration.parse_registration,
    "+CEREG": registration.parse_registration, "+C5GREG": registration.parse_registration,
    "+CSQ": signal.parse_csq, "+CESQ": signal.parse_cesq, "+CPIN": ident.parse_cpin,
    "+CCID": ident.parse_iccid, "+QCCID": ident.parse_iccid, "+ICCID": ident.parse_iccid,
    "^ICCID": ident.parse_iccid, "#CCID": ident.parse_iccid, "!ICCID": ident.parse_iccid,
    "+CICCID": ident.parse_iccid, "+CRSM": ident.parse_crsm_iccid,
    "+CCLK": clock.parse_cclk, "+CTZV": clock.parse_ctz, "+CTZE": clock.parse_ctz, "+CTZEU": clock.parse_ctz,
    "+CMTI": sms.parse_cmti, "+CMGS": sms.parse_cmgs, "+CMGR": sms.parse_cmgr, "+CMGL": sms.parse_cmgl,
}


@functools.lru_cache(maxsize=16)   # one per vendor name a process uses
def command_table(vendor: str | None = None) -> dict[str, Parser]:
    """Command key -> parser as find_parser() sees it for `vendor` (a canonical plugin name or None)."""
    return _merged(vendor, "parsers", COMMANDS)


@functools.lru_cache(maxsize=16)
def prefix_table(vendor: str | None = None) -> dict[str, Parser]:
    """Response prefix -> parser in the same order as command_table()."""
    return _merged(vendor, "prefix_parsers", PREFIXES)


@functools.lru_cache(maxsize=1)
def _multiline_prefixes() -> frozenset[str]:
    return frozenset(p for plugin in vendors.all_plugins() for p in plugin.multiline_prefixes)


def _merged(vendor: str | None, attr: str, generic: dict[str, Parser]) -> dict[str, Parser]:
    """The named vendor's plugin, then the generic table, then every other plugin: a command only one vendor
    spells is decoded whoever asks (a capture from an unknown modem, `relais modem decode` without --vendor)."""
    named = [getattr(vendors.get(vendor), attr)] if vendor else []
    table: dict[str, Parser] = {}
    for layer in named + [generic] + [getattr(p, attr) for p in vendors.all_plugins()]:
        for key, parser in layer.items():
            table.setdefault(key, parser)
    return table


_FINAL_OK = {"OK", "CONNECT", "NO CARRIER", "NO DIALTONE", "BUSY", "NO ANSWER", "RING"}
_FINAL_ERR = re.compile(r"^(?:\+CME ERROR|\+CMS ERROR|\+EXT ERROR)\s*:?\s*(.*)$", re.I)
_BARE_ERR = {"ERROR", "COMMAND NOT SUPPORT", "COMMAND NOT SUPPORTED", "TOO MANY PARAMETERS", "ABORTED"}
_PREFIX_RE = re.compile(r"^\s*([+^!#$%*][A-Za-z0-9_]+)\s*:")
_CMD_RE = re.compile(r"^([+^!#$%*&]?[A-Za-z][A-Za-z0-9_]*|[+^!#$%*&]?\d+)(.*)$", re.S)
_SIM_COMMANDS = ("+CPIN", "+CIMI", "+CCID", "+QCCID", "+ICCID", "+CICCID", "^ICCID", "#CCID", "!ICCID", "+CRSM")


def _command_key(norm: str) -> tuple[str, str]:
    m = _CMD_RE.match(norm)
    if not m:
        return norm, ""
    return m.group(1), m.group(2)


def _vendor_key(vendor: str | None) -> str | None:
    """The canonical plugin name, so that "Quectel" and "quectel-rm500q" share one cached table."""
    try:
        return vendors.get(vendor).name if vendor else None
    except KeyError:
        return None


def find_parser(command: str | None, vendor: str | None = None) -> Parser | None:
    """The one parser lookup: the vendor plugin's parsers, the generic 3GPP table, then every other plugin's."""
    norm = normalize_command(command)
    if norm is None:
        return None
    name, suffix = _command_key(norm)
    candidates = [norm]
    if suffix.startswith("=") and suffix != "=?":
        candidates += [name + "=*", name]
    elif suffix == "?":
        candidates += [name]
    elif suffix == "":
        candidates += [name + "?"]
    table = command_table(_vendor_key(vendor))
    for key in candidates:
        if key in table:
            return table[key]
    # vendor spellings of the ICCID query not listed above: %XICCID (Nordic), ^SCID (Cinterion),
    # +SQNCCID (Sequans), +ZGETICCID (ZTE), +CICCID ...
    if "CCID" in name or name.endswith("SCID"):
        return ident.parse_iccid
    return None


def _truncation(lines) -> str | None:
    """What _as_lines leaves out of `lines`, in words; None when nothing."""
    if isinstance(lines, bytes):
        lines = lines.decode("utf-8", "replace")
    if isinstance(lines, str):
        lines = lines.splitlines()
    if not isinstance(lines, (list, tuple)):
        return None
    said = []
    if len(lines) > MAX_LINES:
        said.append(f"only the first {MAX_LINES} of {len(lines)} lines decoded")
    if any(isinstance(x, (str, bytes)) and len(x) > MAX_LINE_LEN for x in lines[:MAX_LINES]):
        said.append(f"lines longer than {MAX_LINE_LEN} characters cut")
    return "; ".join(said) or None


def _as_lines(lines) -> list[str]:
    if lines is None:
        return []
    if isinstance(lines, bytes):
        lines = lines.decode("utf-8", "replace")
    if isinstance(lines, str):
        lines = lines.splitlines()
    if not isinstance(lines, (list, tuple)):
        raise TypeError("lines must be a list of strings or a string")
    out = []
    for line in lines[:MAX_LINES]:
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        if not isinstance(line, str):
            raise TypeError("every line must be a string")
        for part in line.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            part = part.replace("\x00", "")[:MAX_LINE_LEN]
            if part.strip():
                out.append(part.rstrip())
    return out


def _strip_echo(lines: list[str], norm: str | None) -> list[str]:
    if not lines:
        return lines
    first = lines[0].strip()
    if first[:2].upper() == "AT" and (norm is None or normalize_command(first) == norm
                                      or re.match(r"AT[+^!#$%*&]", first, re.I)):
        return lines[1:]
    return lines


def _final(lines: list[str]) -> tuple[list[str], object]:
    """Remove the final result code; return (information lines, cme_error or None)."""
    info, error = [], None
    for line in lines:
        s = line.strip()
        up = s.upper()
        m = _FINAL_ERR.match(s)
        if m:
            code = m.group(1).strip().strip('"')
            error = int(code) if re.fullmatch(r"\d+", code) else (code or "ERROR")
        elif up in _BARE_ERR:
            error = up
        elif up in _FINAL_OK:
            continue
        else:
            info.append(line)
    return info, error


def _prefix(line: str) -> str | None:
    m = _PREFIX_RE.match(line)
    return m.group(1).upper() if m else None


def _decode_by_prefix(lines: list[str], vendor: str | None) -> dict:
    """Group consecutive lines by prefix (lines without one stay with the group before) and parse each group."""
    parsers = prefix_table(vendor)
    multiline = _multiline_prefixes()
    groups: list[tuple[str, list[str]]] = []
    for line in lines:
        p = _prefix(line)
        if p is not None and p in parsers:
            if groups and groups[-1][0] == p and p in multiline:
                groups[-1][1].append(line)
            else:
                groups.append((p, [line]))
        elif groups and p is None:
            groups[-1][1].append(line)
    results = []
    for p, group in groups:
        parsed = parsers[p](group)
        if parsed:
            results.append(parsed)
    if not results:
        return {}
    if len(results) == 1:
        return results[0]
    merged: dict = {}
    for r in results:
        for k, v in r.items():
            if merged.get(k) is None:
                merged[k] = v
    merged["urcs"] = results
    return merged


# Plausible ranges: a value outside is a firmware sentinel or garbage, reported as None.
_RANGES = {
    "rssi_dbm": (-130, 0), "rsrp_dbm": (-160, -20), "rsrq_db": (-45, 25), "sinr_db": (-30, 60),
    "rscp_dbm": (-130, -10), "ecio_db": (-35, 5), "pci": (0, 1007), "earfcn": (0, 262143),
    "arfcn": (0, 3279165), "bandwidth_mhz": (1, 400), "ber": (0, 7), "uarfcn": (0, 16383), "psc": (0, 511),
    "sim_slot": (1, 8),
}


def _sanitize(value):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _sanitize(v)
            rng = _RANGES.get(k)
            if rng is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
                if not rng[0] <= v <= rng[1]:
                    v = None
            out[k] = v
        return out
    if isinstance(value, list):
        return [_sanitize(v) for v in value]
    return value


def decode(command, lines, vendor=None) -> dict:
    """Decode the lines of one response to `command` (None: the lines are unsolicited). Never raises for bad
    modem input; an input it cannot make sense of gives {"error": "..."}. An input past MAX_LINES lines or with
    lines past MAX_LINE_LEN characters is decoded from what fits, and the result says so under "truncated"."""
    try:
        result = _decode(command, lines, vendor)
        cut = _truncation(lines)
        if cut:
            result["truncated"] = cut
        return result
    except (TypeError, ValueError) as e:
        return {"error": str(e)}
    except Exception as e:      # a parser bug must not take the caller down; the property tests hunt these
        return {"error": f"internal error: {type(e).__name__}: {e}"}


def _decode(command, lines, vendor) -> dict:
    if command is not None and not isinstance(command, str):
        return {"error": "command must be a string or null"}
    if vendor is not None and not isinstance(vendor, str):
        return {"error": "vendor must be a string or null"}
    norm = normalize_command(command)
    raw = _as_lines(lines)
    raw = _strip_echo(raw, norm)
    info, cme = _final(raw)
    vendor = _vendor_key(vendor)
    parts = split_compound(norm)
    if len(parts) > MAX_PARTS:
        return {"error": f"command line with {len(parts)} commands (at most {MAX_PARTS})"}
    if len(parts) > 1:
        return _decode_compound(parts, info, cme, vendor)
    norm = parts[0] if parts else norm          # 'AT+CSQ;' is one command
    if cme is not None:
        return _error_result(norm, cme)
    return _decode_info(norm, info, vendor)


def _error_result(norm: str | None, cme) -> dict:
    out: dict = {"cme_error": cme}
    name = _command_key(norm)[0] if norm else None
    if name in _SIM_COMMANDS:
        state = (ident.CME_SIM_STATES.get(cme) if isinstance(cme, int)
                 else ident.CME_TEXT_SIM_STATES.get(str(cme).lower()))
        if state:
            out["sim_state"] = state
    return out


def split_compound(norm: str | None) -> list[str]:
    """'+CSQ;+COPS?;+CREG?' -> ['+CSQ', '+COPS?', '+CREG?'] (';' inside quotes does not split; empty parts dropped)."""
    if not norm:
        return []
    parts, cur, in_q = [], [], False
    for ch in norm:
        if ch == '"':
            in_q = not in_q
        if ch == ";" and not in_q:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p]


def _answer_prefix(part: str) -> str:
    """The prefix a command's answer lines carry: '+COPS?' -> '+COPS', '+QENG="servingcell"' -> '+QENG'."""
    return _command_key(part)[0]


def _split_answer(parts: list[str], info: list[str]) -> list[list[str]]:
    """Hand each information line to the part it answers, in order. A prefixed line goes to the first part, from
    the current one on, whose command carries that prefix. A line without a prefix stays with the current part
    unless a prefix-less command (+CGMI, +CIMI: one line; ATI: several) is due: then it goes to that command."""
    prefixes = [_answer_prefix(p) for p in parts]
    sets = [_is_set(p) for p in parts]
    groups: list[list[str]] = [[] for _ in parts]
    cur = 0
    for line in info:
        p = _prefix(line)
        target = None
        if p is not None:
            # set commands print nothing; a command asked twice on one line (+COPS=3,0;+COPS?;+COPS=3,2;+COPS?)
            # gets one line each
            fits = [i for i in range(cur, len(parts)) if prefixes[i] == p and not sets[i]]
            target = fits[1] if len(fits) > 1 and fits[0] == cur and groups[cur] else fits[0] if fits else None
        elif not (prefixes[cur] in _MULTI_LINE_BARE or (prefixes[cur] in _ONE_LINE_BARE and not groups[cur])):
            target = next((i for i in range(cur, len(parts)) if not groups[i]
                           and (prefixes[i] in _ONE_LINE_BARE or prefixes[i] in _MULTI_LINE_BARE)), None)
        if target is None:
            target = cur
        groups[target].append(line)
        cur = target
    return groups


# Commands whose answer carries no prefix: one line (+CGMI ...) or several (ATI)
_ONE_LINE_BARE = {"+CGMI", "+GMI", "+CGMM", "+GMM", "+CGMR", "+GMR", "+CGSN", "+GSN", "+CIMI"}
_MULTI_LINE_BARE = {"I", "I0", "I1"}


def _is_set(part: str) -> bool:
    """'+CMEE=2' sets something and prints nothing; '+COPS=?', '+CMGR=3' and '+QENG="servingcell"' print an answer
    (a command with arguments counts as a query when a parser is registered for it)."""
    name, suffix = _command_key(part)
    basic = name[:1].isalpha() or name[:1] == "&"      # V.250 basic commands (E0, V1, &F, Z) answer nothing
    return (basic or suffix.startswith("=") and suffix != "=?") and find_parser(part) is None


def _decode_compound(parts: list[str], info: list[str], cme, vendor) -> dict:
    groups = _split_answer(parts, info)
    failed_at = None
    if cme is not None:
        answered = [i for i, g in enumerate(groups) if g]
        start = answered[-1] + 1 if answered else 0
        # the modem stopped after the last part that printed something. A set command answers with nothing but
        # its OK, so it is taken as done: the failed part is the first later one that has something to print.
        failed_at = next((i for i in range(start, len(parts)) if not _is_set(parts[i])), min(start, len(parts) - 1))
    results: list[dict] = []
    merged: dict = {}
    for i, (part, group) in enumerate(zip(parts, groups)):
        entry: dict = {"command": part}
        if failed_at is not None and i == failed_at:
            entry.update(_error_result(part, cme))
        elif failed_at is not None and i > failed_at:
            entry["error"] = "not run: an earlier command on the line failed"
        elif group or not _is_set(part):
            entry.update(_decode_info(part, group, vendor))
        for k, v in entry.items():
            if k not in ("command", "error", "cme_error", "urcs") and merged.get(k) is None:
                merged[k] = v
        results.append(entry)
    merged["parts"] = results
    return merged


def _decode_info(norm: str | None, info: list[str], vendor) -> dict:
    parser = find_parser(norm, vendor)
    result: dict = {}
    if parser is not None:
        result = parser(info)
    if not result:
        result = _decode_by_prefix(info, vendor)
    if not result:
        if not info:
            return {"error": "empty response" if norm else "no lines"}
        what = f"response to {norm}" if norm else "unsolicited lines"
        return {"error": f"cannot decode {what}"}
    return _sanitize(result)
