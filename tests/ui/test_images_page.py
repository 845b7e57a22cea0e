"""The Images page (pages/9_Images.py) in AppTest, as a student uses it: a tiny random ViT offered by folder, a
gallery of three images built here, then a sequence: look, turn a 2-D mask on, change the image, pick a patch as the
query, click a thumbnail, switch language, come back; and a hostile link. Numbers on screen are compared with a
capture computed here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import attnviz.gallery as gallery_module
from apptest_utils import array
from attnviz.analysis import patches
from attnviz.capture import run_capture
from attnviz.figures import patches as figs
from attnviz.masks import MaskSpec
from attnviz.models import load_model
from tiny_vision import build_vision

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def vit_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vit")
    build_vision(folder, "vit")
    return folder


@pytest.fixture
def page(vit_folder, tmp_path, monkeypatch):
    from PIL import Image

    shelf = tmp_path / "gallery" / "tests"
    shelf.mkdir(parents=True)
    entries = []
    for index, name in enumerate(["cat", "dog", "owl"]):
        pixels = np.random.default_rng(index).integers(0, 256, (20, 20, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(shelf / f"{name}.png")
        entries.append({"file": f"{name}.png", "label": index, "class_name": name.title(), "test_index": index})
    (shelf / "gallery.json").write_text(json.dumps(entries))
    monkeypatch.setattr(gallery_module, "GALLERY_DIR", tmp_path / "gallery")
    gallery_module.gallery.cache_clear()
    monkeypatch.setenv("ATTNVIZ_MODELS", str(vit_folder))
    yield shelf
    gallery_module.gallery.cache_clear()


def open_page(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/9_Images.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def by_key(at, key: str) -> dict:
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(f"-{key}"):
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart {key}")


def gallery_box(at):
    return next(box for box in at.selectbox if box.label in ("An image from the gallery", "图库中的图像"))


def expected(vit_folder, shelf, name: str, spec: MaskSpec):
    from PIL import Image

    model = load_model(str(vit_folder))
    (cap,) = run_capture(model, [Image.open(shelf / name).convert("RGB")], spec, keep_output=True)
    return cap


def test_a_student_looks_masks_changes_image_and_query_and_comes_back(page, vit_folder):
    at = open_page(img_model=str(vit_folder))
    assert not at.exception and not at.error
    grid = (1, 4, 4)
    cap = expected(vit_folder, page, "cat.png", MaskSpec(grid=grid))
    overlay = by_key(at, "image_overlay")
    np.testing.assert_allclose(array(overlay["data"][1]["z"]), patches.query_weights(cap, 0, 0)[0], atol=1e-6)
    bars = by_key(at, "image_classes")
    assert len(bars["data"]) == 1  # no mask: one run
    np.testing.assert_allclose(array(bars["data"][0]["x"]).max(), patches.class_probabilities(cap).max(), atol=1e-6)

    at.checkbox(key="img_use_window").check().run()  # a 2-D window of 1
    masked = expected(vit_folder, page, "cat.png", MaskSpec(grid=grid, window_2d=1))
    overlay = by_key(at, "image_overlay")
    np.testing.assert_allclose(array(overlay["data"][1]["z"]), patches.query_weights(masked, 0, 0)[0], atol=1e-6)
    assert len(by_key(at, "image_classes")["data"]) == 2  # with and without the mask

    gallery_box(at).set_value("Owl (test image #2)").run()
    at.selectbox(key="img_query").set_value("(1,2)").run()
    at.slider(key="img_layer").set_value(1).run()
    owl = expected(vit_folder, page, "owl.png", MaskSpec(grid=grid, window_2d=1))
    overlay = by_key(at, "image_overlay")
    weights = patches.query_weights(owl, 1, 1 + 4 + 2)[0]
    np.testing.assert_allclose(array(overlay["data"][1]["z"]), weights, atol=1e-6)
    assert (weights[3] == 0).all()  # row 3 is two rows away from (1, 2): hidden by the window
    hidden = [s for s in overlay["layout"]["shapes"] if s.get("fillcolor") == figs.HIDDEN]
    assert len(hidden) == 16 - 9  # the patches outside the 3 x 3 neighbourhood, hatched

    at.radio(key="lang").set_value("zh").run()
    assert not at.exception and "图像" in at.title[0].value
    at.selectbox(key="img_query").set_value("[CLS]").run()
    at.checkbox(key="img_use_window").uncheck().run()
    assert len(by_key(at, "image_classes")["data"]) == 1 and not at.exception


def test_a_link_can_only_name_images_of_the_gallery(page, vit_folder):
    at = open_page(image="../../../etc/passwd", img_query="<script>", img_layer="99", img_model=str(vit_folder))
    assert not at.exception and not at.error
    assert gallery_box(at).value == "Cat (test image #0)" and at.selectbox(key="img_query").value == "[CLS]"
    assert at.slider(key="img_layer").value == 0  # out of the range a link may name: the default


def test_no_vision_model_offered_says_so(monkeypatch, tmp_path):
    monkeypatch.delenv("ATTNVIZ_MODELS", raising=False)
    import attnviz.models as models

    monkeypatch.setattr(models, "REGISTRY", {k: v for k, v in models.REGISTRY.items() if v.kind != "vision"})
    at = open_page()
    assert not at.exception and any("No vision model" in i.value for i in at.info)


def test_the_sections_below_show_the_forwards_numbers(page, vit_folder):
    at = open_page(img_model=str(vit_folder))
    cap = expected(vit_folder, page, "cat.png", MaskSpec(grid=(1, 4, 4)))
    distance = by_key(at, "image_distance")
    np.testing.assert_allclose(
        np.sort(array(distance["data"][0]["y"])), np.sort(patches.attention_distance(cap, 4).ravel()), atol=1e-4
    )
    embed = by_key(at, "image_step_embed")
    np.testing.assert_allclose(array(embed["data"][0]["z"])[-1][:16], cap["hook_embed"][0][:16], atol=1e-4)
    assert by_key(at, "image_positions")["data"][0]["type"] == "heatmap"
    assert any("The model now says" in caption.value for caption in at.caption)
    at.multiselect(key="img_ablate").set_value(["L1 H0", "L1 H3"]).run()
    bars = by_key(at, "image_ablation")
    model = load_model(str(vit_folder))
    from PIL import Image

    picture = Image.open(page / "cat.png").convert("RGB")
    ablated = patches.ablated_probabilities(model, picture, MaskSpec(grid=(1, 4, 4)), [(1, 0), (1, 3)])
    np.testing.assert_allclose(np.sort(array(bars["data"][1]["x"])), np.sort(ablated)[-5:], atol=1e-6)
    assert not at.exception and not at.error


def test_the_shipped_model_and_gallery_open_by_default_and_a_link_cannot_name_another_model():
    gallery_module.gallery.cache_clear()
    at = open_page(img_model="/etc")
    assert not at.exception and not at.error
    assert at.selectbox(key="img_model").value == "vit-fashion"  # a path no one offered: the shipped model
    bars = by_key(at, "image_classes")
    assert set(bars["data"][0]["y"]) <= {
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    }
    assert gallery_box(at).value.startswith("Ankle boot")
    overlay = by_key(at, "image_overlay")
    assert array(overlay["data"][1]["z"]).shape == (7, 7)  # 28 x 28 pixels in 4 x 4 patches
