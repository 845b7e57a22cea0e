"""attnviz: see multi-head attention, head by head, on a real model."""

from .capture import Capture, capture, run_capture
from .masks import MaskSpec
from .models import DEFAULT_MODEL, available_models, load_model
from .notebook import show
from .text import InputError

__all__ = [
    "Capture",
    "DEFAULT_MODEL",
    "InputError",
    "MaskSpec",
    "available_models",
    "capture",
    "load_model",
    "run_capture",
    "show",
]
__version__ = "0.1.0"
