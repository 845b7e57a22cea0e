"""pages/1_Compare_heads.py: the comparison and the head statistics' columns."""

TEXT: dict[str, dict[str, str]] = {
    "compare.title": {"en": "Compare heads", "zh": "比较注意力头"},
    "compare.head_a": {"en": "**Head A**", "zh": "**头 A**"},
    "compare.head_b": {"en": "**Head B**", "zh": "**头 B**"},
    "compare.a_layer": {"en": "A: layer", "zh": "A：层"},
    "compare.a_head": {"en": "A: head", "zh": "A：头"},
    "compare.b_layer": {"en": "B: layer", "zh": "B：层"},
    "compare.b_head": {"en": "B: head", "zh": "B：头"},
    "compare.name": {"en": "{which}: layer {layer} · head {head}", "zh": "{which}：第 {layer} 层 · 第 {head} 个头"},
    "compare.rank": {"en": "Rank the heads", "zh": "给注意力头排序"},
    "compare.sort_by": {"en": "Sort by", "zh": "排序依据"},
    "compare.table_caption": {
        "en": "Averages over the real (non-padding) query rows of the sentence above. Click a column header to re-sort.",
        "zh": "对上面句子中真实（非填充）查询行取平均。点击列标题可重新排序。",
    },
    "compare.similar_header": {"en": "Which heads repeat each other", "zh": "哪些头在重复彼此"},
    "compare.metric": {"en": "How alike", "zh": "相似程度的度量"},
    "compare.metric_js": {"en": "Jensen–Shannon distance of the rows", "zh": "各行的 Jensen–Shannon 距离"},
    "compare.metric_cosine": {"en": "cosine of the whole maps", "zh": "整张图的余弦相似度"},
    "compare.similar_title": {
        "en": "All {n} heads against each other, alike heads grouped",
        "zh": "全部 {n} 个头两两比较，相似的头排在一起",
    },
    "compare.similar_caption_js": {
        "en": "For every pair of heads: the Jensen–Shannon distance between their attention rows (base 2: 0 = the same distribution, 1 = no key in common), averaged over the real query tokens. Dark = alike. Rows and columns are ordered by hierarchical clustering (average linkage), so dark blocks are groups of heads that attend the same way on this sentence. Click a cell to compare its two heads above as A and B.",
        "zh": "对每一对头：它们注意力行之间的 Jensen–Shannon 距离（以 2 为底：0 = 分布完全相同，1 = 没有共同的键），对真实查询词元取平均。颜色越深越相似。行和列按层次聚类（平均连接）排序，因此深色方块就是在这句话上关注方式相同的一组头。点击一个格子，即可在上方把这两个头作为 A 和 B 比较。",
    },
    "compare.similar_caption_cosine": {
        "en": "For every pair of heads: the cosine of their whole maps (real queries × real keys) as vectors: 1 = the same map. Dark = alike; rows and columns ordered by hierarchical clustering. Click a cell to compare its two heads above as A and B.",
        "zh": "对每一对头：把整张图（真实查询 × 真实键）看作向量，计算余弦：1 = 完全相同的图。颜色越深越相似；行和列按层次聚类排序。点击一个格子，即可在上方把这两个头作为 A 和 B 比较。",
    },
    "compare.js_refused": {
        "en": "The Jensen–Shannon distance needs probability rows, and this model's maps hold negative weights (DCMHA's post-composed maps): choose the cosine. ({error})",
        "zh": "Jensen–Shannon 距离需要概率分布的行，而此模型的注意力图含有负权重（DCMHA 合成后的图）：请改用余弦。（{error}）",
    },
    "compare.rank_header": {
        "en": "How many directions does each head use? (effective rank)",
        "zh": "每个头用了多少个方向？（有效秩）",
    },
    "compare.rank_title": {
        "en": "Effective rank of each head's map and scores; d_head = {d}",
        "zh": "每个头的注意力图与分数的有效秩；d_head = {d}",
    },
    "compare.rank_caption_short": {
        "en": "Effective rank = exp(entropy of the normalised singular values): how many directions a matrix really uses. On these {n} tokens no map or score matrix can have a rank above {n}, which is not more than d_head = {d}: the text, not d_head, is the bound here (the dashed line), so this chart cannot show the low-rank bottleneck of the scores; a text of more than {d} tokens can. Mean effective rank of the maps {pattern:.1f}, of the scores {scores:.1f} ({heads} heads; {above} above d_head). Hover a bar for the number of singular values that hold 90% of the energy.",
        "zh": "有效秩 = exp(归一化奇异值的熵)：一个矩阵真正用了多少个方向。在这 {n} 个词元上，任何注意力图或分数矩阵的秩都不会超过 {n}，而它不大于 d_head = {d}：这里起限制作用的是文本长度（虚线），不是 d_head，所以这张图显示不出分数的低秩瓶颈；超过 {d} 个词元的文本才能显示。注意力图的平均有效秩为 {pattern:.1f}，分数的为 {scores:.1f}（共 {heads} 个头；{above} 个高于 d_head）。把鼠标停在柱子上，可以看到包含 90% 能量的奇异值个数。",
    },
    "compare.rank_caption": {
        "en": "Effective rank = exp(entropy of the normalised singular values): how many directions a matrix really uses. The scores q·kᵀ/√d are a product through d_head = {d} dimensions, so their rank can never exceed {d} (the low-rank bottleneck that DCMHA's composition is meant to relieve); the softmax can raise it again. On these {n} tokens: {above} of {heads} maps have an effective rank above d_head; mean effective rank of the maps {pattern:.1f}, of the scores {scores:.1f}. Hover a bar for the number of singular values that hold 90% of the energy.",
        "zh": "有效秩 = exp(归一化奇异值的熵)：一个矩阵真正用了多少个方向。分数 q·kᵀ/√d 是经过 d_head = {d} 维的乘积，所以它的秩绝不会超过 {d}（这就是 DCMHA 的组合想要缓解的低秩瓶颈）；softmax 又可以把秩提高。在这 {n} 个词元上：{heads} 个头中有 {above} 个的注意力图有效秩高于 d_head；注意力图的平均有效秩为 {pattern:.1f}，分数的为 {scores:.1f}。把鼠标停在柱子上，可以看到包含 90% 能量的奇异值个数。",
    },
    "compare.long_caption": {
        "en": "A long text ({n} tokens): each map is {blocks} × {blocks} blocks, each the exact mean of its cells, A and B on one colour scale; A − B is the difference of the block means (exact: a mean is linear). The Attention page zooms into any region of a head.",
        "zh": "长文本（{n} 个词元）：每张图是 {blocks} × {blocks} 个块，每块是其中各格的精确平均，A 和 B 用同一色阶；A − B 是块平均之差（精确：平均是线性的）。在“注意力”页可以放大查看任意一个头的任意区域。",
    },
    "compare.long_rest": {
        "en": "The effective ranks need a singular value decomposition of every head's whole {n} × {n} map: they are shown for texts whose maps are stored whole (this one has {n} tokens).",
        "zh": "有效秩需要对每个头完整的 {n} × {n} 注意力图做奇异值分解：只对注意力图整张保存的文本显示（这段文本有 {n} 个词元）。",
    },
    "compare.long_cosine": {
        "en": "A long text ({n} tokens): heads are compared by the cosine of their whole maps, computed exactly a block of query rows at a time. (The Jensen–Shannon distance, which compares every row of every pair of heads, is offered for texts whose maps are stored whole.)",
        "zh": "长文本（{n} 个词元）：用整张注意力图的余弦比较各个头，按查询行分块精确算出。（Jensen–Shannon 距离要逐行比较每一对头，只对注意力图整张保存的文本提供。）",
    },
    "stat.layer": {"en": "layer", "zh": "层"},
    "stat.head": {"en": "head", "zh": "头"},
    "stat.entropy": {"en": "entropy", "zh": "熵"},
    "stat.mean_distance": {"en": "mean distance", "zh": "平均距离"},
    "stat.self": {"en": "self", "zh": "自身"},
    "stat.previous": {"en": "previous", "zh": "前一个词"},
    "stat.next": {"en": "next", "zh": "后一个词"},
    "stat.first": {"en": "first token", "zh": "首个词元"},
    "stat.induction": {"en": "induction", "zh": "归纳"},
    "stat.cls": {"en": "[CLS]", "zh": "[CLS]"},
    "stat.sep": {"en": "[SEP]", "zh": "[SEP]"},
    "stat.entropy_help": {
        "en": "−Σ p log p of a query's row, in nats, averaged over queries: 0 = one key takes all, high = spread out.",
        "zh": "每个查询行的 −Σ p log p（单位 nat），对所有查询取平均：0 表示只关注一个键，越大越分散。",
    },
    "stat.mean_distance_help": {
        "en": "How many tokens away a query looks, weighted by attention.",
        "zh": "按注意力加权，查询平均看向多远（多少个词元）。",
    },
    "stat.self_help": {"en": "Share of attention a token gives itself.", "zh": "词元分给自己的注意力比例。"},
    "stat.previous_help": {"en": "Share given to the token just before.", "zh": "分给前一个词元的比例。"},
    "stat.next_help": {"en": "Share given to the token just after.", "zh": "分给后一个词元的比例。"},
    "stat.first_help": {
        "en": "Share given to the first token: in decoders, often an attention sink that absorbs what a head does not need.",
        "zh": "分给第一个词元的比例：在解码器中，它常是吸收多余注意力的“注意力汇点”。",
    },
    "stat.induction_help": {
        "en": "Share given to the token that followed an earlier copy of the query's token (A B … A → B), over the queries that have one: high in induction heads.",
        "zh": "分给“查询词元上一次出现时紧随其后的词元”的比例（A B … A → B），只统计有这种早先副本的查询：归纳头的这一值很高。",
    },
    "stat.cls_help": {"en": "Share given to [CLS].", "zh": "分给 [CLS] 的比例。"},
    "stat.sep_help": {
        "en": "Share given to [SEP] (often a 'no-op' sink).",
        "zh": "分给 [SEP] 的比例（常被当作“无操作”的汇点）。",
    },
}
