"""What the simulated modems are: one data table per personality, plus the radio environment they live in.

A personality is data (identity strings, URCs, slots, features) and a vendor *family* whose few proprietary
commands live in modem/simulator/handlers/; the engine (modem/simulator/engine.py) is shared by all of them.

Where the strings come from (captures and manuals found in public repositories; see SOURCES below each table).
Identity values are documentation-style: real operators' MCC/MNC, IMEIs with a valid Luhn digit but a made-up
serial, ICCIDs with a valid Luhn digit, MSISDNs in the +33 6 39 98 range that ARCEP reserves for fiction.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def luhn_complete(digits: str) -> str:
    """Append the Luhn check digit (IMEI, ICCID)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:          # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return digits + str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    return number.isdigit() and luhn_complete(number[:-1]) == number


# --- radio environment ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LteCell:
    band: int
    earfcn: int
    ul_earfcn: int
    pci: int
    tac: int            # 16 bit
    cell_id: int        # 28 bit E-UTRAN cell identity
    bw_mhz: int
    duplex: str = "FDD"


@dataclass(frozen=True)
class NrCell:
    mode: str           # "nsa" (EN-DC leg on the LTE anchor) or "sa"
    band: int
    arfcn: int
    pci: int
    bw_mhz: int
    scs_khz: int = 30
    tac: int = 0        # 24 bit, SA only
    cell_id: int = 0    # 36 bit NR cell identity, SA only
    duplex: str = "TDD"


@dataclass(frozen=True)
class Operator:
    plmn: str
    long_name: str
    short_name: str
    lte: LteCell
    nr: NrCell | None = None

    @property
    def mcc(self) -> str:
        return self.plmn[:3]

    @property
    def mnc(self) -> str:
        return self.plmn[3:]


ORANGE = Operator("20801", "Orange F", "Orange",
                  LteCell(band=3, earfcn=1300, ul_earfcn=19300, pci=123, tac=0x1A2B, cell_id=0x0A1B2C3, bw_mhz=20),
                  NrCell(mode="nsa", band=78, arfcn=641280, pci=456, bw_mhz=100))
SFR = Operator("20810", "SFR", "SFR",
               LteCell(band=20, earfcn=6300, ul_earfcn=24300, pci=321, tac=0x3C4D, cell_id=0x1B2C3D4, bw_mhz=10),
               NrCell(mode="sa", band=78, arfcn=636672, pci=789, bw_mhz=80, tac=0x3C4D5E, cell_id=0x0ABCDE123))
BOUYGUES = Operator("20820", "Bouygues Telecom", "BYTEL",
                    LteCell(band=7, earfcn=3000, ul_earfcn=21000, pci=222, tac=0x5E6F, cell_id=0x2C3D4E5,
                            bw_mhz=20))

# Every operator the simulated modem can hear, in +COPS=? order.
NETWORK: tuple[Operator, ...] = (ORANGE, SFR, BOUYGUES)
OPERATORS = {op.plmn: op for op in NETWORK}


@dataclass(frozen=True)
class SimCard:
    iccid: str
    imsi: str
    msisdn: str
    home_plmn: str
    apn: str
    pdp_address: str         # what the network hands out on this SIM (RFC 6598 shared address space)
    smsc: str
    forbidden: tuple[str, ...] = ("20820",)    # EF_FPLMN
    pin: str | None = None
    puk: str = "12345678"


SIM_ORANGE = SimCard(iccid=luhn_complete("893301000012345678"), imsi="208011234567890", msisdn="+33639980001",
                     home_plmn="20801", apn="orange", pdp_address="100.72.18.5", smsc="+33689004000")
SIM_SFR = SimCard(iccid=luhn_complete("893310000087654321"), imsi="208109876543210", msisdn="+33639980002",
                  home_plmn="20810", apn="sl2sfr", pdp_address="100.91.40.7", smsc="+33609001390")


# --- personalities --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Personality:
    name: str
    family: str                      # vendor handler set in modem/simulator/handlers/<family>.py
    description: str
    manufacturer: str                # AT+CGMI text
    model: str                       # AT+CGMM text
    revision: str                    # AT+CGMR text
    imei: str
    ati: tuple[str, ...]             # ATI lines; {manufacturer} {model} {revision} {imei} are filled in
    cgmi: str = "{manufacturer}"
    cgmm: str = "{model}"
    cgmr: str = "{revision}"
    cgsn: str = "{imei}"
    cimi: str = "{imsi}"
    iccid_commands: tuple[tuple[str, str], ...] = ()     # (command, response format with {iccid})
    sims: tuple[SimCard, ...] = (SIM_ORANGE,)            # one per physical slot
    nr: bool = False                 # 5G: +C5GREG, EN-DC / SA serving cells
    features: frozenset[str] = frozenset()               # vendor commands this model has (see vendors.py)
    boot_urcs: tuple[str, ...] = ()                      # emitted once the port is back, before the SIM is read
    sim_ready_urcs: tuple[str, ...] = ()                 # SIM read and unlocked (boot, insertion, slot switch)
    sim_pin_urcs: tuple[str, ...] = ()                   # SIM read, PIN needed
    sim_absent_urcs: tuple[str, ...] = ()                # SIM read attempted, no card
    sim_removed_urcs: tuple[str, ...] = ()               # card pulled while in use
    storm_urcs: tuple[str, ...] = ('+CIEV: "signal",3',)  # noise for the urc-storm fault
    cmee_default: int = 0
    sms_first_index: int = 1
    ctzr_default: int = 0
    sources: tuple[str, ...] = ()

    def fill(self, template: str, **extra: str) -> str:
        return template.format(manufacturer=self.manufacturer, model=self.model, revision=self.revision,
                               imei=self.imei, **extra)

    @property
    def slots(self) -> int:
        return len(self.sims)


_QUECTEL_SIM_READY = ("+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE")
# Storm URCs say nothing about registration or data, so that a storm does not lie about the modem's state.
_QUECTEL_STORM = ('+QIND: "csq",20,99', '+QIND: "act","LTE"')

QUECTEL_EC25 = Personality(
    name="quectel-ec25", family="quectel",
    description="Quectel EC25-E LTE Cat 4 (dual SIM single standby via AT+QDSIM)",
    manufacturer="Quectel", model="EC25", revision="EC25EFAR06A06M4G",
    imei=luhn_complete("86167804123456"),
    ati=("{manufacturer}", "{model}", "Revision: {revision}"),
    iccid_commands=(("+QCCID", "+QCCID: {iccid}"), ("+CCID", "+CCID: {iccid}")),
    sims=(SIM_ORANGE, SIM_SFR), features=frozenset({"qdsim"}),
    boot_urcs=("RDY", "+CFUN: 1"), sim_ready_urcs=_QUECTEL_SIM_READY, sim_pin_urcs=("+CPIN: SIM PIN",),
    sim_absent_urcs=("+CPIN: NOT READY",), sim_removed_urcs=("+CPIN: NOT READY",),
    storm_urcs=_QUECTEL_STORM, cmee_default=1, sms_first_index=0,
    sources=("ATI: lukejenkins/cwd documentation/quectel_ec2x_and_eg2x/outputs.md (EG25 capture), "
             "tykling pipeserial README (EC25 'Revision: EC25EFAR06A06M4G')",
             "QENG LTE line: the-modem-distro openqti cell.h capture (EC25/EG25 firmware)",
             "boot URCs: RM520N capture (RDY, +QUSIM: 1, +QIND: SMS DONE, +QIND: PB DONE) + EC25 manual (+CFUN: 1, "
             "+CPIN: READY)"),
)

QUECTEL_RM500Q = Personality(
    name="quectel-rm500q", family="quectel",
    description="Quectel RM500Q-GL 5G Sub-6 (EN-DC on slot 1, SA on slot 2; dual SIM via AT+QUIMSLOT)",
    manufacturer="Quectel", model="RM500Q-GL", revision="RM500QGLABR11A06M4G",
    imei=luhn_complete("86753105123456"),
    ati=("{manufacturer}", "{model}", "Revision: {revision}"),
    iccid_commands=(("+QCCID", "+QCCID: {iccid}"), ("+CCID", "+CCID: {iccid}")),
    sims=(SIM_ORANGE, SIM_SFR), nr=True, features=frozenset({"quimslot", "qnetdevctl"}),
    boot_urcs=("RDY", "+CFUN: 1"), sim_ready_urcs=_QUECTEL_SIM_READY, sim_pin_urcs=("+CPIN: SIM PIN",),
    sim_absent_urcs=("+CPIN: NOT READY",), sim_removed_urcs=("+CPIN: NOT READY",),
    storm_urcs=_QUECTEL_STORM, cmee_default=1, sms_first_index=0,
    sources=("QENG EN-DC (servingcell/LTE/NR5G-NSA lines): RM520N/RM500Q captures in public monitoring scripts",
             "QUIMSLOT switch followed by PB DONE: Quectel test scripts on GitHub",
             "QNETDEVCTL? 4-field answer: ModemManager test-modem-helpers-quectel.c"),
)

SIMCOM_SIM7600 = Personality(
    name="simcom-sim7600", family="simcom",
    description="SIMCom SIM7600E-H LTE Cat 4 (dual SIM via AT+SWITCHSIM)",
    manufacturer="SIMCOM INCORPORATED", model="SIMCOM_SIM7600E-H", revision="SIM7600M22_V2.0",
    imei=luhn_complete("86758403123456"),
    ati=("Manufacturer: {manufacturer}", "Model: {model}", "Revision: {revision}", "IMEI: {imei}",
         "+GCAP: +CGSM"),
    cgmr="+CGMR: LE20B04SIM7600M22",
    iccid_commands=(("+CICCID", "+ICCID: {iccid}"), ("+CCID", "+CCID: {iccid}")),
    sims=(SIM_ORANGE, SIM_SFR), features=frozenset({"switchsim"}),
    boot_urcs=("RDY",), sim_ready_urcs=("+CPIN: READY", "SMS DONE", "PB DONE"), sim_pin_urcs=("+CPIN: SIM PIN",),
    sim_absent_urcs=("+CPIN: SIM REMOVED",), sim_removed_urcs=("+SIMCARD: NOT AVAILABLE",),
    storm_urcs=('+CIEV: "signal",3', '+CIEV: "service",1'), cmee_default=0, sms_first_index=0,
    sources=("ATI: SIM7600E-H capture 'Manufacturer: SIMCOM INCORPORATED / Model: SIMCOM_SIM7600E-H / "
             "Revision: SIM7600M22_V1.1 / IMEI / +GCAP: +CGSM'",
             "CPSI: captures '+CPSI: LTE,Online,228-02,0x9CA4,20964868,46,EUTRAN-BAND20,6200,3,3,-178,-1089,-742,8'",
             "boot: LilyGO/TinyGSM code waiting for RDY / SMS DONE / PB DONE; SWITCHSIM: SIMCom command list"),
)

SIERRA_EM7455 = Personality(
    name="sierra-em7455", family="sierra",
    description="Sierra Wireless EM7455 LTE Cat 6 (single SIM)",
    manufacturer="Sierra Wireless, Incorporated", model="EM7455",
    revision="SWI9X30C_02.24.05.06 r7040 CARMD-EV-FRMWR2 2017/05/19 06:23:09",
    imei=luhn_complete("35907306123456"),
    ati=("Manufacturer: {manufacturer}", "Model: {model}", "Revision: {revision}", "MEID: 35907306123456",
         "IMEI: {imei}", "IMEI SV: 9", "FSN: LF00000000000A", "+GCAP: +CGSM"),
    iccid_commands=(("!ICCID", "ICCID: {iccid}F"),),
    sims=(SIM_ORANGE,), cmee_default=0, sms_first_index=1,
    storm_urcs=('+CIEV: "signal",3',),
    sources=("ATI: EM7455 captures ('Manufacturer: Sierra Wireless, Incorporated', 'Model: EM7455', "
             "'Revision: SWI9X30C_02.24.05.06 r7040 CARMD-EV-FRMWR2 2017/05/19 06:23:09', MEID/IMEI/IMEI SV/FSN)",
             "!GSTATUS?: SWI9X30C capture with 'LTE CA state', 'PCC RxM RSSI', 'RSRQ (dB)', 'SINR (dB)'",
             "!ICCID? answers 'ICCID: <19 digits + F>' (ModemManager mm-sim-sierra.c; ICCID notes)"),
)

TELIT_LE910 = Personality(
    name="telit-le910", family="telit",
    description="Telit LE910C1-EU LTE Cat 1 (dual SIM via AT#SIMSELECT)",
    manufacturer="Telit", model="LE910C1-EU", revision="25.21.660",
    imei=luhn_complete("35411510123456"),
    ati=("{manufacturer}", "{model}", "{revision}"),
    iccid_commands=(("#CCID", "#CCID: {iccid}"), ("+ICCID", "+ICCID: {iccid}"), ("+CCID", "+CCID: {iccid}")),
    sims=(SIM_ORANGE, SIM_SFR), features=frozenset({"simselect"}),
    cmee_default=0, sms_first_index=1, storm_urcs=('+CIEV: "signal",3', '+CIEV: "service",1'),
    sources=("#RFSTS LTE: Telit captures '#RFSTS: \"286 01\",1795,-101,-67,-15,2242,,128,3,1,0B5D121,...' and the "
             "LE910 reference guide field list (PLMN,EARFCN,RSRP,RSSI,RSRQ,TAC,RAC,TXPWR,DRX,MM,RRC,CID,IMSI,"
             "NetName,SD,ABND,T3402,T3412,SINR)",
             "#SERVINFO LTE: recorded '#SERVINFO: 66786,-68,\"T-Mobile\",\"310260\",3089F02,2D18,640,3,-101'",
             "#SIMSELECT=1|2 / '#SIMSELECT: 1': Telit integrations (NimbeLink, eCall stacks); "
             "AT+CGMI 'Telit' from a gammu trace; ATI layout is not verified against a capture"),
)

HUAWEI_ME909S = Personality(
    name="huawei-me909s", family="huawei",
    description="Huawei ME909s-120 LTE Cat 4 (single SIM)",
    manufacturer="Huawei Technologies Co., Ltd.", model="ME909s-120", revision="11.617.15.00.00",
    imei=luhn_complete("86417204123456"),
    ati=("Manufacturer: {manufacturer}", "Model: {model}", "Revision: {revision}", "IMEI: {imei}",
         "+GCAP: +CGSM,+DS,+ES"),
    iccid_commands=(("^ICCID", "^ICCID: {iccid}"),),
    sims=(SIM_ORANGE,), boot_urcs=("^SYSSTART",), sim_ready_urcs=("^SIMST: 1",), sim_pin_urcs=("^SIMST: 1",),
    sim_absent_urcs=("^SIMST: 255",), sim_removed_urcs=("^SIMST: 255",),
    storm_urcs=('^HCSQ: "LTE",55,45,120,26', "^RSSI: 20"), cmee_default=0, sms_first_index=0,
    sources=("ATI: ME909s-120 captures (mobile_modem_exporter tests, pipeserial README)",
             "^HCSQ: \"LTE\",35,29,21,26 capture; ^SYSSTART listed as 'Unsolicitedly Report Module Startup' in an "
             "ME909s driver; ^ICCID? handled by ModemManager mm-sim-huawei.c"),
)

UBLOX_LARA_R6 = Personality(
    name="ublox-lara-r6", family="ublox",
    description="u-blox LARA-R6001D LTE Cat 1 (single SIM)",
    manufacturer="u-blox", model="LARA-R6001D", revision="03.15",
    imei=luhn_complete("35892406123456"),
    ati=("LARA-R6001D-00B-00",),
    iccid_commands=(("+CCID", "+CCID: {iccid}"),),
    sims=(SIM_ORANGE,), cmee_default=0, sms_first_index=1, storm_urcs=('+CIEV: 2,3',),
    sources=("u-blox AT manual conventions (ATI type number, ATI9 version, +CCID); not verified against a "
             "capture",),
)

FIBOCOM_L850 = Personality(
    name="fibocom-l850", family="fibocom",
    description="Fibocom L850-GL (Intel XMM7360) LTE Cat 9 (single SIM)",
    manufacturer="Fibocom", model="L850 LTE Module", revision="18500.5001.00.05.27.30",
    imei=luhn_complete("01555000123456"),
    ati=("{manufacturer}", "L850", "{revision}"),
    cgmi='+CGMI: "{manufacturer}"', cgmm='+CGMM: "{model}","L850"', cgmr='+CGMR: "{revision}"',
    cgsn='+CGSN: "{imei}"', cimi="+CIMI: {imsi}",
    iccid_commands=(("+CCID", "+CCID: {iccid}"),),
    sims=(SIM_ORANGE,), cmee_default=0, sms_first_index=1, storm_urcs=('+CIEV: "signal",3',),
    sources=("L850 captures: '+CGMI: \"Fibocom\"', '+GTPKGVER: \"18500.5001.00.05.27.30_5001.05.001.035\"', "
             "'+CGSN: \"0155...\"', '+CIMI: 2200...', '+CCID: 8938...', ModemManager model 'L850 LTE Module\",\"L850'",
             "+XMCI: 4,... serving-cell lines from luci-app-3ginfo-lite issues; ATI layout is a guess"),
)

PERSONALITIES: dict[str, Personality] = {p.name: p for p in (
    QUECTEL_EC25, QUECTEL_RM500Q, SIMCOM_SIM7600, SIERRA_EM7455, TELIT_LE910,
    HUAWEI_ME909S, UBLOX_LARA_R6, FIBOCOM_L850,
)}


@dataclass
class Timing:
    """Delays of a real modem at speed 1, in seconds; the engine multiplies them by `speed`."""
    query: float = 0.02          # plain read commands
    set: float = 0.05
    cfun: float = 1.5
    cops_scan: float = 30.0
    cops_set: float = 1.0
    manual_fail: float = 5.0     # +COPS=1 on a PLMN that is not there
    register: float = 2.0        # searching -> registered
    sim_read: float = 1.5        # SIM (re)initialisation
    slot_switch: float = 1.0     # deregistration before reading the other SIM
    pdp: float = 0.8
    sms_send: float = 1.5
    last_words: float = 0.5          # OK of AT+CFUN=1,1 -> port gone
    last_words_floor: float = 0.2    # real seconds, whatever the speed
    reset_port_down: float = 3.0     # AT+CFUN=1,1: port gone this long
    power_cycle_down: float = 5.0    # GPIO power cycle: port gone this long
    boot_urc: float = 0.5            # RDY after the port is back
    boot_urc_fallback: float = 2.0   # real seconds to wait for a host to open the port before booting anyway
    urc_storm_interval: float = 0.005
    urc_storm_floor: float = 0.002   # a storm always lasts a little, even at speed 0
    extra: dict = field(default_factory=dict)
