"""The families table: every model family of the installed transformers, and what attnviz does with it.

    .venv/bin/python scripts/families.py            # builds a tiny random model of each candidate (about a minute)
    .venv/bin/python scripts/families.py --quick    # reads the code only: which families qualify, and why not
    .venv/bin/python scripts/families.py --readme   # writes the table into docs/models.md between its markers

A family qualifies when transformers' modeling code for it calls the attention interface and it is a causal LM or
a text encoder (attnviz.models.hf_families). Without --quick each one is built at test size from its own config
class (attnviz.models.tiny), loaded through attnviz's registry as a user's folder would be, and compared with
transformers' eager attentions: "recorded" means every layer's pattern equalled them to 1e-5 on this machine.
The families table of docs/models.md ("Which models") is this script's output.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from collections import defaultdict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import transformers  # noqa: E402
from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES  # noqa: E402

from attnviz.models import BERT_FAMILY, ModelNotFound  # noqa: E402
from attnviz.models.hf_families import ENCODER_DECODER  # noqa: E402
from attnviz.models.hf_families import UnsupportedModel, default_config, family_of, uses_attention_interface  # noqa: E402
from attnviz.models.tiny import byte_tokenizer, eager_difference, save_tiny  # noqa: E402

# The refusal reasons, in the words of their one-line messages, grouped for the table.
REASONS = [
    ("does not use transformers' attention interface", "refused: its code does not call the attention interface"),
    ("a multimodal model", "refused: a multimodal wrapper (load its text model's family instead)"),
    ("a model made of several models", "refused: a model made of several models (speech, music, patches)"),
    ("an encoder-decoder model", "refused: an encoder-decoder other than T5 and BART"),
    ("a hybrid model", "refused: a hybrid of attention and recurrent / state-space / linear layers"),
    ("different heads", "refused: its layers have different heads"),
    ("latent attention", "refused: latent attention with q·k and v of different sizes"),
    ("wrapper of its blocks", "refused: attention nested in a wrapper or shared between blocks"),
]


def status(model_type: str, quick: bool, tokenizer) -> tuple[str, str]:
    """(the table's group, a detail) for one family."""
    if model_type in BERT_FAMILY:
        return "recorded by models/bert.py (BERT-family encoders: every page)", ""
    if model_type in ENCODER_DECODER:
        return "recorded by models/hf_encdec.py (the Encoder-decoder page)", ""
    try:
        family = family_of(model_type)
    except UnsupportedModel as refusal:
        return group_of(str(refusal)), ""
    if quick:
        return f"qualifies ({family.kind}, not built with --quick)", ""
    with tempfile.TemporaryDirectory() as folder:
        try:
            save_tiny(model_type, folder, tokenizer)
        except Exception as error:  # noqa: BLE001 - the family's own checks at the tiny size
            return "qualifies, not checked here: its config cannot be made tiny", f"{type(error).__name__}"
        try:
            adapter, worst = eager_difference(folder)
        except (UnsupportedModel, ModelNotFound) as refusal:
            return group_of(str(refusal)), ""
        if worst > 1e-5:
            return "DIFFERS from eager (a bug: please report)", f"{worst:.1e}"
        kind = "encoders" if adapter.kind == "encoder" else "causal LMs"
        return f"recorded by models/hf.py: {kind}, equal to eager attentions", ""


def is_text_family(model_type: str) -> bool:
    """A family with a language-model head (causal, masked or sequence-to-sequence) or a text model inside."""
    from transformers.models.auto import modeling_auto as auto

    heads = (
        auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
    )
    return any(model_type in names for names in heads) or "text_config" in (
        getattr(type(default_config(model_type)), "sub_configs", None) or {}
    )


def group_of(message: str) -> str:
    return next((group for phrase, group in REASONS if phrase in message), "refused: " + message.split(": ", 1)[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="read the code only; build nothing")
    parser.add_argument("--readme", action="store_true", help="write the table into docs/models.md between its markers")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    tokenizer = byte_tokenizer()
    groups: dict[str, list[str]] = defaultdict(list)
    not_text = 0
    for model_type in sorted(CONFIG_MAPPING_NAMES):
        if uses_attention_interface(model_type) is None:  # a config with no modeling code (tokenizer-only, ...)
            continue
        if not is_text_family(model_type):
            not_text += 1
            continue
        group, detail = status(model_type, args.quick, tokenizer)
        groups[group].append(f"`{model_type}`" + (f" ({detail})" if detail else ""))
    lines = [
        f"transformers {transformers.__version__}: {sum(map(len, groups.values()))} text families ({not_text} "
        "families with no language-model head or text model left out: vision, audio, time series)",
        "",
        "| what attnviz does | families |",
        "|---|---|",
    ]
    for group in sorted(groups, key=lambda g: (not g.startswith("recorded"), g.startswith("refused"), g)):
        names = groups[group]
        lines.append(f"| {group} ({len(names)}) | {', '.join(names)} |")
    table = "\n".join(lines)
    if args.readme:
        write_into_readme(table)
    print(table)
    return 0


START, END = "<!-- families table: scripts/families.py --readme -->", "<!-- end of the families table -->"


def write_into_readme(table: str) -> None:
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "models.md")
    text = open(path, encoding="utf-8").read()
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"{before}{START}\n{table}\n{END}{after}")


if __name__ == "__main__":
    raise SystemExit(main())
