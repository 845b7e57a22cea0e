"""Command line: ``attnviz capture --text "..." --out capture.npz``."""

from __future__ import annotations

import argparse
import sys

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
    cap.add_argument("--model", default=DEFAULT_MODEL, help=f"shipped name ({', '.join(available_models())}), local Hugging Face directory, or hub id (default: %(default)s)")
    cap.add_argument("--text", required=True, help="the sentence to capture")
    cap.add_argument("--causal", action="store_true", help="apply the causal (subsequent) mask")
    cap.add_argument("--window", type=_positive, metavar="W", help="sliding window: query i sees keys with |i-j| < W")
    cap.add_argument("--chunk", type=_positive, metavar="C", help="chunked attention: blocks of C tokens")
    cap.add_argument("--out", required=True, metavar="FILE.npz", help="where to write the arrays")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .capture import capture
    from .text import InputError

    try:
        result = capture(args.text, args.model, causal=args.causal, window=args.window, chunk=args.chunk)
        result.save_npz(args.out)
    except (InputError, ModelNotFound, OSError, ValueError) as error:
        print(f"attnviz: error: {error}", file=sys.stderr)
        return 1
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    if result.truncated:
        print(f"note: the text had {result.full_length} tokens and was cut to the model's limit", file=sys.stderr)
    spec = MaskSpec(args.causal, args.window, args.chunk)
    print(f"wrote {len(result)} arrays for {len(result.tokens)} tokens ({spec.describe()}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
