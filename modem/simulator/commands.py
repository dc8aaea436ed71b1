"""3GPP TS 27.007 / 27.005 and V.250 commands every personality answers.

A handler gets the engine and the parsed Command and returns a Reply (or a list of lines for a plain query);
it raises AtError / CmeError / CmsError, or ValueError for bad parameters (the engine turns that into
+CME ERROR: 50). Handlers read and change `e.model`; anything that takes the real modem time goes into
Reply.after so that it happens when the answer does.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable

from modem.simulator.atparse import Command
from modem.simulator.model import PdpContext
from modem.simulator.personalities import NETWORK
from modem.simulator.reply import AtError, CmeError, CmsError, Reply, SmsPrompt, bad_params

if TYPE_CHECKING:
    from modem.simulator.engine import Engine

Handler = Callable[["Engine", Command], "Reply | list[str]"]
GENERIC: dict[str, Handler] = {}


def command(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            GENERIC[n] = fn
        return fn
    return deco


def only(cmd: Command, *kinds: str) -> None:
    if cmd.kind not in kinds:
        raise AtError()


def setting(cmd: Command, name: str, values: tuple[int, ...]) -> int:
    v = cmd.int_arg(0)
    if v is None or v not in values:
        raise bad_params()
    return v


def ucs2_encode(text: str) -> str:
    return "".join(f"{ord(ch):04X}" for ch in text)


def ucs2_decode(text: str) -> str:
    t = text.strip()
    try:
        if len(t) % 4 == 0 and t:
            return "".join(chr(int(t[i:i + 4], 16)) for i in range(0, len(t), 4))
    except ValueError:
        pass
    return text


# ================================================================================================ V.250 basics

@command("E")
def _echo(e: "Engine", cmd: Command) -> list[str]:
    v = cmd.raw or "0"
    if v not in ("0", "1"):
        raise AtError()
    e.model.echo = v == "1"
    return []


@command("V")
def _verbose(e: "Engine", cmd: Command) -> list[str]:
    v = cmd.raw or "0"
    if v not in ("0", "1"):
        raise AtError()
    e.model.verbose = v == "1"
    return []


@command("Q", "X", "&W", "&D", "&C", "&K", "&S", "H")
def _accept(e: "Engine", cmd: Command) -> list[str]:
    return []


@command("Z", "&F")
def _defaults(e: "Engine", cmd: Command) -> list[str]:
    m = e.model
    m.echo, m.verbose, m.cmee = True, True, e.p.cmee_default
    m.creg_n = m.cgreg_n = m.cereg_n = m.c5greg_n = 0
    m.cmgf, m.cscs = 0, "IRA"
    return []


@command("I")
def _ati(e: "Engine", cmd: Command) -> list[str]:
    if cmd.raw not in ("", "0"):
        raise AtError()
    return [e.p.fill(line) for line in e.p.ati]


@command("D")
def _dial(e: "Engine", cmd: Command) -> Reply:
    # No voice and no PPP in the simulator: the call never connects.
    return Reply([], delay=1.0, final="NO CARRIER")


@command("A", "O")
def _answer(e: "Engine", cmd: Command) -> Reply:
    return Reply([], final="NO CARRIER")


_S_REGISTERS = {0: 0, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 15}


def _s_register(e: "Engine", cmd: Command) -> list[str]:
    n = int(cmd.name[1:])
    if n not in _S_REGISTERS:
        raise AtError()
    if cmd.kind == "read":
        return [f"{_S_REGISTERS[n]:03d}"]
    if not cmd.raw.isdigit() or int(cmd.raw) > 255:
        raise AtError()
    return []


for _n in _S_REGISTERS:
    GENERIC[f"S{_n}"] = _s_register


# ================================================================================================ identity

def _identity(field: str) -> Handler:
    def handler(e: "Engine", cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return []
        only(cmd, "action")
        return [e.p.fill(getattr(e.p, field))]
    return handler


for _names, _field in ((("+CGMI", "+GMI"), "cgmi"), (("+CGMM", "+GMM"), "cgmm"), (("+CGMR", "+GMR"), "cgmr"),
                       (("+CGSN", "+GSN"), "cgsn")):
    for _name in _names:
        GENERIC[_name] = _identity(_field)


@command("+GCAP")
def _gcap(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "action")
    return ["+GCAP: +CGSM"]


@command("+CIMI")
def _cimi(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return []
    only(cmd, "action")
    e.require_sim()
    return [e.p.cimi.format(imsi=e.model.sim.imsi)]


@command("+CNUM")
def _cnum(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "action")
    e.require_sim()
    return [f'+CNUM: "","{e.model.sim.msisdn}",145']


def iccid_handler(fmt: str) -> Handler:
    """AT+QCCID, AT+CICCID, AT!ICCID?, AT#CCID, AT^ICCID?, AT+CCID: each vendor's own form."""
    def handler(e: "Engine", cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return []
        only(cmd, "action", "read")
        e.require_sim()
        return [fmt.format(iccid=e.model.sim.iccid)]
    return handler


@command("+CRSM")
def _crsm(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return []
    only(cmd, "set")
    op, fileid = cmd.int_arg(0), cmd.int_arg(1)
    if op is None:
        raise bad_params()
    e.require_sim()
    if op == 176 and fileid == 0x2FE2:            # READ BINARY EF_ICCID: BCD, nibbles swapped, F padded
        digits = e.model.sim.iccid
        digits += "F" * (len(digits) % 2)
        return [f'+CRSM: 144,0,"{_swap_nibbles(digits)}"']
    if op == 176 and fileid == 0x6F07:            # EF_IMSI: length, parity nibble 9, digits
        return [f'+CRSM: 144,0,"08{_swap_nibbles("9" + e.model.sim.imsi)}"']
    if op in (176, 178):
        return ['+CRSM: 106,130,""']              # 6A82: file not found
    return ['+CRSM: 144,0,""']


def _swap_nibbles(digits: str) -> str:
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits) - 1, 2))


# ================================================================================================ control

@command("+CMEE")
def _cmee(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CMEE: {e.model.cmee}"]
    if cmd.kind == "test":
        return ["+CMEE: (0-2)"]
    only(cmd, "set")
    e.model.cmee = setting(cmd, "cmee", (0, 1, 2))
    return []


@command("+IPR")
def _ipr(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["+IPR: 115200"]
    if cmd.kind == "test":
        return ["+IPR: (),(300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600)"]
    only(cmd, "set")
    int(cmd.args[0])
    return []


@command("+CPAS")
def _cpas(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ["+CPAS: (0-5)"]
    only(cmd, "action")
    return ["+CPAS: 0"]


@command("+CFUN")
def _cfun(e: "Engine", cmd: Command) -> Reply | list[str]:
    m = e.model
    if cmd.kind == "read":
        return [f"+CFUN: {m.cfun}"]
    if cmd.kind == "test":
        return ["+CFUN: (0,1,4),(0-1)"]
    only(cmd, "set")
    fun = cmd.int_arg(0)
    rst = cmd.int_arg(1, 0)
    if fun not in (0, 1, 4) or rst not in (0, 1):
        raise bad_params()
    if rst == 1:
        return reset_reply(e)
    if fun == m.cfun:
        return Reply([], delay=e.timing.set)

    def apply() -> None:
        prev = m.cfun
        m.cfun = fun
        if fun == 0:
            m.sim_busy = False
        if fun == 1 and prev == 0:
            e._sim_init(e.d(e.timing.sim_read))         # the card is powered again and re-read
        else:
            e.update_registration()
    return Reply([], delay=e.timing.cfun, after=apply)


def reset_reply(e: "Engine") -> Reply:
    """OK, then the port goes away like a USB re-enumeration and the modem boots (AT+CFUN=1,1 and friends)."""
    def later() -> None:
        e.at(e.last_words(), lambda: e._reboot(e.d(e.timing.reset_port_down)))
    return Reply([], delay=e.timing.set, after=later)


# ================================================================================================ SIM

_SMS_SIM_ERRORS = {"absent": 310, "off": 313, "busy": 314, "SIM PIN": 311, "SIM PUK": 316}


def require_sim_sms(e: "Engine") -> None:
    code = _SMS_SIM_ERRORS.get(e.sim_status())
    if code is not None:
        raise CmsError(code)


@command("+CPIN")
def _cpin(e: "Engine", cmd: Command) -> list[str]:
    m = e.model
    if cmd.kind == "test":
        return []
    st = e.sim_status()
    if cmd.kind == "read":
        if st in ("absent", "off", "busy"):
            e.require_sim()
        return [f"+CPIN: {st}"]
    only(cmd, "set")
    if st in ("absent", "off", "busy"):
        e.require_sim()
    s = m.sim
    code, new = cmd.arg(0), cmd.arg(1)
    if code is None:
        raise bad_params()
    if st == "READY":
        raise CmeError(3)
    if st == "SIM PIN":
        if code != s.pin:
            s.pin_attempts -= 1
            if s.pin_attempts <= 0:
                s.pin_state = "SIM PUK"
            raise CmeError(16)
    else:                                               # SIM PUK: +CPIN=<puk>,<newpin>
        if code != s.card.puk or new is None or not (new.isdigit() and 4 <= len(new) <= 8):
            raise CmeError(16)
        s.pin = new
    s.pin_state, s.pin_attempts = "READY", 3

    def unlocked() -> None:
        e._urc_sequence(list(e.p.sim_ready_urcs))
        e.update_registration()
    return Reply([], delay=e.timing.set, after=lambda: e.at(0, unlocked))


# ================================================================================================ network

def cops_act(e: "Engine") -> int:
    return {"EN-DC": 13, "NR5G-SA": 12}.get(e.model.rat, 7)


def operator_name(op, fmt: int) -> str:
    return (op.long_name, op.short_name, op.plmn)[fmt]


@command("+COPS")
def _cops(e: "Engine", cmd: Command) -> Reply | list[str]:
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


def cops_list(e: "Engine") -> str:
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
def _csq(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ["+CSQ: (0-31,99),(0-7,99)"]
    only(cmd, "action")
    return [f"+CSQ: {e.model.csq},99"]


@command("+CESQ")
def _cesq(e: "Engine", cmd: Command) -> list[str]:
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


def registration_line(e: "Engine", name: str, n: int, urc: bool = False) -> str:
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
    def handler(e: "Engine", cmd: Command) -> list[str]:
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


# ================================================================================================ packet data

def _ctx_address(e: "Engine", ctx: PdpContext) -> str:
    base = e.model.sim.card.pdp_address
    if ctx.cid == 1:
        return base
    a, b, c, d = (int(x) for x in base.split("."))
    return f"{a}.{b}.{c}.{(d + ctx.cid * 16) % 254 + 1}"


@command("+CGATT")
def _cgatt(e: "Engine", cmd: Command) -> Reply | list[str]:
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
    return Reply([], delay=e.timing.pdp, after=e._drop_data)


def _raise(err: AtError) -> Callable[[], None]:
    def fail() -> None:
        raise err
    return fail


_PDP_TYPES = ("IP", "IPV6", "IPV4V6", "PPP")


@command("+CGDCONT")
def _cgdcont(e: "Engine", cmd: Command) -> list[str]:
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
def _cgact(e: "Engine", cmd: Command) -> Reply | list[str]:
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
                pdp[c].active, pdp[c].address = True, _ctx_address(e, pdp[c])
        return Reply([], delay=e.timing.pdp, after=up)

    def down() -> None:
        for c in cids:
            pdp[c].active, pdp[c].address = False, ""
            if m.netdev_cid == c:
                m.data_call = False
    return Reply([], delay=e.timing.pdp, after=down)


@command("+CGPADDR")
def _cgpaddr(e: "Engine", cmd: Command) -> list[str]:
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
def _cgcontrdp(e: "Engine", cmd: Command) -> list[str]:
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
def _cgerep(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CGEREP: {e.model.cgerep},0"]
    if cmd.kind == "test":
        return ["+CGEREP: (0-2),(0-1)"]
    only(cmd, "set")
    e.model.cgerep = setting(cmd, "cgerep", (0, 1, 2))
    return []


# ================================================================================================ time

@command("+CTZU")
def _ctzu(e: "Engine", cmd: Command) -> list[str]:
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
def _ctzr(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CTZR: {e.model.ctzr}"]
    if cmd.kind == "test":
        return ["+CTZR: (0-2)"]
    only(cmd, "set")
    e.model.ctzr = setting(cmd, "ctzr", (0, 1, 2))
    return []


@command("+CCLK")
def _cclk(e: "Engine", cmd: Command) -> list[str]:
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


# ================================================================================================ SMS (27.005)

@command("+CMGF")
def _cmgf(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CMGF: {e.model.cmgf}"]
    if cmd.kind == "test":
        return ["+CMGF: (0,1)"]
    only(cmd, "set")
    e.model.cmgf = setting(cmd, "cmgf", (0, 1))
    return []


_CHARSETS = ("GSM", "IRA", "UCS2", "8859-1")


@command("+CSCS")
def _cscs(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f'+CSCS: "{e.model.cscs}"']
    if cmd.kind == "test":
        return ["+CSCS: (" + ",".join(f'"{c}"' for c in _CHARSETS) + ")"]
    only(cmd, "set")
    cs = (cmd.arg(0) or "").upper()
    if cs not in _CHARSETS:
        raise bad_params()
    e.model.cscs = cs
    return []


@command("+CMGS")
def _cmgs(e: "Engine", cmd: Command) -> Reply:
    if cmd.kind == "test":
        return Reply([])
    only(cmd, "set")
    require_sim_sms(e)
    if e.model.cmgf == 0:
        length = cmd.int_arg(0)
        if length is None or not 1 <= length <= 164:
            raise CmsError(304)
        return Reply([], prompt=SmsPrompt(number="(pdu)"))
    number = cmd.arg(0)
    if e.model.cscs == "UCS2" and number:
        number = ucs2_decode(number)
    if not number or not number.lstrip("+").isdigit() or len(number) > 21:
        raise CmsError(305)
    return Reply([], prompt=SmsPrompt(number=number))


def _sms_text(e: "Engine", text: str) -> str:
    return ucs2_encode(text) if e.model.cscs == "UCS2" else text


def _sms_index(e: "Engine", cmd: Command) -> int:
    idx = cmd.int_arg(0)
    first = e.p.sms_first_index
    if idx is None or not first <= idx < first + 50:
        raise CmsError(321)
    return idx


@command("+CMGR")
def _cmgr(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return []
    only(cmd, "set")
    require_sim_sms(e)
    if e.model.cmgf == 0:
        raise CmsError(302)          # PDU mode reading is not simulated
    idx = _sms_index(e, cmd)
    sms = next((s for s in e.model.sim.sms if s.index == idx), None)
    if sms is None:
        raise CmsError(321)
    out = [f'+CMGR: "{sms.status}","{sms.sender}",,"{sms.timestamp}"', _sms_text(e, sms.text)]
    sms.status = "REC READ"
    return out


_CMGL_STATS = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL")


@command("+CMGL")
def _cmgl(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ["+CMGL: (" + ",".join(f'"{s}"' for s in _CMGL_STATS) + ")"]
    only(cmd, "action", "set")
    require_sim_sms(e)
    if e.model.cmgf == 0:
        raise CmsError(302)
    stat = (cmd.arg(0) or "REC UNREAD").upper() if cmd.kind == "set" else "REC UNREAD"
    if stat not in _CMGL_STATS:
        raise CmsError(302)
    out = []
    for sms in e.model.sim.sms:
        if stat == "ALL" or sms.status == stat:
            out += [f'+CMGL: {sms.index},"{sms.status}","{sms.sender}",,"{sms.timestamp}"', _sms_text(e, sms.text)]
            sms.status = "REC READ"
    return out


@command("+CMGD")
def _cmgd(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "test":
        idx = ",".join(str(s.index) for s in e.model.sim.sms)
        return [f"+CMGD: ({idx}),(0-4)"]
    only(cmd, "set")
    require_sim_sms(e)
    idx = _sms_index(e, cmd)
    flag = cmd.int_arg(1, 0)
    if flag not in (0, 1, 2, 3, 4):
        raise CmsError(302)
    sim = e.model.sim
    if flag == 0:
        sim.sms[:] = [s for s in sim.sms if s.index != idx]
    elif flag == 4:
        sim.sms.clear()
    else:
        sim.sms[:] = [s for s in sim.sms if s.status != "REC READ"]
    return []


@command("+CPMS")
def _cpms(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ['+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")']
    require_sim_sms(e)
    n = len(e.model.sim.sms)
    if cmd.kind == "read":
        return [f'+CPMS: "SM",{n},50,"SM",{n},50,"SM",{n},50']
    only(cmd, "set")
    if any(a.upper() not in ("SM", "ME", "MT") for a in cmd.args if a):
        raise CmsError(302)
    return [f"+CPMS: {n},50,{n},50,{n},50"]


@command("+CNMI")
def _cnmi(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["+CNMI: 2,1,0,0,0"]
    if cmd.kind == "test":
        return ["+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"]
    only(cmd, "set")
    [int(a) for a in cmd.args if a]
    return []


@command("+CSCA")
def _csca(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        require_sim_sms(e)
        return [f'+CSCA: "{e.model.sim.card.smsc}",145']
    if cmd.kind == "test":
        return []
    only(cmd, "set")
    return []


@command("+CSMP")
def _csmp(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["+CSMP: 17,167,0,0"]
    if cmd.kind == "test":
        return []
    only(cmd, "set")
    [int(a) for a in cmd.args if a]
    return []


@command("+CSDH")
def _csdh(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["+CSDH: 0"]
    if cmd.kind == "test":
        return ["+CSDH: (0,1)"]
    only(cmd, "set")
    setting(cmd, "csdh", (0, 1))
    return []
