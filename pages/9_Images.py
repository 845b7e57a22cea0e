"""Attention over image patches: a vision transformer's heads over the picture it read (issue 24)."""

import streamlit as st

from attnviz.analysis import patches
from attnviz.figures import capture_views as views
from attnviz.figures import patches as figs
from ui.controls import load_page_state, save_page_state
from ui.errors import guard
from ui.figures import columns, show_figure
from ui.images import (
    IMAGE_PARAMS,
    ablation_section,
    distance_section,
    image_capture,
    mask_controls,
    picked_image,
    positions_section,
    steps_section,
    vision_model,
)
from ui.lang import T
from ui.nav import run_through_navigation
from ui.state import fit_indices

run_through_navigation()
st.set_page_config(page_title="attnviz", layout="wide")
load_page_state(IMAGE_PARAMS)
state = st.session_state
lang = state["lang"]


def select_from_grid() -> None:
    """A click on a thumbnail of the layer × head grid chooses that head."""
    points = state["image_grid"]["selection"]["points"]
    if points:
        layer, head = points[0]["customdata"][:2]
        state["img_layer"], state["img_head"] = int(layer), int(head)


def images_page() -> None:
    st.title(T("images.title"))
    st.caption(T("images.intro"))
    chosen = vision_model()
    if chosen is None:
        return
    name, model = chosen
    spec = mask_controls(model)
    picked = picked_image()
    if picked is None:
        return
    label, digest, picture = picked
    capture, unmasked = image_capture(name, model, digest, picture, spec)
    seen = patches.as_read(picture, model.image_size)
    fit_indices(img_layer=model.n_layers, img_head=model.n_heads)
    tokens = list(capture.tokens)
    if state["img_query"] not in tokens:
        state["img_query"] = tokens[0]
    pick_layer, pick_head, pick_query = st.columns(3)
    pick_layer.slider(T("images.layer"), 0, model.n_layers - 1, key="img_layer")
    pick_head.slider(T("images.head"), 0, model.n_heads - 1, key="img_head")
    pick_query.selectbox(T("images.query"), tokens, key="img_query", help=T("images.query_help"))
    layer, head, query = state["img_layer"], state["img_head"], tokens.index(state["img_query"])
    first, rows, cols = model.patch_grid
    at = divmod(query - first, cols) if query >= first else None

    overlay, head_map = columns([1, 1])
    with overlay:
        weights = patches.query_weights(capture, layer, query)[head]
        title = T("images.overlay_title", layer=layer, head=head, query=tokens[query])
        allowed = patches.allowed_patches(capture, layer, query) if spec.takes_keys else None
        show_figure(
            figs.patch_overlay(seen, weights, title=title, query=at, allowed=allowed, lang=lang), "image_overlay"
        )
        own = patches.own_token_weights(capture, layer, query)[head]
        shares = ", ".join(f"{tokens[i]} {own[i]:.3f}" for i in range(first))
        st.caption(T("images.own_tokens", shares=shares))
    with head_map:
        fig = views.head_heatmap(
            capture,
            layer,
            head,
            scores=capture.scores(layer)[head],
            title=T("images.head_map", layer=layer, head=head),
            lang=lang,
        )
        show_figure(fig, "image_head_map")

    probabilities = patches.class_probabilities(capture)
    st.subheader(T("images.prediction"))
    if probabilities is None:
        st.caption(T("images.no_head", model=model.name))
    else:
        show_figure(figs.class_bars(probabilities, model.class_names, unmasked=unmasked, lang=lang), "image_classes")
        if spec.takes_keys:
            st.caption(T("images.prediction_caption", masked=f" ({spec.describe(lang)})"))
        else:
            st.caption(T("images.prediction_plain"))

    every = patches.query_weights_by_layer(capture, query)
    show_figure(
        figs.overlay_grid(
            seen, every, title=T("images.grid_title", query=tokens[query]), selected=(layer, head), lang=lang
        ),
        "image_grid",
        on_select=select_from_grid,
        selection_mode="points",
    )
    rollout, distance = columns([1, 1])
    with rollout:
        rolled = patches.rollout_weights(capture, query)[layer]
        title = T("images.rollout_title", query=tokens[query], layer=layer)
        show_figure(figs.patch_overlay(seen, rolled, title=title, query=at, lang=lang), "image_rollout")
        st.caption(T("images.rollout_caption"))
    with distance:
        distance_section(capture, model, lang)
    ablation_section(name, model, digest, picture, spec, probabilities, lang)
    steps_section(model, capture, picture, layer, head, query, lang)
    positions_section(name, model, digest, seen, spec, lang)


with guard("error.capture"):
    images_page()
save_page_state(IMAGE_PARAMS)
