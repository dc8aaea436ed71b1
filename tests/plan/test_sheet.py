"""The sheet's facts (agent/plan/sheet.py) and their rendering in French and English, as HTML and as text for an
80-column serial console."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from agent.plan import render as plan_render
from agent.plan.render import render
from agent.plan.sheet import MAX_CONTACTS, gather
from common.cron import next_fire
from tests.plan.sites import NOW, PARIS, STATE, at, drill, longest, shop


def sheet_of(config=None, drills=(), state=STATE, router="Raspberry Pi 4 Model B Rev 1.4", **kw):
    return gather(config or shop(), NOW, zone=PARIS, drills=drills, state=state, router=router,
                  state_as_of=NOW - 30, drill_zone=PARIS, **kw)


def test_the_facts_of_the_shop():
    s = sheet_of(drills=[drill(at(2026, 11, 1, 3), True), drill(at(2026, 10, 1, 3), False)])
    assert s["site"] == {"device": "shop-042", "business": "Boulangerie Martin",
                         "site": "Boulangerie Martin, 12 rue de la République, Lyon",
                         "location": "arrière-boutique, étagère du haut"}
    primary, backup = s["uplinks"]
    assert (primary["provider"], primary["reference"], primary["repair_hours"], primary["support_phone"]) == \
        ("Orange Pro", "FTTO-123456", 4.0, "3901")
    assert primary["repair_in_business_hours"] and backup["operator"] == "SFR" and backup["interface"] == "wwan0"
    assert [(x["slot"], x["active"], x["operator"], x["apn"], x["plmns"]) for x in s["sims"]] == \
        [(1, False, None, None, []), (2, True, "SFR", "sl2sfr", ["20810"])]
    e = s["equipment"]
    assert (e["modem"], e["imei"], e["router"]) == ("Quectel EC25-E", "867531051234561",
                                                   "Raspberry Pi 4 Model B Rev 1.4")
    assert [c["name"] for c in s["contacts"]] == ["Julien Martin", "InfoLyon"]      # the escalation's order
    assert s["drills"]["last"]["ts"] == at(2026, 11, 1, 3) and s["drills"]["last"]["ok"] is True
    # the scheduler's own reckoning: "monthly" is 03:00 on the 1st, in [drills] timezone
    assert s["drills"]["next"] == next_fire("monthly", NOW, PARIS) == at(2026, 12, 1, 3)
    assert s["drills"]["next_local"] == "2026-12-01T03:00:00+01:00"
    json.dumps(s)                        # the `plan` command's JSON answer is this dict


def test_without_status_file_nor_ledger_the_sheet_says_unknown():
    s = sheet_of(drills=None, state={}, router=None)
    assert s["equipment"]["modem"] is None and s["equipment"]["imei"] is None
    for lang, unknown, no_ledger in (("fr", "Modem: inconnu, IMEI inconnu", "pas encore de journal"),
                                     ("en", "Modem: unknown, IMEI unknown", "no ledger yet")):
        text = render(s, "text", lang)
        assert unknown in text and no_ledger in text
        assert ("Routeur: inconnu" if lang == "fr" else "Router: unknown") in text


def test_a_status_file_of_any_shape_is_no_crash():
    for state in ({"modem": "garbage"}, {"modem": {"imei": ["x"], "model": {"a": 1}, "operator_name": "\x1b[31mX"}},
                  {"modem": None, "cellular": 7}):
        s = sheet_of(state=state)
        assert s["equipment"]["imei"] is None
        assert "\x1b" not in render(s, "text", "en")


def test_the_last_drill_and_its_failed_services():
    s = sheet_of(drills=[drill(at(2026, 11, 1, 3), False, failed=("Téléphonie",))])
    text = " ".join(render(s, "text", "en").split())       # as read, whatever the wrapping
    assert "Last drill: Sun 2026-11-01 03:00, full: FAILED, recovery 3.2 s; services failed: Téléphonie" in text
    html = render(s, "html", "fr")
    assert re.search(r'class="last-drill">Dernier exercice: <span class="flag">dim\. 01/11/2026 03:00, complet: ÉCHEC',
                     html)
    assert "Prochain exercice: mar. 01/12/2026 03:00 (passif, chaque mois)" in html
    assert "no drill" not in render(sheet_of(drills=[]), "text", "en") and \
        "Last drill: none in the ledger" in render(sheet_of(drills=[]), "text", "en")


def test_no_schedule_means_no_next_drill():
    s = sheet_of(shop(drills={"schedule": ""}))
    assert s["drills"]["next"] is None
    assert "Next drill: none scheduled" in render(s, "text", "en")


def test_default_steps_name_the_router_the_first_contact_and_the_support_line():
    for lang, words in (("fr", ["Ne débranchez pas le boîtier blanc marqué RELAIS (arrière-boutique, étagère du "
                                "haut)",
                                "Appelez Julien Martin au +33 6 12 34 56 78",
                                "support Orange Pro au 3901, référence du contrat FTTO-123456"]),
                        ("en", ["Do not unplug le boîtier blanc marqué RELAIS (arrière-boutique",
                                "Call Julien Martin on +33 6 12 34 56 78",
                                "Orange Pro's support on 3901, contract reference FTTO-123456"])):
        html = render(sheet_of(), "html", lang)
        steps = re.search(r'<ol class="steps">(.*?)</ol>', html, re.S).group(1)
        items = [unescape(i) for i in re.findall(r"<li>(.*?)</li>", steps)]
        assert len(items) == 6
        for text in words:
            assert any(text in i for i in items), (text, items)


def test_written_steps_are_used_as_written_in_either_language():
    config = shop(plan={"steps": ["Ne touchez à rien.", "Appelez Julien au 06 12 34 56 78."]})
    for lang in ("fr", "en"):
        html = render(sheet_of(config), "html", lang)
        assert re.findall(r"<li>(.*?)</li>", re.search(r'<ol class="steps">(.*?)</ol>', html, re.S).group(1)) == \
            ["Ne touchez à rien.", "Appelez Julien au 06 12 34 56 78."]
    text = render(sheet_of(config), "text", "en")
    assert " 1. Ne touchez à rien.\n 2. Appelez Julien au 06 12 34 56 78.\n" in text


def test_contacts_beyond_the_page_are_counted_not_listed():
    s = sheet_of(longest())
    assert len(s["contacts"]) == MAX_CONTACTS and s["contacts_more"] == 14 - MAX_CONTACTS == 6
    assert "… and 6 more: see the configuration ([[contacts]])" in render(s, "text", "en")
    assert render(s, "html", "fr").count('<tr class="contact">') == MAX_CONTACTS


def test_without_contacts_the_sheet_asks_for_them():
    s = sheet_of(shop(contacts=[]))
    assert "No contact configured ([[contacts]]): to be filled in." in render(s, "text", "en")
    assert "Call the person who looks after the site's IT." in render(s, "text", "en")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_text_fits_an_80_column_console(lang):
    for s in (sheet_of(), sheet_of(longest())):
        text = render(s, "text", lang)
        assert max(len(line) for line in text.splitlines()) <= 80
        assert "\x1b" not in text


def test_html_escapes_what_the_configuration_writes():
    config = shop(contacts=[{"name": "<script>alert(1)</script>", "phone": "112"}],
                  plan={"steps": ['<img src=x onerror="y">']})
    html = render(sheet_of(config), "html", "en")
    assert "<script>alert" not in html and "<img" not in html and "&lt;script&gt;" in html


def test_a_long_site_is_cut_to_keep_the_page():
    s = sheet_of(longest())
    assert len(s["site"]["site"]) == 100 and s["site"]["site"].endswith("…")
    assert len(s["uplinks"][0]["reference"]) == 60 and len(s["site"]["business"]) == 80


def test_an_unknown_language_or_format_is_one_clear_error():
    with pytest.raises(ValueError, match=r"^lang: expected one of fr, en, got 'de'$"):
        render(sheet_of(), "html", "de")
    with pytest.raises(ValueError, match=r"^format: expected one of html, text, json, got 'pdf'$"):
        render(sheet_of(), "pdf", "fr")
    assert plan_render.FORMATS == ("html", "text", "json")


THREE = {"uplinks": [{"name": "fiber", "interface": "eth0", "priority": 1},
                     {"name": "fiber2", "interface": "eth1", "priority": 2},
                     {"name": "lte", "kind": "cellular", "priority": 3}],
         "board": {"cellular_interface": "wwan0"},
         "contracts": [{"uplink": "fiber", "provider": "Orange Pro", "reference": "FTTO-123456", "repair_hours": 4,
                        "support_phone": "3901"},
                       {"uplink": "fiber2", "provider": "Free Pro", "reference": "FP-9", "repair_hours": 24},
                       {"uplink": "lte", "provider": "SFR Business"}]}


def test_every_uplink_by_name_kind_and_contract():
    s = sheet_of(shop(**THREE))
    assert [(u["uplink"], u["kind"], u["interface"], u["provider"], u["reference"], u["operator"])
            for u in s["uplinks"]] == [("fiber", "ethernet", "eth0", "Orange Pro", "FTTO-123456", None),
                                       ("fiber2", "ethernet", "eth1", "Free Pro", "FP-9", None),
                                       ("lte", "cellular", "wwan0", "SFR Business", None, "SFR")]
    fr, en = render(s, "text", "fr"), render(s, "text", "en")
    assert "fiber (principal, ligne fixe) · eth0" in fr and "fiber2 (secours, ligne fixe) · eth1" in fr
    assert "lte (backup, cellular) · wwan0" in en and "Free Pro" in en and "24 h" in en
    assert "SFR Business (SFR)" in en                   # the operator the modem is registered on, beside the contract
    assert "support Orange Pro au 3901" in fr           # whom to call: the best uplink's support
    legacy = render(sheet_of(), "text", "fr")
    assert "principal (fibre) · eth0" in legacy and "secours (mobile) · wwan0" in legacy
