"""The committed images the Images page offers (assets/gallery/*/gallery.json), so the app needs no dataset at run
time. A gallery entry is named by its file name alone, and only names listed here are ever opened: a link cannot
point the server at any other path."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from .paths import GALLERY_DIR


@dataclass(frozen=True)
class GalleryImage:
    name: str  # the file name, unique across the galleries: what a link names
    path: Path
    label: str  # its class, as the dataset names it
    index: int  # its place in the dataset's test split


@functools.cache
def gallery() -> dict[str, GalleryImage]:
    """name -> image, every gallery's images in their listed order (empty when none is committed)."""
    images: dict[str, GalleryImage] = {}
    for listing in sorted(GALLERY_DIR.glob("*/gallery.json")):
        for entry in json.loads(listing.read_text(encoding="utf-8")):
            path = listing.parent / entry["file"]
            if path.is_file() and path.name not in images:
                images[path.name] = GalleryImage(path.name, path, str(entry["class_name"]), int(entry["test_index"]))
    return images
