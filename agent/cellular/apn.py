"""The APN for a SIM: from [[cellular.sim]] apn, else from Debian's mobile-broadband-provider-info by MCC/MNC.

The database (serviceproviders.xml, format 2.0) lists providers per country; a provider has <network-id mcc mnc>
entries and <apn value> entries, each with <usage type> internet | mms | wap | ia | ... (none means internet in
older entries). Several providers can claim one MCC/MNC (MVNOs riding a host network list the host's id too), so
the candidates are ranked: primary="true" first, then the provider named like the network (+COPS name), then
providers whose *first* network id is the one asked for (the network's owner), then file order. The first internet APN of the best provider wins; MMS/WAP-only APNs
never do.

The file (360 KB) is read on the first lookup of each network, keeping only that network's providers (a whole
index would hold ~0.8 MB for networks a router never sees): that runs on the modem worker thread, never on the
core. A missing file is a clear ApnError telling how to get it or to set the APN by hand.
"""
from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass

DEFAULT_PATH = "/usr/share/mobile-broadband-provider-info/serviceproviders.xml"
_INTERNET = ("internet", "mms-internet-hipri", "mms-internet-hipri-fota")


class ApnError(LookupError):
    """No APN can be found; the message says what to do."""


@dataclass(frozen=True)
class Apn:
    value: str
    provider: str
    source: str                 # "config" | "database"
    username: str | None = None
    password: str | None = None   # from the public database, not a secret of ours


@dataclass(frozen=True)
class _Provider:
    name: str
    primary: bool
    first_id: tuple[str, str] | None
    order: int
    apns: tuple[Apn, ...]


class ApnDatabase:
    def __init__(self, path: str = DEFAULT_PATH):
        self.path = path
        self._lock = threading.Lock()
        self._networks: dict[tuple[str, str], list[_Provider]] = {}   # the networks asked for so far

    def lookup(self, mcc: str, mnc: str, name: str | None = None) -> Apn | None:
        """The internet APN for a network, None when the database knows no provider with one. `name`: the
        operator's name as the network gives it (+COPS), which picks the owner among the MVNOs sharing its id."""
        network = (str(mcc), str(mnc))
        ranked = sorted(self._providers(network),
                        key=lambda p: (not p.primary, not _same_name(p.name, name), p.first_id != network, p.order))
        for provider in ranked:
            if provider.apns:
                return provider.apns[0]
        return None

    def for_imsi(self, imsi: str) -> tuple[str, str, Apn] | None:
        """(mcc, mnc, apn) for a SIM's home network from its IMSI. The MNC is 2 or 3 digits and the IMSI does not
        say which: the 3-digit reading is used only when the database knows that network."""
        if not (imsi and imsi.isdigit() and len(imsi) >= 6):
            return None
        for digits in (3, 2):
            mcc, mnc = imsi[:3], imsi[3:3 + digits]
            apn = self.lookup(mcc, mnc)
            if apn is not None:
                return mcc, mnc, apn
        return None

    def _providers(self, network: tuple[str, str]) -> list[_Provider]:
        with self._lock:
            if network not in self._networks:
                self._networks[network] = _load(self.path, network)
            return self._networks[network]


def _same_name(provider: str, operator: str | None) -> bool:
    a, b = provider.casefold().strip(), (operator or "").casefold().strip()
    return bool(a and b) and (a in b or b in a)


def _load(path: str, network: tuple[str, str]) -> list[_Provider]:
    """The providers claiming `network`, in file order. Streamed, each provider cleared once read, and only the
    network asked for is kept: the whole tree would cost ~5 MB of RSS (kept by the allocator once freed), an index
    of every network ~0.8 MB, for the one or two networks a router ever asks about."""
    found: list[_Provider] = []
    order = 0
    try:
        for _, node in ET.iterparse(path):
            if node.tag == "country":
                node.clear()
            if node.tag != "provider":
                continue
            gsm = node.find("gsm")
            if gsm is not None:
                ids = [(n.get("mcc", ""), n.get("mnc", "")) for n in gsm.findall("network-id")]
                if network in ids:
                    name = (node.findtext("name") or "").strip()
                    found.append(_Provider(name=name, primary=node.get("primary") == "true", first_id=ids[0],
                                           order=order, apns=tuple(_internet_apns(gsm, name))))
            order += 1
            node.clear()
    except FileNotFoundError:
        raise ApnError(f"no APN database at {path} (Debian package mobile-broadband-provider-info); "
                       f"or set apn in a [[cellular.sim]] table") from None
    except (OSError, ET.ParseError) as e:
        raise ApnError(f"APN database {path} unreadable: {e}; set apn in a [[cellular.sim]] table") from None
    return found


def _internet_apns(gsm: ET.Element, provider: str):
    for node in gsm.findall("apn"):
        value = (node.get("value") or "").strip()
        usages = [u.get("type") for u in node.findall("usage")]
        if value and (not usages or any(u in _INTERNET for u in usages)):
            yield Apn(value=value, provider=provider, source="database",
                      username=(node.findtext("username") or "").strip() or None,
                      password=(node.findtext("password") or "").strip() or None)


def resolve(sim_apn: str, status: dict, database: ApnDatabase) -> Apn:
    """The APN for the SIM the modem status describes. Order: the configured one; the registered network's when
    registered at home (its MCC/MNC is exact); the IMSI's home network. ApnError when none works."""
    if sim_apn:
        return Apn(value=sim_apn, provider="", source="config")
    mcc, mnc = status.get("mcc"), status.get("mnc")
    if status.get("registration") == "home" and mcc and mnc:
        apn = database.lookup(mcc, mnc, status.get("operator_name"))
        if apn is not None:
            return apn
    found = database.for_imsi(status.get("imsi") or "")
    if found is not None:
        return found[2]
    where = f"{mcc}-{mnc}" if mcc and mnc else "this SIM (no MCC/MNC or IMSI known yet)"
    raise ApnError(f"no internet APN for {where} in {database.path}; set apn in a [[cellular.sim]] table")
