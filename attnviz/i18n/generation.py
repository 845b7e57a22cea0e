"""pages/7_Generation.py."""

TEXT: dict[str, dict[str, str]] = {
    "gen.title": {"en": "Generation: the KV cache, one row at a time", "zh": "生成：KV 缓存，一次一行"},
    "gen.intro": {
        "en": "A decoder writes one token at a time. The prompt is read once; then each new token is fed back alone: its **query** is a single row, and the **keys and values** it reads come from the cache, which grows by one row per step. The numbers are exactly those of a full forward over the final text.",
        "zh": "解码器一次写一个词元。提示只读一次；之后每个新词元单独送回模型：它的**查询**只有一行，它读取的**键和值**来自缓存，缓存每一步增加一行。这些数值与对最终文本做一次完整前向计算的结果完全相同。",
    },
    "gen.model": {"en": "Decoder", "zh": "解码器"},
    "gen.prompt": {"en": "Prompt", "zh": "提示"},
    "gen.too_long": {
        "en": "This prompt is too long to follow generation step by step ({n} tokens): every layer's map of the prompt would not fit the server's budget for whole maps. Shorten it.",
        "zh": "这个提示太长（{n} 个词元），无法逐步展示生成过程：提示在每一层的注意力图超出服务器的整图预算。请缩短它。",
    },
    "gen.n_new": {"en": "Tokens to generate", "zh": "生成的词元数"},
    "gen.output": {"en": "{prompt}**{new}**", "zh": "{prompt}**{new}**"},
    "gen.step": {"en": "Step", "zh": "步"},
    "gen.step_text": {
        "en": "Step {k}: “{token}” (position {position}) is fed back. Its query reads {keys} cached keys (positions {start}–{position}); the cache now holds K and V for {layers} layers × {kv} K/V heads: {kb:.1f} KB.",
        "zh": "第 {k} 步：“{token}”（位置 {position}）被送回模型。它的查询读取 {keys} 个缓存中的键（位置 {start}–{position}）；缓存现在保存 {layers} 层 × {kv} 个 K/V 头的 K 和 V：{kb:.1f} KB。",
    },
    "gen.map_title": {
        "en": "Layer {layer} · head {head}: every row so far (step {k} framed)",
        "zh": "第 {layer} 层 · 第 {head} 个头：目前为止的每一行（框出第 {k} 步）",
    },
    "gen.map_caption": {
        "en": "The prompt's rows come from reading it once; below them, one row per generated token, over the keys the cache held (a sliding-window layer keeps only its latest keys: the older ones stay blank).",
        "zh": "提示部分的各行来自一次性读取提示；其下每个生成的词元一行，覆盖缓存当时保存的键（滑动窗口层只保留最新的键：更早的位置留空）。",
    },
    "gen.probs_title": {"en": "Step {k}: the choice of this token", "zh": "第 {k} 步：选择这个词元"},
}
