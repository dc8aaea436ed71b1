"""Network, packet data and time commands (3GPP TS 27.007) every personality answers."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import GENERIC, Handler, Modem, command, only, setting
from modem.simulator.model import PdpContext
from modem.simulator.personalities import NETWORK
from modem.simulator.reply import AtError, CmeError, Reply, bad_params


def cops_act(e: Modem) -> int:
    return {"EN-DC": 13, "NR5G-SA": 12}.get(e.model.rat, 7)


def operator_name(op, fmt: int) -> str:
    return (op.long_name, op.short_name, op.plmn)[fmt]


@command("+COPS")
def _cops(e: Modem, cmd: Command) -> Reply | list[str]:
    m = e.model
    if cmd.kind == "read":
        if m.registered:
            return [f'+COPS: {m.cops_mode},{m.cops_format},"{operator_name(m.operator, m.cops_format)}",'
                    f'{cops_act(e)}']
        return [f"+COPS: {m.cops_mode}"]
    if cmd.kind == "test":
        if m.cfun != 1:
            raise CmeError(3)
        return Reply(lambda: [cops_list(e)], delay=e.timing.cops_scan)
    only(cmd, "set")
    mode = cmd.int_arg(0)
    if mode == 3:
        fmt = cmd.int_arg(1)
        if fmt not in (0, 1, 2):
            raise bad_params()
        m.cops_format = fmt
        return []
    if mode == 0:
        def auto() -> None:
            m.cops_mode, m.manual_plmn = 0, None
            e.update_registration()
        return Reply([], delay=e.timing.cops_set, after=auto)
    if mode == 2:
        def dereg() -> None:
            m.cops_mode = 2
            e.update_registration()
        return Reply([], delay=e.timing.cops_set, after=dereg)
    if mode in (1, 4):
        fmt, oper = cmd.int_arg(1), cmd.arg(2)
        if fmt not in (0, 1, 2) or oper is None:
            raise bad_params()
        e.require_sim()
        op = next((o for o in NETWORK if operator_name(o, fmt) == oper), None)
        if op is None or op.plmn in m.sim.card.forbidden:
            if mode == 4:                                   # manual, falling back to automatic
                return _cops(e, Command("+COPS", "set", "0", ("0",), (False,)))
            code = 30 if op is None else 32

            def fail() -> None:
                raise CmeError(code)
            return Reply([], delay=e.timing.manual_fail, after=fail)

        def manual() -> None:
            m.cops_mode, m.manual_plmn = 1, op.plmn
            e.update_registration(delay=0)
        return Reply([], delay=e.timing.cops_set, after=manual)
    raise bad_params()


def cops_list(e: Modem) -> str:
    m = e.model
    forbidden = m.sim.card.forbidden if m.sim.inserted else ()
    entries = []
    for op in NETWORK:
        if op.plmn in forbidden:
            stat = 3
        elif m.registered and op.plmn == m.operator_plmn:
            stat = 2
        else:
            stat = 1
        acts = [7]
        if e.p.nr and op.nr is not None:
            acts.append(13 if op.nr.mode == "nsa" else 12)
        entries += [f'({stat},"{op.long_name}","{op.short_name}","{op.plmn}",{act})' for act in acts]
    return "+COPS: " + ",".join(entries) + ",,(0,1,2,3,4),(0,1,2)"


@command("+CSQ")
def _csq(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ["+CSQ: (0-31,99),(0-7,99)"]
    only(cmd, "action")
    return [f"+CSQ: {e.model.csq},99"]


@command("+CESQ")
def _cesq(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ["+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)"]
    only(cmd, "action")
    m = e.model
    lte = nr = None
    if m.registered:
        sig = m.signal
        lte = sig if m.rat in ("LTE", "EN-DC") else None
        nr = sig.nr() if m.rat in ("EN-DC", "NR5G-SA") else None
    fields = ["99", "99", "255", "255",
              str(lte.cesq_rsrq) if lte else "255", str(lte.cesq_rsrp) if lte else "255"]
    if e.p.nr:
        fields += [str(nr.ss_rsrq) if nr else "255", str(nr.ss_rsrp) if nr else "255",
                   str(nr.ss_sinr) if nr else "255"]
    return ["+CESQ: " + ",".join(fields)]


def registration_line(e: Modem, name: str, n: int, urc: bool = False) -> str:
    """+CREG/+CGREG/+CEREG/+C5GREG, read form '<n>,<stat>[,...]' or URC form '<stat>[,...]'.

    The simulator keeps the four in step (an EN-DC or SA registration also shows on +CREG/+CEREG); location
    fields only when registered and n >= 2."""
    m = e.model
    head = f"{name}: " + ("" if urc else f"{n},") + str(m.registration)
    if n >= 2 and m.registered:
        op = m.operator
        if name == "+C5GREG" and m.rat == "NR5G-SA":
            head += f',"{op.nr.tac:06X}","{op.nr.cell_id:09X}",11'
        elif name == "+C5GREG" and m.rat == "EN-DC":
            head += f',"{op.lte.tac:04X}","{op.lte.cell_id:08X}",13'
        else:
            head += f',"{op.lte.tac:04X}","{op.lte.cell_id:08X}",7'
    return head


def _registration(name: str, attr: str) -> Handler:
    def handler(e: Modem, cmd: Command) -> list[str]:
        m = e.model
        if cmd.kind == "read":
            return [registration_line(e, name, getattr(m, attr))]
        if cmd.kind == "test":
            return [f"{name}: (0-2)"]
        only(cmd, "set")
        n = cmd.int_arg(0, 0)
        if n not in (0, 1, 2):
            raise bad_params()
        setattr(m, attr, n)
        return []
    return handler


GENERIC["+CREG"] = _registration("+CREG", "creg_n")
GENERIC["+CGREG"] = _registration("+CGREG", "cgreg_n")
GENERIC["+CEREG"] = _registration("+CEREG", "cereg_n")
C5GREG = _registration("+C5GREG", "c5greg_n")


def ctx_address(e: Modem, ctx: PdpContext) -> str:
    base = e.model.sim.card.pdp_address
    if ctx.cid == 1:
        return base
    a, b, c, d = (int(x) for x in base.split("."))
    return f"{a}.{b}.{c}.{(d + ctx.cid * 16) % 254 + 1}"


@command("+CGATT")
def _cgatt(e: Modem, cmd: Command) -> Reply | list[str]:
    m = e.model
    if cmd.kind == "read":
        return [f"+CGATT: {1 if m.registered else 0}"]
    if cmd.kind == "test":
        return ["+CGATT: (0,1)"]
    only(cmd, "set")
    v = setting(cmd, "cgatt", (0, 1))
    if v == 1:
        if not m.registered:
            return Reply([], delay=e.timing.manual_fail, after=_raise(CmeError(30)))
        return []
    return Reply([], delay=e.timing.pdp, after=e.drop_data)


def _raise(err: AtError) -> Callable[[], None]:
    def fail() -> None:
        raise err
    return fail


_PDP_TYPES = ("IP", "IPV6", "IPV4V6", "PPP")


@command("+CGDCONT")
def _cgdcont(e: Modem, cmd: Command) -> list[str]:
    pdp = e.model.sim.pdp
    if cmd.kind == "read":
        out = []
        for cid in sorted(pdp):
            ctx = pdp[cid]
            zero = "0.0.0.0" if ctx.pdp_type == "IP" else ".".join(["0"] * 16)
            out.append(f'+CGDCONT: {cid},"{ctx.pdp_type}","{ctx.apn}","{zero}",0,0,0,0')
        return out
    if cmd.kind == "test":
        return [f'+CGDCONT: (1-24),"{t}",,,(0-2),(0-4),(0-1),(0-1)' for t in _PDP_TYPES[:3]]
    only(cmd, "set")
    cid = cmd.int_arg(0)
    if cid is None or not 1 <= cid <= 24:
        raise bad_params()
    if len(cmd.args) == 1:
        if cid in pdp and pdp[cid].active:
            raise CmeError(3)
        pdp.pop(cid, None)
        return []
    pdp_type = (cmd.arg(1) or "IP").upper()
    if pdp_type not in _PDP_TYPES:
        raise bad_params()
    apn = cmd.arg(2, "")
    if len(apn) > 100 or any(ord(ch) < 0x20 or ord(ch) > 0x7E for ch in apn):
        raise bad_params()
    old = pdp.get(cid)
    pdp[cid] = PdpContext(cid, pdp_type, apn, active=bool(old and old.active), address=old.address if old else "")
    return []


@command("+CGACT")
def _cgact(e: Modem, cmd: Command) -> Reply | list[str]:
    m = e.model
    pdp = m.sim.pdp
    if cmd.kind == "read":
        return [f"+CGACT: {cid},{1 if pdp[cid].active else 0}" for cid in sorted(pdp)]
    if cmd.kind == "test":
        return ["+CGACT: (0,1)"]
    only(cmd, "set")
    state = setting(cmd, "cgact", (0, 1))
    cids = [int(a) for a in cmd.args[1:] if a != ""] or sorted(pdp)
    if any(c not in pdp for c in cids):
        raise bad_params()
    if state == 1:
        e.require_sim()
        if not m.registered:
            return Reply([], delay=e.timing.pdp, after=_raise(CmeError(30)))

        def up() -> None:
            if not m.registered:
                raise CmeError(30)
            for c in cids:
                pdp[c].active, pdp[c].address = True, ctx_address(e, pdp[c])
        return Reply([], delay=e.timing.pdp, after=up)

    def down() -> None:
        for c in cids:
            pdp[c].active, pdp[c].address = False, ""
            if m.netdev_cid == c:
                m.data_call = False
    return Reply([], delay=e.timing.pdp, after=down)


@command("+CGPADDR")
def _cgpaddr(e: Modem, cmd: Command) -> list[str]:
    m = e.model
    pdp = m.sim.pdp
    if cmd.kind == "test":
        return ["+CGPADDR: (" + ",".join(str(c) for c in sorted(pdp)) + ")"]
    only(cmd, "action", "set")
    cids = [int(a) for a in cmd.args if a != ""] if cmd.kind == "set" else sorted(pdp)
    out = []
    for c in cids:
        ctx = pdp.get(c)
        if ctx is None:
            raise bad_params()
        if ctx.active and m.registered:
            out.append(f'+CGPADDR: {c},"{ctx.address}"')
        else:
            out.append(f"+CGPADDR: {c}")
    return out


@command("+CGCONTRDP")
def _cgcontrdp(e: Modem, cmd: Command) -> list[str]:
    m = e.model
    if cmd.kind == "test":
        return ["+CGCONTRDP: (" + ",".join(str(c) for c, x in sorted(m.sim.pdp.items()) if x.active) + ")"]
    only(cmd, "action", "set")
    want = {int(a) for a in cmd.args if a != ""} if cmd.kind == "set" else None
    out = []
    for cid, ctx in sorted(m.sim.pdp.items()):
        if ctx.active and (want is None or cid in want):
            gw = ctx.address.rsplit(".", 1)[0] + ".1"
            out.append(f'+CGCONTRDP: {cid},5,"{ctx.apn}","{ctx.address}.255.255.255.0","{gw}",'
                       f'"192.0.2.53","192.0.2.54"')
    return out


@command("+CGEREP")
def _cgerep(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CGEREP: {e.model.cgerep},0"]
    if cmd.kind == "test":
        return ["+CGEREP: (0-2),(0-1)"]
    only(cmd, "set")
    e.model.cgerep = setting(cmd, "cgerep", (0, 1, 2))
    return []


@command("+CTZU")
def _ctzu(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CTZU: {e.model.ctzu}"]
    if cmd.kind == "test":
        return ["+CTZU: (0,1)"]
    only(cmd, "set")
    e.model.ctzu = setting(cmd, "ctzu", (0, 1))
    if e.model.ctzu:
        e.ctzu_enabled()
    return []


@command("+CTZR")
def _ctzr(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CTZR: {e.model.ctzr}"]
    if cmd.kind == "test":
        return ["+CTZR: (0-2)"]
    only(cmd, "set")
    e.model.ctzr = setting(cmd, "ctzr", (0, 1, 2))
    return []


@command("+CCLK")
def _cclk(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return []
    if cmd.kind == "read":
        local, tz = e.rtc()
        return [f'+CCLK: "{local:%y/%m/%d,%H:%M:%S}{tz:+03d}"']
    only(cmd, "set")
    text = cmd.arg(0, "")
    try:
        local = datetime.strptime(text[:17], "%y/%m/%d,%H:%M:%S")
        tz = int(text[17:]) if len(text) > 17 else 0
    except ValueError:
        raise bad_params() from None
    if not -96 <= tz <= 96:
        raise bad_params()
    e.set_rtc(local.replace(tzinfo=e.rtc()[0].tzinfo), tz)
    return []
