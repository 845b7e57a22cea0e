"""Attention over an image's patches, read off a capture of a vision model (attnviz.models.hf_vision).

The capture's mask spec carries the patch grid ``(first, rows, cols)``: tokens ``[0, first)`` are the model's own
([CLS], DeiT's distillation token, DINOv2's registers), then ``rows × cols`` patches in raster order. Every function
here returns arrays laid out on that grid, ready to be drawn over the image:

    on_patches(row)               (..., T) -> (..., rows, cols)   a row of weights over the patch keys
    query_weights(capture, l, i)  (heads, rows, cols)             query i's weights on each patch, every head
    rollout_weights(capture, i)   (layers, rows, cols)            attention rollout from token i, after each layer
    attention_distance(capture)   (layers, heads)                 mean distance (pixels) a patch looks at
    class_probabilities(capture)  (labels,)                       a classifier's softmax, from its logits
"""

from __future__ import annotations

import numpy as np

from .flow import rollout


def grid_of(capture) -> tuple[int, int, int]:
    """(first patch position, rows, cols) of the capture's image; ValueError for a text capture."""
    grid = capture.spec.grid
    if grid is None:
        raise ValueError("not a capture of an image (its mask spec has no patch grid)")
    return grid


def on_patches(row: np.ndarray, grid: tuple[int, int, int]) -> np.ndarray:
    """(..., T) weights over every key -> (..., rows, cols) over the patch keys (the model's own tokens left out)."""
    first, rows, cols = grid
    return np.asarray(row)[..., first : first + rows * cols].reshape(*np.shape(row)[:-1], rows, cols)


def query_weights(capture, layer: int, query: int) -> np.ndarray:
    """(heads, rows, cols): how much query ``query`` ([CLS] is 0) attends to each patch, in every head of ``layer``."""
    return on_patches(capture.pattern(layer)[:, query], grid_of(capture))


def query_weights_by_layer(capture, query: int) -> np.ndarray:
    """(layers, heads, rows, cols): :func:`query_weights` in every layer (the layer × head grid of overlays)."""
    return np.stack([query_weights(capture, layer, query) for layer in range(capture.n_layers)])


def own_token_weights(capture, layer: int, query: int) -> np.ndarray:
    """(heads, first): the weight query ``query`` puts on the model's own tokens ([CLS], registers): what the patch
    overlay does not show."""
    first = grid_of(capture)[0]
    return capture.pattern(layer)[:, query, :first]


def rollout_weights(capture, query: int = 0, residual: float = 0.5) -> np.ndarray:
    """(layers, rows, cols): attention rollout (Abnar & Zuidema 2020, the heads' mean and the residual's half) from
    token ``query`` to each input patch, after each layer."""
    return on_patches(rollout(capture, residual)[:, query], grid_of(capture))


def allowed_patches(capture, layer: int, query: int) -> np.ndarray:
    """(rows, cols) bool: the patches query ``query`` may attend to in ``layer`` (the mask the forward applied)."""
    return on_patches(capture.mask(layer)[query], grid_of(capture))


def attention_distance(capture, patch_pixels: int) -> np.ndarray:
    """(layers, heads): the ViT paper's mean attention distance, in pixels of the model's input: for each patch
    query, the weighted mean over patch keys of the distance between the two patches' centres, averaged over the
    patch queries (weights renormalised over the patch keys, so a head that looks at [CLS] is not counted near)."""
    first, rows, cols = grid_of(capture)
    n = rows * cols
    r, c = np.divmod(np.arange(n), cols)
    distance = np.hypot(r[:, None] - r[None], c[:, None] - c[None]) * patch_pixels  # (n, n) between centres
    out = np.zeros((capture.n_layers, capture.n_heads))
    for layer in range(capture.n_layers):
        weights = capture.pattern(layer)[:, first : first + n, first : first + n].astype(np.float64)
        share = weights / np.maximum(weights.sum(-1, keepdims=True), 1e-12)
        out[layer] = (share * distance).sum(-1).mean(-1)
    return out


def class_probabilities(capture) -> np.ndarray | None:
    """(labels,) the classifier's softmax over its logits (``Capture.output``), or None for an encoder without
    a classification head."""
    logits = capture.output
    if logits is None or np.ndim(logits) != 1:
        return None
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits)
    return np.exp(shifted) / np.exp(shifted).sum()


def position_similarity(table: np.ndarray, grid: tuple[int, int, int]) -> np.ndarray:
    """(rows, cols, rows, cols): the cosine similarity of each patch position's learned embedding with every other's
    (the ViT paper's Figure 7): ``table`` (first + rows·cols, D), the position embedding rows of every token."""
    first, rows, cols = grid
    vectors = np.asarray(table, dtype=np.float64)[first : first + rows * cols]
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    return (unit @ unit.T).reshape(rows, cols, rows, cols)


def similarity_by_relation(similarity: np.ndarray) -> dict[str, float]:
    """The mean of :func:`position_similarity` over pairs of distinct positions by how they relate: ``neighbours``
    (one step apart, diagonals included), the same ``row`` or ``column`` further apart, and ``others``: how much of
    the grid a model's positions learned, in four numbers."""
    rows, cols = similarity.shape[:2]
    r, c = np.divmod(np.arange(rows * cols), cols)
    flat = similarity.reshape(rows * cols, rows * cols)
    dr, dc = np.abs(r[:, None] - r[None]), np.abs(c[:, None] - c[None])
    distinct = (dr + dc) > 0
    neighbours = distinct & (np.maximum(dr, dc) == 1)
    row = distinct & ~neighbours & (dr == 0)
    column = distinct & ~neighbours & (dc == 0)
    others = distinct & ~neighbours & ~row & ~column
    return {
        name: float(flat[where].mean()) if where.any() else float("nan")
        for name, where in (("neighbours", neighbours), ("row", row), ("column", column), ("others", others))
    }


def shuffle_patches(picture: np.ndarray, rows: int, cols: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``picture`` (S, S, C) with its rows × cols patches moved to random places (the same content, another order):
    (the shuffled picture, ``order`` where patch i of the result is patch ``order[i]`` of the original)."""
    size = picture.shape[0] // rows
    tiles = [picture[r * size : (r + 1) * size, c * size : (c + 1) * size] for r in range(rows) for c in range(cols)]
    order = np.random.default_rng(seed).permutation(rows * cols)
    out = picture.copy()
    for i, source in enumerate(order):
        r, c = divmod(i, cols)
        out[r * size : (r + 1) * size, c * size : (c + 1) * size] = tiles[source]
    return out, order


def ablated_probabilities(model, picture, spec, heads, how: str = "zero") -> np.ndarray | None:
    """The classifier's probabilities with ``heads`` ({layer: [head, ...]} or (layer, head) pairs) switched off in the
    real forward under ``spec`` (:mod:`attnviz.analysis.importance`'s ablations on hook_z); None without a head."""
    import torch

    from ..hooks import editing
    from .importance import ablate, head_means, normalize_heads

    encoding = model.encode([picture])
    chosen = normalize_heads(heads)
    means = head_means(model, encoding, spec, layers=chosen) if how == "mean" else None
    with torch.inference_mode(), editing(ablate(chosen, how, means=means)):
        logits = model(encoding, spec)[0]
    if logits.dim() != 1:
        return None
    return torch.softmax(logits.double(), -1).cpu().numpy()


def as_read(picture, side: int) -> np.ndarray:
    """The image as a vision model of input size ``side`` read it, (side, side, 3) uint8: what the overlays are drawn
    on (its image processor resizes the same way before normalising)."""
    from PIL import Image

    return np.asarray(picture.convert("RGB").resize((side, side), Image.Resampling.BILINEAR))
