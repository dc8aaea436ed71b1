"""V.250 basics, identity, control and SIM commands (3GPP TS 27.007) every personality answers."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import GENERIC, Handler, Modem, command, only, setting
from modem.simulator.reply import AtError, CmeError, CmsError, Reply, bad_params


@command("E")
def _echo(e: Modem, cmd: Command) -> list[str]:
    v = cmd.raw or "0"
    if v not in ("0", "1"):
        raise AtError()
    e.model.echo = v == "1"
    return []


@command("V")
def _verbose(e: Modem, cmd: Command) -> list[str]:
    v = cmd.raw or "0"
    if v not in ("0", "1"):
        raise AtError()
    e.model.verbose = v == "1"
    return []


@command("Q", "X", "&W", "&D", "&C", "&K", "&S", "H")
def _accept(e: Modem, cmd: Command) -> list[str]:
    return []


@command("Z", "&F")
def _defaults(e: Modem, cmd: Command) -> list[str]:
    m = e.model
    m.echo, m.verbose, m.cmee = True, True, e.p.cmee_default
    m.creg_n = m.cgreg_n = m.cereg_n = m.c5greg_n = 0
    m.cmgf, m.cscs = 0, "IRA"
    return []


@command("I")
def _ati(e: Modem, cmd: Command) -> list[str]:
    if cmd.raw not in ("", "0"):
        raise AtError()
    return [e.p.fill(line) for line in e.p.ati]


@command("D")
def _dial(e: Modem, cmd: Command) -> Reply:
    # No voice and no PPP in the simulator: the call never connects.
    return Reply([], delay=1.0, final="NO CARRIER")


@command("A", "O")
def _answer(e: Modem, cmd: Command) -> Reply:
    return Reply([], final="NO CARRIER")


_S_REGISTERS = {0: 0, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 15}


def _s_register(e: Modem, cmd: Command) -> list[str]:
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


def _identity(field: str) -> Handler:
    def handler(e: Modem, cmd: Command) -> list[str]:
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
def _gcap(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "action")
    return ["+GCAP: +CGSM"]


@command("+CIMI")
def _cimi(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return []
    only(cmd, "action")
    e.require_sim()
    return [e.p.cimi.format(imsi=e.model.sim.imsi)]


@command("+CNUM")
def _cnum(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "action")
    e.require_sim()
    return [f'+CNUM: "","{e.model.sim.msisdn}",145']


def iccid_handler(fmt: str) -> Handler:
    """AT+QCCID, AT+CICCID, AT!ICCID?, AT#CCID, AT^ICCID?, AT+CCID: each vendor's own form."""
    def handler(e: Modem, cmd: Command) -> list[str]:
        if cmd.kind == "test":
            return []
        only(cmd, "action", "read")
        e.require_sim()
        return [fmt.format(iccid=e.model.sim.iccid)]
    return handler


@command("+CRSM")
def _crsm(e: Modem, cmd: Command) -> list[str]:
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


@command("+CMEE")
def _cmee(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CMEE: {e.model.cmee}"]
    if cmd.kind == "test":
        return ["+CMEE: (0-2)"]
    only(cmd, "set")
    e.model.cmee = setting(cmd, "cmee", (0, 1, 2))
    return []


@command("+IPR")
def _ipr(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["+IPR: 115200"]
    if cmd.kind == "test":
        return ["+IPR: (),(300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600)"]
    only(cmd, "set")
    int(cmd.args[0])
    return []


@command("+CPAS")
def _cpas(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ["+CPAS: (0-5)"]
    only(cmd, "action")
    return ["+CPAS: 0"]


@command("+CFUN")
def _cfun(e: Modem, cmd: Command) -> Reply | list[str]:
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
            e.sim_init(e.d(e.timing.sim_read))         # the card is powered again and re-read
        else:
            e.update_registration()
    return Reply([], delay=e.timing.cfun, after=apply)


def reset_reply(e: Modem) -> Reply:
    """OK, then the port goes away like a USB re-enumeration and the modem boots (AT+CFUN=1,1 and friends)."""
    def later() -> None:
        e.at(e.last_words(), lambda: e.reboot(e.d(e.timing.reset_port_down)))
    return Reply([], delay=e.timing.set, after=later)


_SMS_SIM_ERRORS = {"absent": 310, "off": 313, "busy": 314, "SIM PIN": 311, "SIM PUK": 316}


def require_sim_sms(e: Modem) -> None:
    code = _SMS_SIM_ERRORS.get(e.sim_status())
    if code is not None:
        raise CmsError(code)


@command("+CPIN")
def _cpin(e: Modem, cmd: Command) -> list[str]:
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
        e.urc_sequence(list(e.p.sim_ready_urcs))
        e.update_registration()
    return Reply([], delay=e.timing.set, after=lambda: e.at(0, unlocked))
