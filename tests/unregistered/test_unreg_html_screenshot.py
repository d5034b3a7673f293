"""The HTML report renders in headless Chromium: a real screenshot, not a blank page.

Needs the Debian `chromium` and `fonts-noto-cjk` packages, which `make test` installs; the test
fails (not skips) without them, so a missing install step cannot hide.
"""

import subprocess
import zlib
from pathlib import Path

from unreg_store import AS_OF, build_store

from resolver.unregistered.report import build_report, write_report

CHROMIUM = Path("/usr/bin/chromium")


def _png_pixels(path: Path) -> tuple[int, int, set[bytes]]:
    """Width, height and a sample of distinct RGB(A) pixels of an 8-bit non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            ctype = body[9]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = {2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = width * bpp
    colours: set[bytes] = set()
    prev = bytearray(stride)
    for y in range(height):
        filt, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 7 == 0:
            colours.update(bytes(line[x:x + 3]) for x in range(0, stride, bpp * 5))
        prev = line
    return width, height, colours


def test_report_renders_with_table_and_chart(tmp_path):
    assert CHROMIUM.exists(), "needs Debian chromium: run `make system-deps`"
    store, _ = build_store(tmp_path / "m.duckdb")
    try:
        html = write_report(build_report(store, AS_OF, ("suspect", "dormant", "status_conflict", "link_review")),
                            tmp_path / "report.html")
    finally:
        store.close()
    png = tmp_path / "shot.png"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1280,2000",
           html.resolve().as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    assert png.stat().st_size > 20_000
    width, height, colours = _png_pixels(png)
    assert (width, height) == (1280, 2000)
    assert len(colours) > 20  # text, table stripes, chart bars: far from one colour
    assert b"\xc6\x28\x28" in colours  # the chart bars' red (#c62828) is on screen
