"""A byte-level BPE tokenizer trained in-process on a few sentences: stands in for a real one, offline.

Used by the tests that build tiny random Hugging Face models and by benchmarks/hf_capture_overhead.py.
"""

from __future__ import annotations


def byte_level_tokenizer(texts: list[str], *, bos_prefix: bool = True, vocab_size: int = 300):
    """GPT-2-style byte-level BPE with <unk> <pad> <s> </s>; ``bos_prefix`` puts <s> before every text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<unk>", "<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    if bos_prefix:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
