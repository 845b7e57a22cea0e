"""DCMHA: see the heads of a tiny DCFormer compose, next to its MHA twin, and try a static compose on MiniLM."""

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.analysis import dcmha as dv
from attnviz.figures import dcmha as figs
from attnviz.capture import run_capture
from attnviz.i18n import translate
from attnviz.models.base import hook_name
from attnviz.text import InputError, clean_text, escape_markdown
from ui import url_state
from ui.controls import load_page_state, save_page_state, show_notices
from ui.editors import compose_editor, load_preset
from ui.session import get_model, remembered
from ui.errors import guard
from ui.figures import show_figure
from ui.nav import run_through_navigation
from ui.state import fit, fit_indices, one_of



def chart_in(column, fig, key):
    with column:
        show_figure(fig, key=key)


run_through_navigation()
st.set_page_config(page_title="attnviz — DCMHA", page_icon="🔀", layout="wide")

DEFAULT_TEXT = "The cat sat on the mat because it was tired. 学而时习之，不亦说乎。"
SANDBOX_TEXT = "The animal didn't cross the street because it was too tired."
MINILM = "all-MiniLM-L6-v2"
PARAMS = [
    url_state.text_param("dc_model", "dcformer-tiny"),
    url_state.text_param("dc_text", DEFAULT_TEXT),
    url_state.int_param("dc_layer", 0, 0, 63),
    url_state.int_param("dc_q", 25, 0, 1_000_000),
    url_state.int_param("dc_k", 22, 0, 1_000_000),
    url_state.int_param("dc_head", 0, 0, 63),
    url_state.bool_param("dc_global", False),
    url_state.int_param("dc_window", 64, 1, 4096),
    url_state.bool_param("dc_causal", True),
    url_state.text_param("sb_text", SANDBOX_TEXT),
    url_state.int_param("sb_layer", 2, 0, 63),
    url_state.text_param("sb_stage", "post"),
    url_state.text_param("sb_preset", "identity"),
    url_state.int_param("sb_a", 0, 0, 63),
    url_state.int_param("sb_b", 1, 0, 63),
    url_state.text_param("sb_matrix", ""),
]
load_page_state(PARAMS)  # the shared language (?lang=, sidebar switch) first, then this page's URL state
state = st.session_state
for key, allowed in (("dc_model", dv.TINY_MODELS), ("sb_stage", ("pre", "post")), ("sb_preset", dv.SANDBOX_PRESETS)):
    one_of(key, allowed, next(p.default for p in PARAMS if p.key == key))


def capture_for(model, text: str, window, causal: bool):
    """(key, the forward of this text under this window): this session's last one, else the server's shared cache."""
    key = ("dcmha", model.name, text, window, causal)
    return key, remembered(f"dcmha:{model.name}", key, lambda: dv.run_dcmha(model, text, window=window, causal=causal))


def dcmha_page() -> None:
    """The whole page below the URL state: sidebar, text, the five tabs."""
    # ----------------------------------------------------------------------------- sidebar
    lang = state["lang"]


    def T(key: str, **kw) -> str:
        return translate(f"dcmha.{key}", lang, **kw)


    st.sidebar.selectbox(T("model"), dv.TINY_MODELS, key="dc_model", help=T("model_help"))
    tiny, twin = get_model(state["dc_model"]), get_model(dv.TWIN[state["dc_model"]])
    cfg = tiny.config
    trained_w = cfg.window_size
    fit("dc_window", 1, tiny.context)
    st.sidebar.subheader(T("window_box"))
    st.sidebar.checkbox(T("global"), key="dc_global")
    st.sidebar.slider(T("window"), 1, tiny.context, key="dc_window", disabled=state["dc_global"], help=T("window_help"))
    st.sidebar.checkbox(T("causal"), key="dc_causal", help=T("causal_help"))
    window = None if state["dc_global"] else int(state["dc_window"])
    causal = bool(state["dc_causal"])

    # ----------------------------------------------------------------------------- header and text
    st.title(T("title"))
    st.markdown(T("intro"))
    st.text_input(T("text"), key="dc_text")

    prepared = None
    try:
        prepared = dv.prepare_text(state["dc_text"], tiny)
    except InputError:
        st.info(T("empty"))

    if prepared is not None:
        show_notices(prepared.notices, lang)
        if prepared.truncated:
            st.warning(T("truncated", n=prepared.full_length, ctx=tiny.context))
        if prepared.unknown:
            st.warning(T("unknown", chars="  ".join(f"‘{escape_markdown(dv.display_char(c))}’" for c in prepared.unknown)))
        local = [l for l, w in enumerate(tiny.layer_windows()) if w is not None]
        glob = [l for l, w in enumerate(tiny.layer_windows()) if w is None]
        st.caption(T("window_trained", w=trained_w, local=", ".join(map(str, local)) or "–", glob=", ".join(map(str, glob)) or "–"))
        if window != trained_w and local:
            now = "—" if window is None else f"w = {window}"
            st.warning(T("window_other", w=trained_w, now=T("global") if window is None else now), icon="⚠️")
        if not causal:
            st.warning(T("causal_off"), icon="⚠️")

        cap_key, cap = capture_for(tiny, prepared.text, window, causal)
        _, twin_cap = capture_for(twin, prepared.text, window, causal)
        st.caption(T("trained_from", src=f"assets/{tiny.name}", loss="–" if tiny.heldout_loss is None else f"{tiny.heldout_loss:.3f}", here=cap.loss))

        n = len(cap.tokens)
        fit_indices(dc_layer=cap.n_layers, dc_q=n, dc_k=n, dc_head=cap.n_heads)
        labels = dv.labels(cap)
        c_layer, c_q, c_k = st.columns([1, 2, 2])
        layer_global, layer_local = T("layer_global"), T("layer_local")
        c_layer.selectbox(T("layer"), list(range(cap.n_layers)), key="dc_layer",
                          format_func=lambda l: f"{l} · " + (layer_global if cap.layer_windows[l] is None else layer_local.format(w=cap.layer_windows[l])))
        c_q.selectbox(T("query"), list(range(n)), key="dc_q", format_func=lambda i: f"{i}: {labels[i]}")
        visible = cap.mask(state["dc_layer"])[state["dc_q"]]  # keys the chosen query may attend to
        masked_tag = T("masked_tag")
        c_k.selectbox(T("key"), list(range(n)), key="dc_k",
                      format_func=lambda j: f"{j}: {labels[j]}" + ("" if visible[j] else f"  ({masked_tag})"))
        layer, t, s = state["dc_layer"], state["dc_q"], state["dc_k"]
        allowed = cap.mask(layer)
        shapes = figs.structure_shapes(n, cap.layer_windows[layer], causal, dv.query_blocks(cap, layer), selected=(t, s))
        part_titles = {k: T(f"part_{k}") for k in (*dv.PARTS, "C")}
        stage_titles = {k: T(f"stage_{k}") for k in ("raw", "composed", "dpre", "probs", "pattern", "dpost")}

        tabs = st.tabs([T("tab_compose"), T("tab_stages"), T("tab_gates"), T("tab_compare"), T("tab_sandbox")])

        # ------------------------------------------------------------------------- 1 compose matrices
        with tabs[0]:
            if not tiny.use_dcmha:
                st.info(T("mha_note"))
            st.caption(T("compose_caption"))
            if not allowed[t, s]:
                st.warning(T("masked_cell", t=t, s=s))
            for stage in ("pre", "post"):
                show_figure(
                    figs.compose_parts(dv.compose(cap, layer, t, s, stage), part_titles=part_titles,
                                       title=T(f"{stage}_title", layer=layer, t=t, s=s, q=labels[t], k=labels[s]),
                                       x_title=T("in_head"), y_title=T("out_head")),
                    key=f"compose_{stage}",
                )
            st.markdown(T("cell_table"))
            stages = dv.stage_maps(cap, layer)
            st.dataframe(
                pd.DataFrame({
                    T("col_head"): [f"h{h}" for h in range(cap.n_heads)],
                    T("col_raw"): stages["raw"][:, t, s], T("col_composed"): stages["composed"][:, t, s],
                    T("col_probs"): stages["probs"][:, t, s], T("col_pattern"): stages["pattern"][:, t, s],
                }),
                hide_index=True, key="cell_table",
            )
            if tiny.use_dcmha:
                draws = {stage: dv.draw_matrix(cap, layer, stage) for stage in ("pre", "post")}
                left, right = st.columns([3, 2])
                chart_in(left, 
                    figs.draw_matrices([(T("draw_pre"), draws["pre"]), (T("draw_post"), draws["post"])],
                                       title=T("draw_title", layer=layer, n=int(allowed.sum())),
                                       x_title=T("in_head"), y_title=T("out_head")),
                    key="draw_matrix",
                )
                strengths = {stage: dv.head_strength(draws[stage]) for stage in ("pre", "post")}
                chart_in(right, 
                    figs.head_bars({f"pre · {T('cross')}": strengths["pre"]["cross"], f"post · {T('cross')}": strengths["post"]["cross"],
                                    f"pre · {T('self')}": strengths["pre"]["self"], f"post · {T('self')}": strengths["post"]["self"]},
                                   title=T("strength_title", layer=layer), x_title=T("out_head"), y_title="mean |C − I|"),
                    key="head_strength",
                )

        # ------------------------------------------------------------------------- 2 the four stages
        with tabs[1]:
            st.caption(T("stages_caption"))
            if not tiny.use_dcmha:
                st.info(T("mha_note"))
            head_n = T("head_n")
            st.radio(T("head"), list(range(cap.n_heads)), key="dc_head", horizontal=True, format_func=lambda h: head_n.format(h=h))
            head = state["dc_head"]
            show_figure(
                figs.stage_figure({k: v[head] for k, v in stages.items()}, labels, allowed,
                                  title=T("stage_title", layer=layer, head=head), panel_titles=stage_titles,
                                  x_title=T("key_axis"), y_title=T("query_axis"), shapes=shapes),
                key="stages",
            )
            show_figure(
                figs.stage_grid(stages, allowed, title=T("grid_title", layer=layer),
                                column_titles={k: stage_titles[k] for k in dv.STAGES}),
                key="stage_grid",
            )

        # ------------------------------------------------------------------------- 3 gates and ranking
        with tabs[2]:
            if not tiny.use_dcmha:
                st.info(T("mha_note"))
            else:
                show_figure(
                    figs.token_head_maps(dv.gates(cap, layer), labels, title=T("gates_title", layer=layer),
                                         panel_titles={g: T(f"gate_{g}") for g in dv.GATES}, limit=1.0,
                                         x_title=T("token_axis"), y_title=T("head"),
                                         bar_title="tanh"),
                    key="gates",
                )
                show_figure(
                    figs.token_head_maps(dv.lowrank_strength(cap, layer), labels, title=T("lowrank_title", layer=layer),
                                         panel_titles={k: T(f"lr_{k}") for k in ("pre_q", "pre_k", "post_q", "post_k")},
                                         diverging=False, x_title=T("token_axis"), y_title=T("head")),
                    key="lowrank",
                )
                st.subheader(T("ranking"))
                st.caption(T("ranking_help"))
                table = remembered("dcmha:ranking", ("ranking", *cap_key), lambda: dv.ranking(cap))
                st.dataframe(table.round(4), hide_index=True, key="ranking")

        # ------------------------------------------------------------------------- 4 DCFormer vs MHA
        with tabs[3]:
            dc_cap, mha_cap = (cap, twin_cap) if tiny.use_dcmha else (twin_cap, cap)
            head = state["dc_head"]
            st.caption(T("compare_loss", dc=dc_cap.loss, mha=mha_cap.loss))
            show_figure(
                figs.side_by_side([(T("dc_map"), dc_cap.pattern(layer)[head]),
                                   (T("mha_map"), mha_cap.pattern(layer)[head])],
                                  labels, allowed, title=T("compare_title", layer=layer, head=head),
                                  x_title=T("key_axis"), y_title=T("query_axis"), shapes=shapes),
                key="compare",
            )
            left, right = st.columns(2)
            pair = (dc_cap.pattern(layer), mha_cap.pattern(layer))  # side by side: one scale, one meaning of a colour
            shared = dict(columns=cap.n_heads, selected=head, head_label=T("head_n"),
                          diverging=any(figs.has_negative(m) for m in pair), limit=max(float(np.abs(m).max()) for m in pair))
            chart_in(left, figs.head_grid(pair[0], allowed, title=T("dc_grid", layer=layer), **shared), key="compare_dc_grid")
            chart_in(right, figs.head_grid(pair[1], allowed, title=T("mha_grid", layer=layer), **shared), key="compare_mha_grid")
            with st.expander(T("generate")):
                g1, g2 = st.columns(2)
                n_chars = g1.slider(T("gen_chars"), 10, 200, 60, key="dc_gen_chars")
                temperature = g2.slider(T("gen_temp"), 0.0, 1.5, 0.0, 0.1, key="dc_gen_temp")
                if st.button(T("gen_button"), key="dc_gen"):
                    for model in (tiny, twin):
                        more = dv.continue_text(model, prepared.text, n_chars, temperature=temperature, seed=0)
                        st.markdown(f"**{model.name}**")
                        st.code(prepared.text + more, language=None, wrap_lines=True)


    # ----------------------------------------------------------------------------- 5 MiniLM sandbox
    def sandbox() -> None:
        st.markdown(T("sandbox_intro"))
        try:
            minilm = get_model(MINILM)
        except Exception as error:  # the offline model package missing must not take the page down
            st.error(f"{MINILM}: {escape_markdown(error)}")
            return
        H, L = minilm.n_heads, minilm.n_layers
        fit_indices(sb_layer=L, sb_a=H, sb_b=H)
        st.text_input(T("sb_text"), key="sb_text")
        try:
            sb_text = clean_text(state["sb_text"])
        except InputError as error:
            st.info(error.message(lang))
            sb_text = None
        else:
            show_notices(sb_text, lang)
        c1, c2, c3, c4, c5 = st.columns([1, 2, 2, 1, 1])
        c1.selectbox(T("sb_layer"), list(range(L)), key="sb_layer")
        c2.radio(T("sb_stage"), ["pre", "post"], key="sb_stage", format_func=lambda x: T(f"stage_{x}"), horizontal=True)
        preset = dict(on_change=load_preset, args=(H,))
        c3.selectbox(T("sb_preset"), dv.SANDBOX_PRESETS, key="sb_preset", format_func=lambda p: T(f"preset_{p}"), **preset)
        c4.number_input(T("sb_a"), 0, H - 1, key="sb_a", **preset)
        c5.number_input(T("sb_b"), 0, H - 1, key="sb_b", **preset)
        st.button(T("sb_apply"), on_click=load_preset, args=(H,), key="sb_apply")
        matrix = compose_editor(H)
        if matrix is None or sb_text is None:
            return
        text = sb_text.text
        layer_sb, stage_sb = int(state["sb_layer"]), state["sb_stage"]
        base = remembered("sandbox_base", ("sandbox_base", text), lambda: dict(run_capture(minilm, [text])[0]))
        result = remembered("sandbox", ("sandbox", text, layer_sb, stage_sb, state["sb_matrix"]),
                            lambda: dv.sandbox_capture(minilm, text, layer_sb, matrix, stage_sb, base=base))
        if result.truncated:
            st.warning(translate("msg.truncated_first", lang, n=result.full_length, model=escape_markdown(minilm.name), limit=minilm.max_tokens))
        tokens = [str(x) for x in result.base["tokens"]]
        before, after = result.base[hook_name("pattern", layer_sb)], result.edited[hook_name("pattern", layer_sb)]
        allowed_sb = result.base[hook_name("mask", layer_sb)]
        biggest = dv.max_difference(result)
        if np.array_equal(matrix, np.eye(H, dtype=np.float32)):
            st.success(T("sb_identity") + f" (max |Δ| = {biggest:.1e})")
        st.caption(T("sb_hidden", rel=dv.hidden_change(result, L)))
        peak = float(max(np.abs(before).max(), np.abs(after).max()))
        show_figure(figs.head_grid(before, allowed_sb, title=T("sb_before", layer=layer_sb), limit=peak,
                                       diverging=figs.has_negative(after), bar_title="p", head_label=T("head_n")), key="sb_before")
        show_figure(figs.head_grid(after, allowed_sb, title=T("sb_after", layer=layer_sb, stage=stage_sb), limit=peak,
                                       diverging=figs.has_negative(after), bar_title="p′", head_label=T("head_n")), key="sb_after")
        show_figure(figs.head_grid(after - before, allowed_sb, title=T("sb_diff_title", layer=layer_sb), diverging=True,
                                       bar_title="Δ", head_label=T("head_n")), key="sb_diff")
        show_figure(figs.head_bars({T("mean_dpattern"): dv.pattern_change_by_layer(result, L)},
                                       title=T("sb_spread", layer=layer_sb), x_title=T("layer"), highlight=layer_sb),
                        key="sb_spread")
        st.caption(escape_markdown(" ".join(tokens)))


    if prepared is not None:
        with tabs[4]:
            sandbox()
    else:
        st.subheader(T("tab_sandbox"))
        sandbox()


with guard("error.dcmha"):  # a failure is a message; the inputs drawn so far stay on screen
    dcmha_page()

save_page_state(PARAMS)
