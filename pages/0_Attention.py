"""The main page: type a sentence, see every head's attention (the page app.py opens by default)."""

import streamlit as st

from attnviz.figures import capture_views as views
from ui import url_state
from ui.controls import load_page_state, restore_page_state, run_view, save_page_state, sentence_input, sidebar_controls
from ui.errors import guard
from ui.figures import columns, show_figure
from ui.flow import FLOW_PARAMS, flow_section
from ui.focus import FOCUS
from ui.kernel_blocks import KERNEL_PARAMS, kernel_blocks_section
from ui.lang import T
from ui.long_maps import LONG_MAP_PARAMS, long_grid, long_head, long_overview
from ui.nav import run_through_navigation
from ui.session import HEAVY, heavy_section
from ui.state import fit_indices
from ui.uploads import long_text_input

run_through_navigation()
VIEW_PARAMS = [
    url_state.int_param("layer", 0, 0, 63),
    url_state.int_param("head", 0, 0, 63),
    *FLOW_PARAMS,
    *LONG_MAP_PARAMS,
    *KERNEL_PARAMS,
]


def select_from_overview() -> None:
    """Plotly selection event on the overview: the clicked thumbnail becomes the chosen head."""
    points = st.session_state["overview"]["selection"]["points"]
    if points:
        layer, head = points[0]["customdata"][:2]
        st.session_state["layer"], st.session_state["head"] = int(layer), int(head)


def show_head(view, index: int, layer: int, head: int, title: str, key: str) -> None:
    """One head's map for sentence ``index`` of the view, with its arrays for export (the Presenter's builder: a
    decoder's own window for this layer outlined as a band)."""
    capture = view.captures[index]
    fig = views.head_heatmap(
        capture,
        layer,
        head,
        keep=view.keep(index),
        scores=view.scores(layer, index)[head],
        title=title,
        lang=st.session_state["lang"],
    )
    show_figure(fig, key=key, arrays=view.head_arrays(layer, head, index))


def attention_page() -> None:
    """Type a sentence, see every head's attention."""
    with FOCUS.run():  # the whole run goes before other runs' overview and grid, until its heatmap is out
        st.set_page_config(page_title="attnviz", layout="wide")
        load_page_state(VIEW_PARAMS)
        st.title(T("main.title"))
        st.caption(T("main.caption"))
        sidebar_controls()
        long_text_input()  # outside the fragment: typing a sentence does not redraw the uploader (browser_latency A/B)
        attention_view()


@st.fragment
def attention_view() -> None:
    """The sentence and its maps. A fragment: typing a sentence, moving the layer/head sliders or clicking a
    thumbnail reruns only this part, so the browser does not rebuild the sidebar on every edit.

    The head's heatmap is sent before the widgets above it, which fill their places afterwards: the
    browser starts drawing the map the user is looking at before the rest of the page arrives. Under load
    the other sessions' heatmaps go before this run's overview and layer grid (``ui.focus``). Whatever
    fails on the way, the sentence box is drawn, so the user can always type again.
    """
    restore_page_state(VIEW_PARAMS)  # a fragment rerun after a run that drew no sliders must find their values
    input_slot, drawn = st.container(), []

    def show_input() -> None:
        with input_slot:
            sentence_input()
        drawn.append(True)

    with (
        guard("error.capture"),
        heavy_section(),
        FOCUS.run() as turn,
    ):  # a long text waits for one of the server's few slots
        draw_maps(show_input, turn)
    if not drawn:  # no text, or a failure before the map: the box must stay to type again
        show_input()
    save_page_state(VIEW_PARAMS)


def draw_maps(show_input, turn) -> None:
    """Capture and draw; ``show_input()`` fills the sentence box's place once the head's map is sent, and
    ``turn.sent()`` (``ui.focus``) lets other sessions' maps go before the overview and the layer grid."""
    lang = st.session_state["lang"]
    view = run_view()  # its notices (empty text, truncation, intervention) sit below the input
    if view is None:
        return
    model, capture = view.model, view.captures[0]
    fit_indices(layer=model.n_layers, head=model.n_heads)
    layer, head = st.session_state["layer"], st.session_state["head"]
    keep = view.keep(0)
    slider_slot = st.container()
    # a long text's map is square across the page (ui.long_maps), the overview under it; a sentence's beside it
    focus, overview = (st.container(), st.container()) if view.blocks else columns([3, 2])
    with focus:
        if view.blocks:  # a long text: exact blocks, and the exact region under a dragged box
            long_head(view, layer, head, T("main.head_title", layer=layer, head=head))
        else:
            show_head(view, 0, layer, head, T("main.head_title", layer=layer, head=head), "head_heatmap")
        st.caption(T("main.head_caption", n=len(capture.tokens), mask=view.spec.describe(lang)))
    show_input()
    with slider_slot:
        pick_layer, pick_head = st.columns(2)
        pick_layer.slider(T("main.layer"), 0, model.n_layers - 1, key="layer")
        pick_head.slider(T("main.head"), 0, model.n_heads - 1, key="head")
    # A long text's run holds one of the few heavy slots while it draws: it must not wait for runs that wait for it.
    light = not HEAVY.holding()
    turn.sent(wait=light)

    with overview:
        st.markdown(T("main.overview"))
        if view.blocks:  # exact block means (ui.long_maps)
            long_overview(view, layer, head, select_from_overview)
        else:
            show_figure(
                views.overview(capture, layer=layer, head=head, keep=keep, clickable=True, lang=lang),
                key="overview",
                arrays=view.all_arrays(),
                on_select=select_from_overview,
                selection_mode="points",
            )

    if light:
        turn.wait()
    if view.blocks:
        long_grid(view, layer, head)
    else:
        show_figure(
            views.layer_grid(capture, layer, head=head, keep=keep, lang=lang),
            key="layer_grid",
            arrays=view.layer_arrays(layer),
        )

    if len(view.captures) > 1:  # never in blocks: a second sentence is left out of a long text's view
        st.subheader(T("main.padding_header"))
        st.caption(T("main.padding_caption"))
        for index, column in enumerate(columns(len(view.captures))):
            with column:
                title = T("main.sentence_n", n=index + 1, layer=layer, head=head)
                show_head(view, index, layer, head, title, f"padding_{index}")
    kernel_blocks_section(view, layer)  # closed by default: one toggle
    if view.long:  # rollout and flow need every layer's whole map
        st.info(T("main.long_no_flow", n=len(capture.tokens)))
    else:
        flow_section(view, layer, head)  # closed by default: two toggles


attention_page()
