"""Headless Chromium (Debian's `chromium`) opens the HTML report as the owner's browser would: its DOM, a
screenshot, a print to PDF (A4), and the claim printed on exactly one page."""
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from agent.report.render import render
from tests.report.test_render import sample_report

WINDOW = (1100, 1400)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("needs Chromium (Debian package chromium; packaging/debian-deps.sh installs it for make test)")


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # A profile of its own: several runs at once (other tests, other users of the machine) must not share one.
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "LANG": "C.UTF-8"})


@pytest.fixture
def report_page(tmp_path):
    report = sample_report()
    page = tmp_path / "report.html"
    page.write_text(render(report, "html", "fr"), encoding="utf-8")
    return report, page


def test_the_dom_has_the_timeline_and_every_incident_row(tmp_path, report_page):
    report, page = report_page
    proc = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert re.search(r'<svg class="timeline"[^>]*data-incidents="6"', dom)
    assert len(re.findall(r'<tr class="incident[ "]', dom)) == len(report["incidents"]) == 6
    assert len(re.findall(r'<rect class="down"', dom)) == 2
    assert "mar. 03/11/2026 10:00:00" in dom


def test_a_screenshot_shows_the_timeline_in_colour(tmp_path, report_page):
    _, page = report_page
    shot = tmp_path / "report.png"
    proc = run_chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri())
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    width, height, pixels = read_png(shot.read_bytes())
    assert (width, height) == WINDOW
    colours = {pixels[i:i + 3] for i in range(0, len(pixels), 3)}
    assert len(colours) > 50                                        # text, tables, a picture: not a blank page
    for rgb in ((0xd6, 0x27, 0x28), (0xcf, 0xe8, 0xcf), (0x11, 0x11, 0x11)):   # down, up lanes, total outage
        assert bytes(rgb) in colours, f"no pixel of #{bytes(rgb).hex()} in the screenshot"


def test_the_report_prints_to_an_a4_pdf(tmp_path, report_page):
    _, page = report_page
    pdf = tmp_path / "report.pdf"
    proc = run_chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 20_000
    assert pdf_pages(data) >= 1
    for box in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data):
        assert (round(float(box[0])), round(float(box[1]))) == (595, 842)          # A4 in points


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_claim_prints_on_one_page(tmp_path, lang):
    from tests.report.periods import at, down
    from agent.ledger.records import POWER
    many = [down(at(2026, 11, 22) + n * 3600, 1 + n, id=100 + n, source="unsynced" if n % 2 else "ntp")
            for n in range(40)]   # more than a page holds, and the longest texts: weak evidence, every flag,
    many += [down(at(2026, 11, 22) + n * 3600, 1, link="site", kind=POWER, cause="power_cut", id=200 + n)
             for n in range(40)]  # and each outage partly in a site power cut: a note on every row
    page = tmp_path / "claim.html"
    page.write_text(render(sample_report(extra=many), "html", lang, claim=True), encoding="utf-8")
    pdf = tmp_path / "claim.pdf"
    proc = run_chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr[-2000:]
    assert pdf_pages(pdf.read_bytes()) == 1


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def read_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of an 8-bit RGB or RGBA PNG (what Chromium writes): enough to look at colours."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    out, prev = bytearray(), bytearray(stride)
    for row in range(height):
        kind, line = raw[row * (stride + 1)], bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        prev = line
        out += line if channels == 3 else b"".join(line[i:i + 3] for i in range(0, stride, 4))
    return width, height, bytes(out)
