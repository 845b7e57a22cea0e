"""The tests' offline stand-in tokenizer: byte-level BPE trained in-process (attnviz.models.tiny, which the tiny
random models of every family ship with). Used by the tests that build tiny Hugging Face models and by
benchmarks/hf_capture_overhead.py.
"""

from attnviz.models.tiny import byte_level_tokenizer

__all__ = ["byte_level_tokenizer"]
