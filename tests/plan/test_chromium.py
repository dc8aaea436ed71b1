"""Headless Chromium (Debian's `chromium`) opens the sheet as the owner's browser would: a print to PDF on exactly
one A4 page, in French and in English, for the shop and for the longest sheet the configuration allows; and a
screenshot that shows the LED legend in colour."""
from __future__ import annotations

import re

import pytest

from agent.plan.render import render
from agent.plan.sheet import gather
from tests.plan.sites import NOW, PARIS, STATE, drill, longest, shop
from tests.report.test_chromium import pdf_pages, read_png, run_chromium

WINDOW = (900, 1300)


def page(tmp_path, config, lang: str):
    sheet = gather(config, NOW, zone=PARIS, drills=[drill(NOW - 14 * 86400, False, failed=("Téléphonie",))],
                   state=STATE, router="Raspberry Pi 4 Model B Rev 1.4", state_as_of=NOW, drill_zone=PARIS)
    path = tmp_path / f"plan-{lang}.html"
    path.write_text(render(sheet, "html", lang), encoding="utf-8")
    return path


def print_pdf(tmp_path, path) -> bytes:
    pdf = tmp_path / (path.stem + ".pdf")
    proc = run_chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", path.as_uri())
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr[-2000:]
    return pdf.read_bytes()


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("site", ["shop", "longest"])
def test_the_sheet_prints_on_one_a4_page(tmp_path, lang, site):
    data = print_pdf(tmp_path, page(tmp_path, shop() if site == "shop" else longest(), lang))
    assert data.startswith(b"%PDF")
    assert pdf_pages(data) == 1
    for box in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data):
        assert (round(float(box[0])), round(float(box[1]))) == (595, 842)          # A4 in points


def test_a_longer_sheet_would_not_fit(tmp_path):
    """The one-page test can fail: the same sheet without the configuration's bounds takes a second page."""
    config = longest()
    from dataclasses import replace
    path = page(tmp_path, replace(config, plan=replace(config.plan, steps=config.plan.steps * 3)), "fr")
    assert pdf_pages(print_pdf(tmp_path, path)) >= 2


def test_a_screenshot_shows_the_sheet_and_its_led_in_colour(tmp_path):
    path = page(tmp_path, shop(), "fr")
    shot = tmp_path / "plan.png"
    proc = run_chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", path.as_uri())
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    width, height, pixels = read_png(shot.read_bytes())
    assert (width, height) == WINDOW
    colours = {pixels[i:i + 3] for i in range(0, len(pixels), 3)}
    assert len(colours) > 50                                         # text and tables: not a blank page
    for rgb in ((0x22, 0xaa, 0x22), (0xbb, 0x00, 0x00)):             # the LED's green, the failed drill's red
        assert bytes(rgb) in colours, f"no pixel of #{bytes(rgb).hex()} in the screenshot"


def test_the_dom_lists_every_pattern_and_contact(tmp_path):
    path = page(tmp_path, shop(), "en")
    proc = run_chromium(tmp_path, "--dump-dom", path.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert re.findall(r'<tr data-pattern="(\w+)">', dom) == ["on", "slow_blink", "double", "fast_blink", "on_battery", "off"]
    assert dom.count('<tr class="contact">') == 2 and "+33 6 12 34 56 78" in dom
