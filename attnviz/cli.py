"""Command line: ``attnviz capture --text "..." --out capture.npz``."""

from __future__ import annotations

import argparse
import sys

from .i18n import translate
from .masks import MaskSpec
from .models import DEFAULT_MODEL, ModelNotFound, available_models


class _OneLineParser(argparse.ArgumentParser):
    """Bad arguments end in one line on stderr and exit status 2, not a usage dump."""

    def error(self, message: str):
        self.exit(2, f"attnviz: error: {message}\n")


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_number(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {raw}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="attnviz",
        description="Capture every attention head of a real model and save the arrays for notebooks and scripts.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    cap = commands.add_parser(
        "capture",
        help="run one sentence through a model and write every hook to an .npz file",
        description=(
            "Writes blocks.{l}.attn.hook_q/hook_k/hook_v (heads, seq, d_head), hook_scores (heads, seq, seq; "
            "q·kᵀ/√d before masking), hook_mask (seq, seq; True = may attend), hook_pattern (heads, seq, seq), "
            "hook_z (heads, seq, d_head), blocks.{l}.hook_resid_post, hook_embed, tokens and token_ids."
        ),
    )
    cap.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"shipped name ({', '.join(available_models())}), local Hugging Face directory, or hub id (default: %(default)s)",
    )
    given = cap.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="the sentence to capture")
    given.add_argument("--image", metavar="FILE", help="a PNG or JPEG for a vision model (--model: a ViT folder)")
    cap.add_argument("--causal", action="store_true", help="apply the causal (subsequent) mask")
    cap.add_argument("--window", type=_positive, metavar="W", help="sliding window: query i sees keys with |i-j| < W")
    cap.add_argument("--chunk", type=_positive, metavar="C", help="chunked attention: blocks of C tokens")
    cap.add_argument("--prefix", type=_positive, metavar="P", help="prefix-LM: bidirectional over the first P tokens")
    cap.add_argument("--sinks", type=_positive, metavar="S", help="the first S tokens stay visible through the window")
    cap.add_argument("--dilation", type=_positive, metavar="D", help="only keys at a distance that is a multiple of D")
    cap.add_argument(
        "--documents",
        nargs="?",
        const=True,
        default=False,
        metavar="SEP",
        help="split the text into documents at blank lines (or at each SEP); a query sees only its own document",
    )
    cap.add_argument(
        "--window-2d", type=_positive, metavar="R", help="an image's patches see the patches within R rows and columns"
    )
    cap.add_argument("--blocks-2d", type=_positive, metavar="K", help="an image's patches attend within K x K tiles")
    cap.add_argument("--alibi", action="store_true", help="ALiBi: each head's scores minus its slope times |i-j|")
    cap.add_argument("--softcap", type=_positive_number, metavar="C", help="soft-capping: scores become C·tanh(s/C)")
    cap.add_argument("--out", required=True, metavar="FILE.npz", help="where to write the arrays")
    whole = cap.add_mutually_exclusive_group()
    whole.add_argument(
        "--full",
        dest="full",
        action="store_true",
        default=None,
        help="write every (heads, seq, seq) map, however long the text (the default up to 512 tokens)",
    )
    whole.add_argument(
        "--linear",
        dest="full",
        action="store_false",
        help="write only what is linear in the text (q, k, v, z, hook_lse, hook_score_scale), whatever its "
        "length; every map can be rebuilt exactly from them (attnviz.tiles)",
    )
    gen = commands.add_parser(
        "generate",
        help="continue a text with a language model (a decoder: dcformer-tiny, mha-tiny, mistral-char, a folder)",
        description="Greedy when --temperature is 0 (the default); otherwise sampled with a seeded generator.",
    )
    gen.add_argument(
        "--model", default="dcformer-tiny", help="a shipped decoder, or a decoder's folder (DCFormer, transformers)"
    )
    gen.add_argument("--prompt", required=True, help="the text to continue")
    gen.add_argument(
        "-n",
        "--max-new-tokens",
        type=_positive,
        default=120,
        metavar="N",
        help="tokens to add (characters, for the character models; default: %(default)s)",
    )
    gen.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    gen.add_argument("--top-k", type=_positive, default=None, metavar="K", help="sample only among the K likeliest")
    gen.add_argument("--seed", type=int, default=0, help="random seed for sampling (default: %(default)s)")
    tiny = commands.add_parser(
        "tiny",
        help="write a tiny random model of any Hugging Face family to a folder (offline), to open in the app",
        description=(
            "Builds the family's own architecture (its norms, QK-norm, parallel blocks, experts, windows) at test "
            "size with random weights from a seed, with a byte-level tokenizer, and checks that attnviz records it "
            "exactly as transformers' eager attention does. Its attention is random: it shows an architecture, "
            "not what a trained model has learned."
        ),
    )
    tiny.add_argument("family", help="the model_type, as in config.json (qwen3, phi3, falcon, gemma3_text, ...)")
    tiny.add_argument("folder", help="where to write it (created; must be empty if it exists)")
    tiny.add_argument("--seed", type=int, default=0, help="random seed for the weights (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "generate":
        return _generate(args)
    if args.command == "tiny":
        return _tiny(args)
    from .capture import capture
    from .text import InputError

    try:
        result = capture(
            args.text,
            args.model,
            image=args.image,
            window_2d=args.window_2d,
            blocks_2d=args.blocks_2d,
            causal=args.causal,
            window=args.window,
            chunk=args.chunk,
            prefix=args.prefix,
            sinks=args.sinks,
            dilation=args.dilation,
            documents=args.documents,
            alibi=args.alibi,
            softcap=args.softcap,
            full=args.full,
        )
        result.save_npz(args.out)
    except (InputError, ModelNotFound, OSError, ValueError) as error:
        print(f"attnviz: error: {error}", file=sys.stderr)
        return 1
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    if result.truncated:
        print(f"note: the text had {result.full_length} tokens and was cut to the model's limit", file=sys.stderr)
    if result.is_linear(0):
        print(
            f"note: the maps were not written (a linear capture, {_megabytes(sum(a.nbytes for a in result.values()))}); "
            f"--full writes them, {_megabytes(result.full_bytes())} more",
            file=sys.stderr,
        )
    print(f"wrote {len(result)} arrays for {len(result.tokens)} tokens ({result.spec.describe()}) to {args.out}")
    return 0


def _tiny(args) -> int:
    from pathlib import Path

    from .models.hf_families import UnsupportedModel
    from .models.tiny import eager_difference, save_tiny

    folder = Path(args.folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        print(f"attnviz: error: {args.folder} exists and is not an empty folder", file=sys.stderr)
        return 1
    try:
        save_tiny(args.family, folder, seed=args.seed)
        model, worst = eager_difference(folder)
    except (UnsupportedModel, ModelNotFound) as refusal:
        print(f"attnviz: error: {refusal}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the family's own config checks at the tiny size
        print(
            f"attnviz: error: {args.family}: its config cannot be made tiny here ({type(error).__name__})",
            file=sys.stderr,
        )
        return 1
    if worst > 1e-5:
        print(
            f"attnviz: error: {args.family}: attnviz's pattern differs from transformers' eager attention by "
            f"{worst:.1e} (a bug: please report it)",
            file=sys.stderr,
        )
        return 1
    print(
        f"wrote a tiny random {args.family} ({model.n_layers} layers, {model.n_heads} query heads, "
        f"{model.n_kv_heads} K/V heads of {model.d_head}) to {folder}; its patterns equal transformers' eager "
        f"attentions (largest difference {worst:.1e})"
    )
    return 0


def _megabytes(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def _generate(args) -> int:
    from .capture import get_model
    from .decoding import decode

    if args.temperature < 0:
        print("attnviz: error: --temperature must be 0 or more", file=sys.stderr)
        return 2
    try:
        model = get_model(args.model)
    except (ModelNotFound, OSError, ValueError) as error:
        print(f"attnviz: error: {error}", file=sys.stderr)
        return 1
    if model.kind != "decoder":
        print(f"attnviz: error: {args.model} is not a language model (a decoder; try dcformer-tiny)", file=sys.stderr)
        return 1
    for notice in model.notices(args.prompt, MaskSpec(causal=True)):  # characters read as <unk>, and the like
        if notice.level == "warning":
            print("note: " + translate(notice.key, "en", **notice.values), file=sys.stderr)
    encoding = model.encode([args.prompt])
    prompt = encoding.input_ids[0, : int(encoding.key_is_real[0].sum())].tolist()
    _, steps = decode(
        model, prompt, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k, seed=args.seed
    )
    print(args.prompt + "".join(model.token_label(step.token_id) for step in steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
