"""Encoder-decoder attention: a small Transformer rewrites a date, one decoding step at a time."""

import json

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import plots_seq2seq as figs
from attnviz import tasks
from attnviz.models.seq2seq import DEFAULT_DIR, CheckpointError, Decoding, greedy_decode, hook_prefix, load_seq2seq
from ui import url_state
from ui.controls import SHARED
from ui.figures import show_figure

st.set_page_config(page_title="attnviz — encoder-decoder", page_icon="🔁", layout="wide")

DEFAULT_DATE = "25 November 2026"
PARAMS = [
    url_state.text_param("ed_date", DEFAULT_DATE),
    url_state.int_param("ed_layer", 0, 0, 63),
    url_state.int_param("ed_head", 0, 0, 63),
    url_state.int_param("ed_step", 1, 1, 64),
]
url_state.load(SHARED + PARAMS)  # SHARED: keep the other pages' settings alive while this page is open
state = st.session_state


@st.cache_resource(show_spinner="Loading the date model (once per server)…", max_entries=2)
def date_model(stamp: float):
    """``stamp`` (the weights' mtime) makes the cache pick up a model retrained while the server runs."""
    return load_seq2seq(DEFAULT_DIR)


def asset_stamp() -> float:
    path = DEFAULT_DIR / "model.safetensors"
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_data(show_spinner=False)
def train_info(stamp: float) -> dict:
    try:
        return json.loads((DEFAULT_DIR / "train_log.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def decoding_for(model, vocab, text: str) -> Decoding:
    """Run (or reuse, within this browser session) the encoder and the whole greedy loop."""
    key = (asset_stamp(), text)
    memo = state.get("_ed_memo")
    if memo is None or memo[0] != key:
        memo = (key, greedy_decode(model, vocab, text))
        state["_ed_memo"] = memo
    return memo[1]


def pick_example() -> None:
    if state.get("ed_example"):
        state["ed_date"] = state["ed_example"]
        state["ed_step"] = 1
    state["ed_example"] = None


def move_step(delta: int | None, last: int) -> None:
    """delta None = go to the last step; 0 = back to the first."""
    if delta is None:
        state["ed_step"] = last
    elif delta == 0:
        state["ed_step"] = 1
    else:
        state["ed_step"] = min(max(1, state["ed_step"] + delta), last)


def chips(tokens: list[str]) -> str:
    return " ".join(f"`{figs.show_chars([t])[0]}`" for t in tokens)


st.title("Encoder-decoder attention, one decoding step at a time")
st.markdown(
    "A small Transformer, trained by this project, rewrites a date as an ISO date "
    "(“25 November 2026” → “2026-11-25”). As in the course notes: the **encoder** reads the source "
    "(上文) with multi-head self-attention (多头注意力) and produces its intermediate representation "
    "(中间表达, the *memory*); the **decoder** starts from `<sos>` and reads what it has written so far (下文) with "
    "**masked** multi-head self-attention (多头掩码注意力); **cross-attention** (融合注意力) then takes its queries "
    "from the decoder and its keys and values from the encoder; a softmax gives the next character's probabilities "
    "(输出概率), and the chosen character is fed back in — the autoregressive loop (自回归循环) — until `<eos>`."
)

try:
    model, vocab = date_model(asset_stamp())
except (CheckpointError, OSError) as error:
    st.error(f"The date model could not be loaded: {error}")
    st.stop()
cfg = model.cfg
info = train_info(asset_stamp())
with st.sidebar:
    st.header("The date model")
    st.markdown(
        f"{cfg.n_encoder_layers} encoder + {cfg.n_decoder_layers} decoder layers, {cfg.n_heads} heads, "
        f"d_model {cfg.d_model}, {model.num_params():,} parameters, {len(vocab)} characters."
    )
    if info:
        st.markdown(
            f"Trained by `{info.get('command', 'scripts/train_seq2seq.py')}` (seed {info.get('seed')}, "
            f"{info.get('train_seconds', 0) / 60:.1f} min on one CPU thread). Exact match on "
            f"{info.get('heldout_size')} held-out dates it never saw: **{info.get('heldout_exact_match', 0):.2%}**."
        )
    st.markdown("Formats it was trained on:\n" + "\n".join(f"- {f}" for f in tasks.FORMATS))

source_col, example_col = st.columns([3, 2])
source_col.text_input("Date (the source, 上文)", key="ed_date", help="One of the formats in the sidebar; at most 24 characters.")
example_col.selectbox(
    "Examples", list(tasks.FORMATS), index=None, key="ed_example", placeholder="Pick an example…", on_change=pick_example
)

try:
    text = tasks.check_input(state["ed_date"], vocab, cfg.max_source_len)
except tasks.TaskInputError as error:
    st.info(str(error))
    url_state.save(PARAMS)
    st.stop()
if text != state["ed_date"]:
    st.caption(f"Read as “{text}” (extra spaces removed).")

decoding = decoding_for(model, vocab, text)
expected = tasks.parse_date(text)
answer = decoding.text
if expected is None:
    verdict = "— not a real date in one of the trained formats, so there is no reference answer; the model answers anyway."
elif answer == expected.isoformat():
    verdict = "✓ correct."
else:
    verdict = f"✗ the correct answer is {expected.isoformat()}."
if not decoding.finished:
    verdict += f" (The loop stopped after {len(decoding.steps)} steps without `<eos>`.)"
st.markdown(f"#### Model output: `{answer or '(nothing)'}` {verdict}")

n_steps = len(decoding.steps)
state["ed_layer"] = min(state["ed_layer"], cfg.n_encoder_layers - 1, cfg.n_decoder_layers - 1)
state["ed_head"] = min(state["ed_head"], cfg.n_heads - 1)
state["ed_step"] = min(max(1, state["ed_step"]), n_steps)
pick_layer, pick_head = st.columns(2)
pick_layer.slider("Layer", 0, min(cfg.n_encoder_layers, cfg.n_decoder_layers) - 1, key="ed_layer")
pick_head.slider("Head", 0, cfg.n_heads - 1, key="ed_head")
layer, head = state["ed_layer"], state["ed_head"]
src = decoding.source_tokens
final = decoding.steps[-1].arrays  # the last step holds every row of the decoder's maps
sharpness = {
    (l, h): float(final[f"{hook_prefix('decoder_cross', l)}.hook_pattern"][h].max(-1).mean())
    for l in range(cfg.n_decoder_layers)
    for h in range(cfg.n_heads)
}
best_layer, best_head = max(sharpness, key=sharpness.get)
hint_col, jump_col = st.columns([4, 1], vertical_alignment="center")
hint_col.caption(
    f"For this date the sharpest cross-attention is layer {best_layer}, head {best_head}: on average its rows put "
    f"{sharpness[(best_layer, best_head)]:.0%} of their weight on a single source character."
)
jump_col.button(
    "Show that head", key="ed_sharpest", on_click=lambda: state.update(ed_layer=best_layer, ed_head=best_head),
    disabled=(layer, head) == (best_layer, best_head), width="stretch",
)

# ----------------------------------------------------------------------------- ① encoder
st.header("① Encoder self-attention (多头注意力)")
enc = hook_prefix("encoder", layer)
enc_map, enc_text = st.columns([3, 2])
with enc_map:
    show_figure(
        figs.attention_map(
            decoding.encoder[f"{enc}.hook_pattern"][head],
            src,
            src,
            scores=decoding.encoder[f"{enc}.hook_scores"][head],
            allowed=decoding.encoder[f"{enc}.hook_mask"],
            title=f"Encoder self-attention (多头注意力)<br>layer {layer} · head {head}",
        ),
        key="ed_encoder",
        arrays={k: v for k, v in decoding.encoder.items() if k.startswith(enc + ".")},
    )
with enc_text:
    st.markdown(
        f"Every source character is a query (row) and a key (column): **{len(src)} × {len(src)}** weights, no mask "
        "(there is no padding with one date). This runs **once**: its output, after the last encoder layer, is the "
        f"memory — {len(src)} vectors of {cfg.d_model} numbers — that every decoding step reads again.\n\n"
        "Spaces are drawn as ␣. Hover a cell for the weight and the raw score q·k/√d."
    )

# ----------------------------------------------------------------------------- ② the loop
st.header("② Decoder, one step at a time (自回归循环)")
b_first, b_prev, b_next, b_last, slider_col = st.columns([1, 1, 1, 1, 4], vertical_alignment="center")
b_first.button("Start", icon=":material/first_page:", key="ed_first", on_click=move_step, args=(0, n_steps), disabled=state["ed_step"] == 1, width="stretch")
b_prev.button("Back", icon=":material/chevron_left:", key="ed_prev", on_click=move_step, args=(-1, n_steps), disabled=state["ed_step"] == 1, width="stretch")
b_next.button("Next", icon=":material/chevron_right:", key="ed_next", on_click=move_step, args=(1, n_steps), disabled=state["ed_step"] == n_steps, width="stretch")
b_last.button("End", icon=":material/last_page:", key="ed_last", on_click=move_step, args=(None, n_steps), disabled=state["ed_step"] == n_steps, width="stretch")
if n_steps > 1:
    slider_col.slider("Step", 1, n_steps, key="ed_step", label_visibility="collapsed")
k = state["ed_step"]
step = decoding.steps[k - 1]
row = k - 1  # the new query row at this step
p_chosen = float(step.probs[step.output_id])
st.markdown(
    f"**Step {k} of {n_steps}.** The decoder reads {chips(step.input_tokens)} ({k} token{'s' if k > 1 else ''}) "
    f"and writes **{chips([step.output_token])}** (probability {p_chosen:.3f})."
    + (" The loop ends here: `<eos>` was chosen." if step.output_id == tasks.EOS else " That character is appended to its input for the next step.")
)

dec_tokens = step.input_tokens
self_p, cross_p = hook_prefix("decoder_self", layer), hook_prefix("decoder_cross", layer)
map_height = max(240, 150 + 36 * k)  # about one height per row: the maps grow by a row per step
self_col, cross_col = st.columns([2, 3])
with self_col:
    show_figure(
        figs.attention_map(
            step.arrays[f"{self_p}.hook_pattern"][head],
            dec_tokens,
            dec_tokens,
            scores=step.arrays[f"{self_p}.hook_scores"][head],
            allowed=step.arrays[f"{self_p}.hook_mask"],
            title=f"Masked self-attention (多头掩码注意力)<br>layer {layer} · head {head} · step {k}",
            highlight_row=row,
            height=map_height,
        ),
        key="ed_self",
        arrays={name: v for name, v in step.arrays.items() if name.startswith(self_p + ".")},
    )
    st.caption(
        "Decoder input on both axes. Grey cells are masked (subsequence mask): a position never sees the ones "
        "after it. The framed row is this step's new query; the rows above it are exactly those of the previous "
        "step — adding a token cannot change what earlier positions saw."
    )
with cross_col:
    show_figure(
        figs.attention_map(
            step.arrays[f"{cross_p}.hook_pattern"][head],
            dec_tokens,
            src,
            scores=step.arrays[f"{cross_p}.hook_scores"][head],
            allowed=step.arrays[f"{cross_p}.hook_mask"],
            title=f"Cross-attention (融合注意力)<br>layer {layer} · head {head} · step {k}",
            highlight_row=row,
            height=map_height,
        ),
        key="ed_cross",
        arrays={name: v for name, v in step.arrays.items() if name.startswith(cross_p + ".")},
    )
    weights = step.arrays[f"{cross_p}.hook_pattern"][head][row]
    top = np.argsort(-weights)[:3]
    st.caption(
        "Rows: decoder positions (queries, Q from the decoder); each row is the token read there, and the character it "
        "helps to predict is the next one. Columns: source characters (keys and values, K and V from the encoder's "
        f"memory). The new row, read by the query {chips([dec_tokens[-1]])} at position {row} to write "
        f"{chips([step.output_token])}, puts its weight on "
        + ", ".join(f"{chips([src[j]])} #{j} ({weights[j]:.2f})" for j in top)
        + "."
    )

prob_col, heads_col = st.columns([2, 3])
with prob_col:
    show_figure(
        figs.next_token_bar(step.probs, vocab.itos, step.output_id, title=f"Output probabilities (输出概率) · step {k}"),
        key="ed_probs",
        arrays={"probs": step.probs, "tokens": np.array(vocab.itos)},
    )
with heads_col:
    show_figure(
        figs.heads_row(
            step.arrays[f"{cross_p}.hook_pattern"],
            dec_tokens,
            src,
            allowed=step.arrays[f"{cross_p}.hook_mask"],
            highlight_row=row,
            selected_head=head,
            title=f"Cross-attention, every head of layer {layer} · step {k}",
            height=max(220, 110 + 24 * k),
        ),
        key="ed_cross_heads",
    )

st.subheader("The whole loop")
rows = []
for i, s in enumerate(decoding.steps, start=1):
    w = s.arrays[f"{cross_p}.hook_pattern"][head][i - 1]
    j = int(np.argmax(w))
    rows.append(
        {
            "": "▶" if i == k else "",
            "step": i,
            "decoder reads (last token)": s.input_tokens[-1],
            "writes": s.output_token,
            "probability": round(float(s.probs[s.output_id]), 4),
            f"most attended source char (L{layer} H{head})": f"{figs.show_chars([src[j]])[0]} #{j} ({w[j]:.2f})",
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3)
st.caption(
    f"Each step runs the decoder on all tokens so far (no cache, so each map is complete). The encoder ran once for all "
    f"{n_steps} steps."
)

url_state.save(PARAMS)
