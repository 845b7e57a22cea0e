"""The generated task of the encoder-decoder page: human-readable dates -> ISO dates.

    "25 November 2026"  -> "2026-11-25"
    "Nov 25, 2026"      -> "2026-11-25"
    "2026年11月25日"     -> "2026-11-25"

Why dates: every output character comes from one or two source characters (the year digits,
the day digits, the month name), so the decoder -> encoder cross-attention has an alignment
that can be read by eye, and a wrong answer is easy to spot.

* :data:`FORMATS` -- the input formats the model is trained on (one function each).
* :func:`sample` / :func:`dataset` -- a seeded generator of (source, target) pairs.
* :func:`is_heldout` -- a fixed 10 % of calendar days never used for training (in any format),
  so held-out accuracy measures dates the model has never seen.
* :func:`date_vocab` -- the model's character vocabulary (:class:`attnviz.models.vocab.CharVocab`) for this task.
* :func:`check_input` -- user text in, a clean source string or an :class:`attnviz.text.InputError`
  whose message can be shown as it is.
* :func:`parse_date` -- the reference answer for a typed date in a known format (None otherwise).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import zlib
from collections.abc import Callable

from .models.vocab import EOS, PAD, SOS, SPECIALS, UNK, CharVocab  # noqa: F401  (the task's callers read them here)
from .text import InputError

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTHS_SHORT = [m[:3] for m in MONTHS]
FIRST_YEAR, LAST_YEAR = 1900, 2099
MAX_SOURCE_CHARS = 24  # the longest format ("September 30th, 2026") has 20
TARGET_CHARS = 10  # "YYYY-MM-DD"


def _ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


FORMATS: dict[str, Callable[[dt.date], str]] = {
    "25 November 2026": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "25 Nov 2026": lambda d: f"{d.day} {MONTHS_SHORT[d.month - 1]} {d.year}",
    "25 november 2026": lambda d: f"{d.day} {MONTHS[d.month - 1].lower()} {d.year}",
    "Nov 25, 2026": lambda d: f"{MONTHS_SHORT[d.month - 1]} {d.day}, {d.year}",
    "November 25, 2026": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "November 25th, 2026": lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",
    "2026年11月25日": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "25.11.2026": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "2026/11/25": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
}


def iso(date: dt.date) -> str:
    return date.isoformat()  # "2026-11-25"


def is_heldout(date: dt.date) -> bool:
    """A fixed tenth of all days (by a hash of the ISO string): never trained on, in any format."""
    return zlib.crc32(iso(date).encode()) % 10 == 0


_FIRST = dt.date(FIRST_YEAR, 1, 1).toordinal()
_LAST = dt.date(LAST_YEAR, 12, 31).toordinal()


def sample(rng: random.Random, heldout: bool = False) -> tuple[str, str]:
    """One (source, target) pair: a uniform day in FIRST_YEAR..LAST_YEAR and a uniform format."""
    while True:
        date = dt.date.fromordinal(rng.randint(_FIRST, _LAST))
        if is_heldout(date) == heldout:
            break
    fmt = rng.choice(list(FORMATS.values()))
    return fmt(date), iso(date)


def dataset(n: int, seed: int, heldout: bool = False) -> list[tuple[str, str]]:
    """``n`` pairs from a generator seeded with ``seed``; ``heldout`` picks the held-out days."""
    rng = random.Random(seed)
    return [sample(rng, heldout) for _ in range(n)]


def all_characters() -> list[str]:
    """Every character any format can produce, plus the target alphabet, in a fixed order."""
    chars: set[str] = set("0123456789-")
    day = dt.date(2000, 1, 1)
    while day.year == 2000:  # a leap year: every month, every day number, every ordinal suffix
        for fmt in FORMATS.values():
            chars.update(fmt(day))
        day += dt.timedelta(days=1)
    return sorted(chars)


def date_vocab() -> CharVocab:
    """The date model's vocabulary: the special tokens, then every character a format can produce."""
    return CharVocab(SPECIALS + all_characters())


def check_input(text: str | None, vocab: CharVocab, max_chars: int = MAX_SOURCE_CHARS) -> str:
    """Strip, collapse runs of spaces, and refuse what the model cannot read."""
    if text is None or not text.strip():
        raise InputError("ed.err_empty")
    cleaned = re.sub(r"\s+", " ", text.strip())
    unknown = vocab.unknown(cleaned)
    if unknown:
        raise InputError("ed.err_unknown", chars=" ".join(f"“{c}”" for c in unknown[:10]))
    if len(cleaned) > max_chars:
        raise InputError("ed.err_long", n=len(cleaned), limit=max_chars)
    return cleaned


_MONTH_NUMBER = {m.lower(): i + 1 for i, m in enumerate(MONTHS)} | {
    m.lower(): i + 1 for i, m in enumerate(MONTHS_SHORT)
}
_PATTERNS = [
    (re.compile(r"(\d{1,2}) ([A-Za-z]+) (\d{4})"), ("d", "m", "y")),
    (re.compile(r"([A-Za-z]+) (\d{1,2})(?:st|nd|rd|th)?, (\d{4})"), ("m", "d", "y")),
    (re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), ("y", "m", "d")),
]


def parse_date(text: str) -> dt.date | None:
    """The date a text in one of the trained formats stands for; None if it is none of them or no real day."""
    for pattern, order in _PATTERNS:
        match = pattern.fullmatch(text.strip())
        if not match:
            continue
        parts = dict(zip(order, match.groups()))
        month = parts["m"]
        month_number = int(month) if month.isdigit() else _MONTH_NUMBER.get(month.lower())
        if month_number is None:
            return None
        try:
            return dt.date(int(parts["y"]), month_number, int(parts["d"]))
        except ValueError:
            return None
    return None
