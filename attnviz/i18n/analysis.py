"""attnviz.figures.heads and attnviz.figures.flow: head similarity, effective rank, rollout and flow graphs,
query–key projections."""

TEXT: dict[str, dict[str, str]] = {
    "analysis.js_distance": {"en": "JS distance", "zh": "JS 距离"},
    "analysis.cosine_similarity": {"en": "cosine similarity", "zh": "余弦相似度"},
    "analysis.head_axis": {"en": "head (layer · head)", "zh": "头（层 · 头）"},
    "analysis.effective_rank": {"en": "effective rank", "zh": "有效秩"},
    "analysis.pattern_erank": {"en": "attention map", "zh": "注意力图"},
    "analysis.scores_erank": {"en": "scores q·kᵀ", "zh": "分数 q·kᵀ"},
    "analysis.rank90": {"en": "{n} directions hold 90% of the energy", "zh": "{n} 个方向占 90% 的能量"},
    "analysis.d_head_line": {"en": "d_head = {d}", "zh": "d_head = {d}"},
    "analysis.tokens_line": {"en": "T = {n} tokens (≤ d_head = {d})", "zh": "T = {n} 个词元（≤ d_head = {d}）"},
    "analysis.embeddings": {"en": "input", "zh": "输入"},
    "analysis.after_layer": {"en": "after L{layer}", "zh": "第 {layer} 层后"},
    "analysis.token_axis": {"en": "token", "zh": "词元"},
    "analysis.edge_layer": {"en": "layer {layer}", "zh": "第 {layer} 层"},
    "analysis.queries": {"en": "queries", "zh": "查询"},
    "analysis.keys": {"en": "keys", "zh": "键"},
    "analysis.pc_axis": {"en": "PC {n} ({share} of variance)", "zh": "主成分 {n}（占方差 {share}）"},
    "analysis.umap_axis": {"en": "UMAP {n}", "zh": "UMAP {n}"},
}
