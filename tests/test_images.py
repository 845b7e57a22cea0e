"""Images in (attnviz.images) and an image through the Python API and the command line.

Hostile files are made here: a decompression bomb (a small PNG whose header states a huge image), a file that is no
image, a huge file, a GIF (not an allowed format), a truncated PNG. Each gets a message, and the bomb is refused
before its pixels are decoded (the process's memory stays where it was).
"""

from __future__ import annotations

import io
import resource
import struct
import zlib

import numpy as np
import pytest

import attnviz
from attnviz.cli import main
from attnviz.images import MAX_IMAGE_BYTES, read_image
from attnviz.models import load_model
from attnviz.text import InputError
from tiny_vision import build_vision


def png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def bomb_png(side: int = 60_000) -> bytes:
    """A valid PNG of side × side grey pixels, all zero: a few hundred KB that would decode to ``side²`` bytes."""
    header = b"\x89PNG\r\n\x1a\n"

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return header + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_png_and_a_jpeg_are_read_as_rgb(tmp_path):
    from PIL import Image

    picture = read_image(png_bytes(20, 10))
    assert picture.mode == "RGB" and picture.size == (20, 10)
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, format="JPEG")
    assert read_image(path).mode == "RGB" and read_image(str(path)).size == (8, 8)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    data = bomb_png()
    assert len(data) < MAX_IMAGE_BYTES  # small on disk: only its header gives it away
    before = max_rss_mb()
    with pytest.raises(InputError) as error:
        read_image(data)
    assert error.value.key == "image.bomb" and "3,600,000,000 pixels" in str(error.value)
    assert max_rss_mb() - before < 100  # 3.6 GB of pixels were never allocated
    with pytest.raises(InputError) as error:  # under Pillow's own limit, over attnviz's: refused by the header
        read_image(bomb_png(5_000))
    assert error.value.key == "image.too_many_pixels" and "5000 × 5000" in str(error.value)


@pytest.mark.parametrize(
    "data, key",
    [
        (b"just some text, not an image", "image.not_image"),
        (b"GIF89a" + b"\x00" * 100, "image.not_image"),  # a format that is not allowed
        (png_bytes(30, 30)[:60], "image.not_image"),  # truncated
        (b"\x89PNG" + b"\x00" * (MAX_IMAGE_BYTES + 1), "image.too_big"),
    ],
    ids=["text", "gif", "truncated", "huge"],
)
def test_hostile_files_get_a_message(data, key):
    with pytest.raises(InputError) as error:
        read_image(data)
    assert error.value.key == key
    assert error.value.message("zh") and "\n" not in error.value.message("en")


def test_other_objects_and_missing_files_are_refused(tmp_path):
    for source in (None, 12, ["a"], tmp_path / "missing.png"):
        with pytest.raises(InputError):
            read_image(source)


@pytest.fixture(scope="module")
def vit_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vit")
    build_vision(folder, "vit")
    return folder


def test_attnviz_capture_takes_an_image_with_the_text_hook_names(vit_folder, tmp_path):
    model = load_model(str(vit_folder))
    path = tmp_path / "x.png"
    path.write_bytes(png_bytes(32, 32, seed=3))
    plain = attnviz.capture(image=path, model=model)
    assert plain["blocks.0.attn.hook_pattern"].shape == (4, 17, 17) and plain.tokens[0] == "[CLS]"
    windowed = attnviz.capture(image=path.read_bytes(), model=model, window_2d=1)
    allowed = windowed.mask(1)
    assert not allowed[1 + 0, 1 + 15] and allowed[1 + 0, 1 + 5] and allowed[0].all()  # (0,0) sees (1,1), not (3,3)
    assert np.abs(windowed.pattern(1)[:, ~allowed]).max() == 0.0
    assert not np.allclose(windowed.pattern(1), plain.pattern(1))
    with pytest.raises(InputError) as error:
        attnviz.capture("a sentence", model=model)
    assert error.value.key == "model.needs_image"


def test_the_command_line_writes_an_image_capture(vit_folder, tmp_path, capsys):
    path = tmp_path / "x.png"
    path.write_bytes(png_bytes(16, 16))
    out = tmp_path / "x.npz"
    assert (
        main(["capture", "--model", str(vit_folder), "--image", str(path), "--blocks-2d", "2", "--out", str(out)]) == 0
    )
    arrays = np.load(out)
    assert arrays["blocks.1.attn.hook_pattern"].shape == (4, 17, 17) and str(arrays["tokens"][1]) == "(0,0)"
    bad = tmp_path / "bad.png"
    bad.write_bytes(bomb_png(20_000))
    assert main(["capture", "--model", str(vit_folder), "--image", str(bad), "--out", str(out)]) == 1
    assert "megapixels" in capsys.readouterr().err
    assert main(["capture", "--image", str(path), "--out", str(out)]) == 1  # the text model reads no image


def test_attnviz_show_draws_an_image_capture(vit_folder, tmp_path):
    model = load_model(str(vit_folder))
    cap = attnviz.capture(image=png_bytes(16, 16, seed=4), model=model)
    figures = attnviz.show(cap, layer=1, head=2, inline=False)
    assert figures and all(fig.data for fig in figures.values())
    head = next(iter(figures.values()))
    assert "[CLS]" in str(head.to_plotly_json()) and "(0,0)" in str(head.to_plotly_json())
