"""The main Attention page (app.py's attention_page)."""

TEXT: dict[str, dict[str, str]] = {
    "main.title": {"en": "attnviz — multi-head attention, head by head", "zh": "attnviz — 多头注意力，一个头一个头地看"},
    "main.caption": {"en": "Queries on rows, keys on columns. Every number is read from the model's real forward pass.", "zh": "行是查询（Q），列是键（K）。每个数字都来自模型真实的前向计算。"},
    "main.layer": {"en": "Layer", "zh": "层"},
    "main.head": {"en": "Head", "zh": "头"},
    "main.head_title": {"en": "Layer {layer} · head {head}", "zh": "第 {layer} 层 · 第 {head} 个头"},
    "main.head_caption": {"en": "{n} tokens · mask: {mask} · grey cells are masked.", "zh": "{n} 个词元 · 掩码：{mask} · 灰色格子被遮住。"},
    "main.overview": {"en": "**All layers × all heads** — click a thumbnail to select that head.", "zh": "**所有层 × 所有头** —— 点击缩略图即可选中那个头。"},
    "main.padding_header": {"en": "Padding: both sentences as one batch", "zh": "填充：两个句子组成一个批次"},
    "main.padding_caption": {"en": "The shorter sentence is filled with [PAD]; its padded keys are masked (grey) so no query attends to them.", "zh": "较短的句子用 [PAD] 补齐；补齐的键被遮住（灰色），任何查询都不会关注它们。"},
    "main.sentence_n": {"en": "Sentence {n} · layer {layer} · head {head}", "zh": "句子 {n} · 第 {layer} 层 · 第 {head} 个头"},
}
