"""The Images page's parts (pages/9_Images.py): its model menu and 2-D masks, the image picker, the capture."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from attnviz.analysis import patches
from attnviz.capture import run_capture
from attnviz.gallery import gallery
from attnviz.images import MAX_IMAGE_BYTES, read_image
from attnviz.masks import MaskSpec
from attnviz.models import VIT_FASHION

from . import url_state
from .controls import model_menu
from .lang import T
from .offered import get_model, model_choices
from .session import remembered
from .state import fit

VISION = ("vision",)
IMAGE_PARAMS = [
    url_state.text_param("img_model", VIT_FASHION),
    url_state.short_text_param("image", "", 64),  # a gallery file's name (only names the gallery lists are opened)
    url_state.int_param("img_layer", 0, 0, 63),
    url_state.int_param("img_head", 0, 0, 63),
    url_state.short_text_param("img_query", "[CLS]", 16),
    url_state.bool_param("img_causal"),
    url_state.bool_param("img_use_window"),
    url_state.int_param("img_window", 1, 1, 64),
    url_state.bool_param("img_use_blocks"),
    url_state.int_param("img_blocks", 2, 1, 64),
]
UPLOAD = "img_upload"


def vision_model():
    """The sidebar's vision model menu; None (with a message) when the server offers none."""
    choices = model_choices(VISION)
    if not choices:
        st.info(T("images.no_models"))
        return None
    name = model_menu("img_model", T("images.model"), choices, VIT_FASHION if VIT_FASHION in choices else choices[0])
    return name, get_model(name)


def mask_controls(model) -> MaskSpec:
    """The 2-D masks in the sidebar, sized to the model's grid; the spec they make."""
    first, rows, cols = model.patch_grid
    side = max(rows, cols)
    state = st.session_state
    fit("img_window", 1, max(side - 1, 1))
    fit("img_blocks", 1, max(side - 1, 1))
    st.sidebar.header(T("images.masks"))
    st.sidebar.checkbox(T("images.causal"), key="img_causal", help=T("images.causal_help"))
    st.sidebar.checkbox(T("images.use_window"), key="img_use_window", help=T("images.window_help"))
    st.sidebar.slider(T("images.window"), 1, max(side - 1, 2), key="img_window", disabled=not state["img_use_window"])
    st.sidebar.checkbox(T("images.use_blocks"), key="img_use_blocks", help=T("images.blocks_help"))
    st.sidebar.slider(T("images.blocks"), 1, max(side - 1, 2), key="img_blocks", disabled=not state["img_use_blocks"])
    return MaskSpec(
        bool(state["img_causal"]),
        grid=model.patch_grid,
        window_2d=int(state["img_window"]) if state["img_use_window"] else None,
        blocks_2d=int(state["img_blocks"]) if state["img_use_blocks"] else None,
    )


def picked_image():
    """(a name for the image, its bytes' digest, the decoded RGB image) from an upload or the gallery; None with a
    message when an upload is refused (the picker stays on screen)."""
    images = gallery()
    names = list(images)
    state = st.session_state
    if names and state["image"] not in images:
        state["image"] = names[0]
    pick, upload = st.columns(2)
    uploading = state.get(UPLOAD) is not None  # an upload, while it is there, is the image shown
    if names:  # shown by class and test index; the state (and the link) keep the file name
        labels = [T("images.gallery_item", name=images[name].label, index=images[name].index) for name in names]
        shown = pick.selectbox(T("images.gallery"), labels, index=names.index(state["image"]), disabled=uploading)
        state["image"] = names[labels.index(shown)]
        if uploading:
            pick.caption(T("images.gallery_after_upload"))
    # The server's upload limit (1 MB for a class: .streamlit/config.toml) or read_image's, whichever is smaller.
    limit = min(int(st.get_option("server.maxUploadSize")), MAX_IMAGE_BYTES // (1024 * 1024))
    upload.file_uploader(
        T("images.upload", limit=limit), type=["png", "jpg", "jpeg"], key=UPLOAD, max_upload_size=limit
    )
    uploaded = state.get(UPLOAD)
    if uploaded is not None:
        data = uploaded.getvalue()
        label = T("images.uploaded")
    elif names:
        data = images[state["image"]].path.read_bytes()
        label = images[state["image"]].label
    else:
        return None
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    return label, digest, read_image(data)  # InputError: a message, by the page's guard


def image_capture(name: str, model, digest: str, picture, spec: MaskSpec):
    """(the capture under ``spec``, the class probabilities without the mask or None): this session's memo."""

    def compute():
        (capture,) = run_capture(model, [picture], spec, keep_output=True)
        return capture

    capture = remembered("image", ("image", name, digest, spec), compute)
    unmasked = None
    if spec.takes_keys:
        plain = MaskSpec(grid=model.patch_grid)

        def compute_plain():
            (capture,) = run_capture(model, [picture], plain, hooks=(), keep_output=True)
            return capture

        unmasked = patches.class_probabilities(
            remembered("image_open", ("image_open", name, digest, plain), compute_plain)
        )
    return capture, unmasked


# ------------------------------------------------------------------------------------------ the sections below
def positions_section(name: str, model, digest: str, seen: np.ndarray, spec: MaskSpec, lang: str) -> None:
    """The learned positions' similarity grid, and the prediction on the same patches shuffled."""
    from PIL import Image

    from attnviz.figures import patches as figs

    from .figures import columns, show_figure

    first, rows, cols = model.patch_grid
    st.header(T("images.section_positions"))
    table = model.embedding_parts(np.arange(model.max_tokens))["position"]
    similarity = patches.position_similarity(table, model.patch_grid)
    grid, shuffled_view = columns([3, 2])
    with grid:
        show_figure(figs.position_grid(similarity, title=T("images.positions_title"), lang=lang), "image_positions")
        st.caption(T("images.positions_caption"))
        st.caption(T("images.positions_measured", **patches.similarity_by_relation(similarity)))
    shuffled, _ = patches.shuffle_patches(seen, rows, cols, seed=0)
    capture, _ = image_capture(name, model, digest + ":shuffled", Image.fromarray(shuffled), spec)
    probabilities = patches.class_probabilities(capture)
    with shuffled_view:
        weights = patches.query_weights(capture, model.n_layers - 1, 0).mean(0)
        show_figure(figs.patch_overlay(shuffled, weights, title=T("images.shuffled"), lang=lang), "image_shuffled")
        if probabilities is not None:
            best = int(np.argmax(probabilities))
            verdict = T("images.verdict", name=model.class_names[best], p=float(probabilities[best]))
            st.caption(T("images.shuffled_caption", verdict=verdict))


def distance_section(capture, model, lang: str) -> None:
    from attnviz.figures import patches as figs

    from .figures import show_figure

    pixels = model.image_size // model.patch_grid[2]
    distance = patches.attention_distance(capture, pixels)
    show_figure(
        figs.distance_figure(distance, patch_pixels=pixels, title=T("images.distance_title"), lang=lang),
        "image_distance",
    )
    st.caption(T("images.distance_caption"))


def ablation_section(name: str, model, digest: str, picture, spec: MaskSpec, probabilities, lang: str) -> None:
    """Heads chosen by (layer, head) switched off in the real forward: the class probabilities before and after."""
    from attnviz.figures import patches as figs

    from .figures import show_figure

    if probabilities is None:
        return
    st.header(T("images.section_ablation"))
    options = [f"L{layer} H{head}" for layer in range(model.n_layers) for head in range(model.n_heads)]
    chosen = st.multiselect(T("images.ablate"), options, key="img_ablate", help=T("images.ablate_help"))
    heads = [tuple(int(part[1:]) for part in option.split()) for option in chosen if option in options]
    if not heads:
        return
    ablated = remembered(
        "image_ablated",
        ("image_ablated", name, digest, spec, tuple(heads)),
        lambda: patches.ablated_probabilities(model, picture, spec, heads),
    )
    fig = figs.class_bars(ablated, model.class_names, unmasked=probabilities, lang=lang)
    fig.data[0].name, fig.data[1].name = T("images.probability"), T("images.ablated")
    show_figure(fig, "image_ablation")


def steps_section(model, capture, picture, layer: int, head: int, query: int, lang: str) -> None:
    """One token's way into layer 0 (a patch's pixels through the projection, plus its position) and, in the chosen
    layer and head, its query against every key and the softmax, with the forward's numbers."""
    from attnviz.analysis.steps import steps
    from attnviz.figures import steps as step_figs

    from .figures import show_figure

    st.header(T("images.section_steps"))
    token = capture.tokens[query]
    parts = model.embedding_parts_of(model.preprocess([picture]))
    rows = [parts["token"][query], parts["position"][query], capture["hook_embed"][query]]
    labels = [T("images.step_token", token=token), T("steps.position", n=query), T("steps.layer0_input")]
    show_figure(
        step_figs.vector_rows(np.stack(rows), labels, title=T("steps.input_of", token=token), dims=16, lang=lang),
        "image_step_embed",
    )
    st.caption(T("images.step_caption", p=model.patch_size, c=model.hf.config.num_channels))
    s = steps(model, capture, layer, head, query)
    show_figure(step_figs.vector_rows(s.q[None], [token], title=T("steps.q_title"), dims=16, lang=lang), "image_step_q")
    show_figure(step_figs.masked_scores(s, lang=lang), "image_step_scores")
    show_figure(step_figs.attention_weights(s, lang=lang), "image_step_probs")
