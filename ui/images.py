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
    if names:  # shown by class and test index; the state (and the link) keep the file name
        labels = [T("images.gallery_item", name=images[name].label, index=images[name].index) for name in names]
        shown = pick.selectbox(T("images.gallery"), labels, index=names.index(state["image"]))
        state["image"] = names[labels.index(shown)]
    upload.file_uploader(
        T("images.upload", limit=MAX_IMAGE_BYTES // (1024 * 1024)), type=["png", "jpg", "jpeg"], key=UPLOAD
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


def model_input(model, picture) -> np.ndarray:
    """The image as the model read it, (S, S, 3) uint8: the picture resized to the model's input size."""
    from PIL import Image

    side = model.image_size
    return np.asarray(picture.convert("RGB").resize((side, side), Image.BILINEAR))
