"""End-to-end: the Images page in headless Chromium, as a student uses it: the shipped ViT on a gallery image, a 2-D
window on a patch, a hostile upload (a decompression bomb: a small PNG whose header states 400 megapixels, and a
file that is no image), then a real photo, and the other language. The server's memory is read from /proc before and
after the bomb: it is refused while it is a header."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import FIRST_LOAD_TIMEOUT_MS, STEP_TIMEOUT_MS

pytestmark = pytest.mark.browser

JS_OVERLAY_SHAPE = """() => { const gd = document.querySelector('.st-key-image_overlay .js-plotly-plot');
  if (!gd || !gd._fullData || gd._fullData.length < 2) return null;
  const z = gd._fullData[1].z; return [z.length, z[0].length, (gd.layout.shapes || []).length]; }"""


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children (streamlit runs in one process here)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bomb_png(side: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(b"\x00" * (side + 1)) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def wait_overlay(app, shape):
    app.page.wait_for_function(
        f"(want) => {{ const s = ({JS_OVERLAY_SHAPE})(); return s && s[0] === want[0] && s[1] === want[1]; }}",
        arg=list(shape),
        timeout=FIRST_LOAD_TIMEOUT_MS,
    )
    app.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)


def test_a_student_looks_masks_uploads_a_bomb_then_a_photo_and_switches_language(app, app_server, tmp_path):
    from PIL import Image

    app.goto("Images?lang=en", expect_heatmap=False)
    wait_overlay(app, (7, 7))
    app.shot("images-en")
    # a 2-D window on patch (3,3) of layer 1, by link: the patches it hides are drawn grey on the image
    app.goto("Images?lang=en&img_use_window=true&img_window=1&img_query=%283%2C3%29&img_layer=1", expect_heatmap=False)
    wait_overlay(app, (7, 7))
    rows, cols, shapes = app.page.evaluate(JS_OVERLAY_SHAPE)
    assert shapes == 49 - 9 + 1  # 40 hidden patches and the query's frame
    assert "with the mask" in app.body_text()
    app.shot("images-window")

    upload = app.page.locator("[data-testid=stFileUploader] input[type=file]")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png(20_000))  # 400 megapixels stated, about 400 KB on disk
    before = rss_mb(app_server.proc.pid)
    upload.set_input_files(str(bomb))
    app.page.wait_for_function(
        "() => document.body.innerText.includes('far more than 16 megapixels')", timeout=STEP_TIMEOUT_MS
    )
    app.wait_idle()
    assert rss_mb(app_server.proc.pid) - before < 100  # 400 MB of pixels never decoded
    assert app.page.locator("[data-testid=stFileUploader]").count() == 1  # the inputs stay to try again

    text = tmp_path / "notes.png"
    text.write_bytes(b"these are lecture notes, not a picture")
    upload.set_input_files(str(text))
    app.page.wait_for_function("() => document.body.innerText.includes('not a PNG or JPEG')", timeout=STEP_TIMEOUT_MS)

    photo = tmp_path / "photo.jpg"
    pixels = np.random.default_rng(0).integers(0, 256, (300, 200, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photo, format="JPEG")
    upload.set_input_files(str(photo))
    app.page.wait_for_function("() => !document.body.innerText.includes('not a PNG or JPEG')", timeout=STEP_TIMEOUT_MS)
    wait_overlay(app, (7, 7))
    assert "Your image is shown" in app.body_text()  # the gallery is set aside while the upload is there

    app.page.get_by_text("中文").click()
    app.page.wait_for_function("() => document.body.innerText.includes('图像图块上的注意力')", timeout=STEP_TIMEOUT_MS)
    wait_overlay(app, (7, 7))
    app.shot("images-zh")
    assert app.exception_count() == 0 and "Traceback" not in app.body_text() and not app.page_errors
