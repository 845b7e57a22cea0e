"""pages/8_Head_importance.py and attnviz.figures.importance: ablating heads and what changes."""

TEXT: dict[str, dict[str, str]] = {
    "nav.importance": {"en": "Head importance", "zh": "注意力头的重要性"},
    "importance.title": {
        "en": "Head importance: switch heads off, see what changes",
        "zh": "注意力头的重要性：关掉一些头，看看有什么变化",
    },
    "importance.intro": {
        "en": "Each head adds its output z (its attention-weighted values) to the residual stream through the output projection. Here the chosen heads' z is replaced inside the model's real forward pass and everything after it is computed again: the same sentence, the same mask, only those heads changed.",
        "zh": "每个头把它的输出 z（按注意力加权的值向量）经过输出投影加进残差流。这里在模型真实的前向计算中替换所选头的 z，并重新计算其后的一切：句子相同，掩码相同，只有这些头变了。",
    },
    # the controls
    "importance.heads": {"en": "Heads to ablate", "zh": "要消融的头"},
    "importance.heads_help": {
        "en": "Several at once. “L2 H5” = layer 2, head 5. A click on a cell of the ranking's map below adds that head.",
        "zh": "可以同时选多个。“L2 H5” = 第 2 层第 5 个头。点击下方排名图中的格子，也会把那个头加进来。",
    },
    "importance.heads_placeholder": {"en": "No head: the model as it is", "zh": "未选择：模型保持原样"},
    "importance.how": {"en": "Ablation", "zh": "消融方式"},
    "importance.how_zero": {"en": "zero", "zh": "置零"},
    "importance.how_mean": {"en": "mean", "zh": "均值"},
    "importance.how_caption": {
        "en": "**Zero** sets the head's output z to 0 at every position, as if the head were cut out. **Mean** replaces the head's z at each position by the mean of its z over the positions that query may attend to, taken from the clean (unablated) forward: the head still adds its average contribution, but no longer reacts to this sentence. Why only the positions the query may see: under a causal mask, a mean over the whole sentence would hand each position a summary of tokens it is not allowed to see — for a language model, the very next token its loss is about.",
        "zh": "**置零**：在每个位置把这个头的输出 z 设为 0，就像把这个头剪掉。**均值**：在每个位置，把这个头的 z 换成它在该查询可以关注的那些位置上的 z 的平均值（取自未消融的干净前向计算）：这个头仍然贡献它的平均输出，但不再对这句话作出反应。为什么只对查询能看到的位置取平均：在因果掩码下，对整句取平均会把该位置不允许看到的词元的信息交给它——对语言模型来说，正是它的损失所要预测的下一个词元。",
    },
    "importance.mask_hint": {
        "en": "The masks in the sidebar apply to every forward on this page (clean, ablated and the ranking). Try the causal mask on MiniLM: a head that mattered may stop mattering, because it did its job by looking at the future.",
        "zh": "侧栏中的掩码作用于本页的每一次前向计算（干净的、消融后的以及排名）。在 MiniLM 上试试因果掩码：原本重要的头可能变得不再重要，因为它是靠看“未来”的词元来完成任务的。",
    },
    "importance.dropped": {
        "en": "Left out {n} head(s) that this model does not have or that could not be read: it has {layers} layers × {heads} heads (layers 0–{last_layer}, heads 0–{last_head}).",
        "zh": "已略去 {n} 个此模型没有或无法识别的头：此模型有 {layers} 层 × {heads} 个头（第 0–{last_layer} 层，第 0–{last_head} 个头）。",
    },
    "importance.nothing": {
        "en": "No head is ablated: pick heads above, or click a cell of the ranking's map below. The model runs as it is, so nothing changes (cosine 1, the same losses, no map moves).",
        "zh": "没有消融任何头：请在上方选择头，或点击下方排名图中的格子。模型保持原样运行，因此什么都不变（余弦为 1，损失相同，注意力图不动）。",
    },
    "importance.too_short": {
        "en": "A language model needs at least two tokens, one to read and one to predict: type a longer text.",
        "zh": "语言模型至少需要两个词元：一个用来读，一个用来预测。请输入更长的文本。",
    },
    # what changes
    "importance.effect_header": {"en": "What changes", "zh": "有什么变化"},
    "importance.effect_heads": {
        "en": "Ablated ({how}): {heads}. Mask: {mask}.",
        "zh": "已消融（{how}）：{heads}。掩码：{mask}。",
    },
    "importance.no_heads": {"en": "none", "zh": "无"},
    "importance.n_ablated": {"en": "Heads ablated", "zh": "已消融的头数"},
    "importance.cosine": {"en": "Sentence embedding: cosine to the original", "zh": "句向量与原来的余弦相似度"},
    "importance.cosine_help": {
        "en": "The mean of the last hidden states over the real tokens (as sentence-transformers pools MiniLM), ablated against clean. 1 = unchanged.",
        "zh": "最后一层隐藏状态在真实词元上的平均（sentence-transformers 对 MiniLM 的池化方式），消融后与干净的相比。1 表示没有变化。",
    },
    "importance.lowest_token": {"en": "Lowest token cosine", "zh": "最低的词元余弦"},
    "importance.loss_before": {"en": "Mean loss before (nats)", "zh": "消融前平均损失（nat）"},
    "importance.loss_after": {"en": "Mean loss after (nats)", "zh": "消融后平均损失（nat）"},
    "importance.loss_help": {
        "en": "Cross-entropy of each next-token prediction, averaged over the sentence: lower = better predictions.",
        "zh": "每个下一词元预测的交叉熵，对整句取平均：越低说明预测越好。",
    },
    "importance.loss_title": {
        "en": "Loss of each next-token prediction, before and after",
        "zh": "每个下一词元预测的损失：消融前与消融后",
    },
    "importance.cosine_title": {
        "en": "Each token's last hidden state:<br>cosine to the original",
        "zh": "每个词元最后一层隐藏状态<br>与原来的余弦相似度",
    },
    "importance.change_title": {
        "en": "Mean change of each head's attention weights",
        "zh": "每个头注意力权重的平均变化",
    },
    "importance.change_caption": {
        "en": "Each cell: the mean absolute change of that head's attention weights over the real queries and keys. A layer's maps are computed before its heads' outputs, so the first ablated layer and every layer before it stay exactly 0; only later layers can move. Largest single weight change: {max:.3f} ({head}).",
        "zh": "每个格子：这个头的注意力权重在真实查询与键上的平均绝对变化。一层的注意力图在该层各头的输出之前就算好了，所以第一个被消融的层及其之前的所有层都严格为 0；只有后面的层会变化。单个权重的最大变化：{max:.3f}（{head}）。",
    },
    "importance.change_none": {
        "en": "No map can move: no head is ablated, or only heads of the last layer (no layer comes after it).",
        "zh": "没有注意力图会移动：没有消融任何头，或者只消融了最后一层的头（它之后没有别的层）。",
    },
    "importance.change_skipped": {
        "en": "How far the later maps moved is computed for texts of up to {limit} tokens (this one has {n}): it needs every later layer's maps twice.",
        "zh": "后面各层注意力图的变化只对不超过 {limit} 个词元的文本计算（这段文本有 {n} 个）：它需要把后面每一层的注意力图算两遍。",
    },
    "importance.position": {"en": "Position of the prediction", "zh": "预测所在的位置"},
    "importance.position_help": {
        "en": "The model reads the text up to this token and predicts the next one.",
        "zh": "模型读到这个词元为止，然后预测下一个词元。",
    },
    "importance.topk_header": {
        "en": "**The five most likely next tokens** after {context}",
        "zh": "**最可能的五个下一词元**，在 {context} 之后",
    },
    "importance.true_next": {
        "en": "The text's actual next token is {token}: probability {before:.3f} before, {after:.3f} after.",
        "zh": "文本中实际的下一个词元是 {token}：消融前概率 {before:.3f}，消融后 {after:.3f}。",
    },
    "importance.last_position": {
        "en": "This is the last position: its prediction goes beyond the text, so it has no loss.",
        "zh": "这是最后一个位置：它的预测超出了文本，所以没有损失。",
    },
    "importance.rank_col": {"en": "#", "zh": "名次"},
    "importance.before_token": {"en": "before: token", "zh": "消融前：词元"},
    "importance.before_p": {"en": "before: probability", "zh": "消融前：概率"},
    "importance.after_token": {"en": "after: token", "zh": "消融后：词元"},
    "importance.after_p": {"en": "after: probability", "zh": "消融后：概率"},
    # the ranking
    "importance.rank_header": {"en": "Rank every head", "zh": "给每个头排名"},
    "importance.rank_button": {"en": "Rank every head", "zh": "给每个头排名"},
    "importance.rank_estimate": {
        "en": "Ablates each of the {heads} heads alone ({how}, under the sidebar's mask) and sorts them by effect: {forwards} copies of the sentence (the clean one and one per head), several run together in each forward call.",
        "zh": "逐个单独消融这 {heads} 个头（{how}，使用侧栏的掩码），并按影响大小排序：共 {forwards} 个句子副本（一个原样，每个头一个消融副本），每次前向调用同时计算其中若干个。",
    },
    "importance.rank_slow": {
        "en": "This model has {heads} heads: ranking them runs {forwards} copies of the sentence through the model and may take a while.",
        "zh": "此模型有 {heads} 个头：排名需要让模型计算 {forwards} 个句子副本，可能要等一会儿。",
    },
    "importance.rank_again": {
        "en": "The sentence, the mask or the ablation changed: click to rank again.",
        "zh": "句子、掩码或消融方式已改变：请再次点击排名。",
    },
    "importance.progress": {"en": "{done} / {total} heads ablated", "zh": "已消融 {done} / {total} 个头"},
    "importance.rank_done": {
        "en": "{ablations} heads ranked with {forwards} forward calls ({batch} ablated copies of the sentence in each) in {seconds:.2f} s. Effect = {metric}.",
        "zh": "用 {forwards} 次前向调用（每次 {batch} 个消融后的句子副本）在 {seconds:.2f} 秒内给 {ablations} 个头排了名。影响 = {metric}。",
    },
    "importance.metric_lm": {
        "en": "increase of the mean next-token loss (nats)",
        "zh": "下一词元平均损失的增加量（nat）",
    },
    "importance.metric_encoder": {"en": "1 − cosine of the sentence embedding", "zh": "1 − 句向量的余弦相似度"},
    "importance.effect_title": {"en": "Effect of ablating each head alone", "zh": "单独消融每个头的影响"},
    "importance.effect_caption": {
        "en": "Click a cell to add that head to the ablated set above; ablated heads are marked ×. A language model's effect can be negative: without that head, this sentence happens to be predicted better.",
        "zh": "点击一个格子，就会把那个头加入上方要消融的头；已消融的头用 × 标出。语言模型的影响可以是负数：去掉这个头后，这句话恰好被预测得更好。",
    },
    "importance.col_effect": {"en": "effect", "zh": "影响"},
    "importance.col_loss": {"en": "loss after (nats)", "zh": "消融后损失（nat）"},
    "importance.col_cosine": {"en": "cosine", "zh": "余弦"},
    # figure words
    "importance.before": {"en": "before (clean)", "zh": "消融前（干净）"},
    "importance.after": {"en": "after (ablated)", "zh": "消融后"},
    "importance.nats": {"en": "nats", "zh": "nat"},
    "importance.predicted_axis": {"en": "predicted token", "zh": "被预测的词元"},
    "importance.loss_axis": {"en": "loss (nats)", "zh": "损失（nat）"},
    "importance.token_axis": {"en": "token", "zh": "词元"},
    "importance.cosine_axis": {"en": "cosine to the original", "zh": "与原来的余弦相似度"},
    "importance.unchanged": {"en": "unchanged (1)", "zh": "未变（1）"},
    "importance.layer_axis": {"en": "layer", "zh": "层"},
    "importance.head_axis": {"en": "head", "zh": "头"},
    "importance.ablated_mark": {"en": "ablated", "zh": "已消融"},
    "importance.mean_change": {"en": "mean |Δ weight|", "zh": "平均 |Δ 权重|"},
    "importance.max_change": {"en": "max |Δ weight|", "zh": "最大 |Δ 权重|"},
    "importance.effect_value": {"en": "effect", "zh": "影响"},
}
