"""pages/4_Word_order.py."""

TEXT: dict[str, dict[str, str]] = {
    "order.title": {"en": "Word order and positions", "zh": "词序与位置编码"},
    "order.blind_header": {"en": "Attention alone ignores order", "zh": "注意力本身不区分顺序"},
    "order.blind_text": {
        "en": "Self-attention compares every token with every other token; shuffle the words and each token meets the same partners. Only the **position information added to the input** tells the model who came first.",
        "zh": "自注意力把每个词和所有其他词比较；打乱词序后，每个词遇到的仍是同样的词。只有**加入输入中的位置信息**才能告诉模型谁在前、谁在后。",
    },
    "order.a": {"en": "Sentence A", "zh": "句子 A"},
    "order.b": {"en": "Sentence B (same words, another order)", "zh": "句子 B（同样的词，不同的顺序）"},
    "order.unk": {
        "en": "{model} does not know some of these characters (shown as [UNK]); for Chinese such as 狗追猫 / 猫追狗 every character becomes [UNK], so both orders look the same to it except for their positions.",
        "zh": "{model} 不认识其中一些字符（显示为 [UNK]）；像“狗追猫 / 猫追狗”这样的中文，每个字都会变成 [UNK]，因此对它来说两种顺序只在位置上有区别。",
    },
    "order.too_long": {
        "en": "Text {which} is too long to compare whole maps here ({n} tokens): Word order shows two maps cell by cell and their difference, which is read on a sentence. Shorten it, or see a long text's map on the main page.",
        "zh": "句子 {which} 太长（{n} 个词元），这里无法比较整张注意力图：词序页逐格显示两张图及其差异，适合一句话。请缩短句子，或在主页面查看长文本的注意力图。",
    },
    "order.not_reordering": {
        "en": "B is not a reordering of A's tokens, so there is no cell-by-cell difference to show.",
        "zh": "句子 B 不是句子 A 的词元重新排列，因此无法逐格比较差异。",
    },
    "order.diff_title": {
        "en": "A − B, with B's rows and columns put in A's word order",
        "zh": "A − B（把 B 的行和列按 A 的词序排列）",
    },
    "order.diff_caption": {
        "en": "Largest change: {value:.3f}. Were attention blind to order, this map would be all zero: the same word pairs would get the same weights.",
        "zh": "最大变化：{value:.3f}。如果注意力对顺序完全无感，这张图会全部为零：相同的词对会得到相同的权重。",
    },
    "order.pe_header": {"en": "Positional encoding", "zh": "位置编码"},
    "order.positions": {"en": "Positions shown", "zh": "显示的位置数"},
    "order.sin_title": {
        "en": "Sinusoidal encoding (Transformer paper)<br>{n} positions × {d} dimensions",
        "zh": "正弦位置编码（Transformer 论文）<br>{n} 个位置 × {d} 维",
    },
    "order.learned_title": {"en": "{model}<br>learned position embeddings", "zh": "{model}<br>学到的位置向量"},
    "order.similarity": {
        "en": "How similar are positions to each other? (cosine similarity of their vectors)",
        "zh": "不同位置之间有多相似？（位置向量的余弦相似度）",
    },
    "order.rope_title": {
        "en": "{model}: RoPE, cos of each pair's angle (base {base}, d_head {d})",
        "zh": "{model}：RoPE，每对维度旋转角的余弦（base {base}，d_head {d}）",
    },
    "order.rope_pair": {"en": "pair of dimensions j", "zh": "维度对 j"},
    "order.rope_text": {
        "en": "This model adds no position vector: it **rotates** each pair of dimensions of q and k by an angle proportional to the position (RoPE). Fast pairs (left) tell near positions apart, slow pairs (right) far ones.",
        "zh": "这个模型不加位置向量，而是把 q 和 k 的每一对维度按与位置成正比的角度**旋转**（RoPE）。转得快的维度对（左）区分相近的位置，转得慢的（右）区分相距较远的位置。",
    },
    "order.sim_rope": {
        "en": "RoPE: cos between rotated copies of one vector",
        "zh": "RoPE：同一向量旋转后的余弦相似度",
    },
    "order.sim_rope_caption": {
        "en": "Each diagonal is constant: after rotation, q·k depends only on how far apart two tokens are (m − n), not where they are.",
        "zh": "每条对角线上的值都相同：旋转之后 q·k 只取决于两个词元相隔多远（m − n），与它们所在的位置无关。",
    },
    "order.no_positions": {
        "en": "{model} has no position encoding this page can show.",
        "zh": "{model} 没有本页可以展示的位置编码。",
    },
    "order.sim_sin": {"en": "sinusoidal", "zh": "正弦编码"},
    "order.sim_learned": {"en": "learned", "zh": "学到的位置向量"},
    "order.sim_caption": {
        "en": "Both give nearby positions similar vectors: the model can tell near from far.",
        "zh": "两者都让相邻的位置有相似的向量：模型能区分远近。",
    },
}
