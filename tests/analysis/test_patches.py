"""Attention over image patches (attnviz.analysis.patches, attnviz.figures.patches), on a tiny random ViT, against
computations written here from the captured pattern."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.analysis import patches
from attnviz.capture import run_capture
from attnviz.figures import patches as figs
from attnviz.masks import MaskSpec
from attnviz.models import load_model
from tiny_vision import build_vision, picture


@pytest.fixture(scope="module")
def vit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vit")
    eager = build_vision(folder, "vit")
    return load_model(str(folder)), eager


def capture_of(model, spec=MaskSpec()):
    (cap,) = run_capture(model, [picture(5)], spec, keep_output=True)
    return cap


def test_a_querys_weights_are_its_row_over_the_patches_in_raster_order(vit):
    model, _ = vit
    cap = capture_of(model)
    weights = patches.query_weights(cap, 1, 0)  # [CLS] in layer 1
    assert weights.shape == (4, 4, 4)
    row = cap.pattern(1)[:, 0]
    for r in range(4):
        for c in range(4):
            np.testing.assert_array_equal(weights[:, r, c], row[:, 1 + 4 * r + c])
    np.testing.assert_allclose(weights.sum((1, 2)) + patches.own_token_weights(cap, 1, 0).sum(-1), 1.0, atol=1e-6)


def test_the_mean_attention_distance_is_the_papers(vit):
    model, _ = vit
    cap = capture_of(model)
    distance = patches.attention_distance(cap, patch_pixels=4)
    centres = [(4 * r + 2, 4 * c + 2) for r in range(4) for c in range(4)]
    for layer in range(2):
        for head in range(4):
            total = 0.0
            for q in range(16):
                w = cap.pattern(layer)[head, 1 + q, 1:17].astype(np.float64)
                w = w / w.sum()
                total += sum(
                    w[k] * np.hypot(centres[q][0] - centres[k][0], centres[q][1] - centres[k][1]) for k in range(16)
                )
            assert distance[layer, head] == pytest.approx(total / 16, rel=1e-9)
    near = patches.attention_distance(capture_of(model, MaskSpec(grid=model.patch_grid, window_2d=1)), 4)
    assert (near <= np.hypot(4, 4) + 1e-9).all() and (near < distance).all()  # the 2-D window keeps heads near


def test_the_classifiers_probabilities_and_the_allowed_patches(vit):
    import torch

    model, eager = vit
    cap = capture_of(model, MaskSpec(grid=model.patch_grid, blocks_2d=2))
    probabilities = patches.class_probabilities(cap)
    assert probabilities.shape == (5,) and probabilities.sum() == pytest.approx(1.0)
    with torch.inference_mode():
        logits = model(model.encode([picture(5)]), MaskSpec(grid=model.patch_grid, blocks_2d=2))[0]
    np.testing.assert_allclose(probabilities, torch.softmax(logits.double(), -1).numpy(), atol=1e-6)
    allowed = patches.allowed_patches(cap, 0, 1 + 5)  # patch (1, 1): its 2 x 2 block is rows 0-1, columns 0-1
    assert np.flatnonzero(allowed.ravel()).tolist() == [0, 1, 4, 5]
    rolled = patches.rollout_weights(cap, 0)
    assert rolled.shape == (2, 4, 4) and (rolled >= 0).all()


def test_the_overlay_draws_the_real_weights_over_the_image(vit):
    model, _ = vit
    cap = capture_of(model)
    weights = patches.query_weights(cap, 0, 0)[2]
    image = np.zeros((16, 16, 3), np.uint8)
    fig = figs.patch_overlay(image, weights, query=(1, 2), allowed=np.eye(4, dtype=bool), title="<b>x</b>")
    image_trace, heat = fig.data
    assert image_trace.type == "image" and heat.type == "heatmap"
    np.testing.assert_array_equal(np.asarray(heat.z), weights)
    assert heat.dx == 4 and heat.x0 == 1.5 and heat.zmin == 0.0 and heat.zmax == pytest.approx(weights.max())
    assert len(fig.layout.shapes) == 12 + 1  # the 12 hidden patches and the query's frame


def test_the_grid_canvas_colours_where_each_head_looks(vit):
    image = np.full((16, 16, 3), 128, np.uint8)
    weights = np.zeros((2, 3, 4, 4))
    weights[1, 2, 3, 0] = 1.0  # layer 1, head 2 looks only at patch (3, 0)
    canvas, corners = figs.overlay_canvas(image, weights)
    x, y = corners[1 * 3 + 2]
    tile = canvas[y : y + 16, x : x + 16].astype(int)
    assert (tile[12:, :4] != 128).any(axis=-1).all() and (tile[:12] == 128).all() and (tile[:, 4:] == 128).all()
    fig = figs.overlay_grid(image, weights, selected=(1, 2))
    points = fig.data[1]
    assert [list(p[:2]) for p in points.customdata][5] == [1, 2]
    assert len(fig.layout.shapes) == 1


def test_the_class_bars_escape_names_and_show_both_runs():
    probabilities = np.array([0.1, 0.6, 0.3])
    fig = figs.class_bars(probabilities, ["<b>cat</b>", "dog", "owl"], unmasked=np.array([0.2, 0.2, 0.6]), top=2)
    assert list(fig.data[1].y) == ["owl", "dog"] and list(fig.data[1].x) == [0.3, 0.6]
    assert list(fig.data[0].x) == [0.6, 0.2]
    assert all("<b>" not in label for label in fig.data[0].y)


def test_position_similarity_is_the_cosine_of_the_learned_rows(vit):
    model, _ = vit
    table = model.embedding_parts(np.arange(model.max_tokens))["position"]
    similarity = patches.position_similarity(table, model.patch_grid)
    a, b = table[1 + 4 * 1 + 2], table[1 + 4 * 3 + 0]  # positions (1, 2) and (3, 0)
    assert similarity[1, 2, 3, 0] == pytest.approx(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)), rel=1e-6)
    assert np.allclose(similarity[2, 2, 2, 2], 1.0)
    fig = figs.position_grid(similarity)
    z = np.asarray(fig.data[0].z, dtype=float)
    np.testing.assert_allclose(z[5 * 1 : 5 * 1 + 4, 5 * 2 : 5 * 2 + 4], similarity[1, 2])


def test_shuffling_moves_whole_patches():
    picture = np.arange(16 * 16 * 3, dtype=np.int64).reshape(16, 16, 3)
    shuffled, order = patches.shuffle_patches(picture, 4, 4, seed=1)
    assert sorted(order) == list(range(16)) and not np.array_equal(shuffled, picture)
    for i, source in enumerate(order):
        (r, c), (sr, sc) = divmod(i, 4), divmod(int(source), 4)
        np.testing.assert_array_equal(
            shuffled[4 * r : 4 * r + 4, 4 * c : 4 * c + 4], picture[4 * sr : 4 * sr + 4, 4 * sc : 4 * sc + 4]
        )


def test_switching_heads_off_equals_zeroing_them_in_transformers_own_model(vit):
    import torch

    model, eager = vit
    image = picture(6)
    spec = MaskSpec(grid=model.patch_grid)
    ablated = patches.ablated_probabilities(model, image, spec, {1: [0, 3]})
    # independently: transformers' eager model with those heads' columns of the attention output zeroed before W_O
    attention = eager.vit.layers[1].attention

    def zero_heads(module, args):
        z = args[0].clone()
        for head in (0, 3):
            z[..., head * 8 : (head + 1) * 8] = 0
        return (z, *args[1:])

    handle = attention.o_proj.register_forward_pre_hook(zero_heads)
    try:
        with torch.inference_mode():
            logits = eager(pixel_values=model.encode([image]).pixel_values).logits[0]
    finally:
        handle.remove()
    np.testing.assert_allclose(ablated, torch.softmax(logits.double(), -1).numpy(), atol=1e-6)
    clean = patches.class_probabilities(capture_of(model))
    assert (
        np.abs(ablated - patches.class_probabilities(run_capture(model, [image], spec, keep_output=True)[0])).max()
        > 1e-6
    )
    assert clean is not None


def test_similarity_by_relation_averages_the_right_pairs():
    rows = cols = 3
    similarity = np.zeros((3, 3, 3, 3))
    similarity[0, 0, 0, 1] = similarity[0, 1, 0, 0] = 1.0  # neighbours
    similarity[0, 0, 0, 2] = 0.5  # the same row, two apart
    similarity[0, 0, 2, 0] = 0.25  # the same column, two apart
    similarity[0, 0, 2, 1] = -1.0  # other
    summary = patches.similarity_by_relation(similarity)
    # 9 positions: ordered pairs one king's step apart 40, same row two apart 6, same column 6, others 20 (72 in all)
    assert summary["neighbours"] == pytest.approx(2 / 40)
    assert summary["row"] == pytest.approx(0.5 / 6) and summary["column"] == pytest.approx(0.25 / 6)
    assert summary["others"] == pytest.approx(-1 / 20)
    assert rows * cols == 9
