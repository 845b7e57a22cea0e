"""pages/3_Step_by_step.py."""

TEXT: dict[str, dict[str, str]] = {
    "steps.title": {"en": "Step by step: one head, one query", "zh": "逐步计算：一个头、一个查询"},
    "steps.caption": {
        "en": "Each panel shows numbers read from the model's real forward pass for the sentence below.",
        "zh": "每个面板中的数字都读取自模型对下面这句话的真实前向计算。",
    },
    "steps.query": {"en": "Query token", "zh": "查询词元"},
    "steps.dims": {"en": "Dimensions shown", "zh": "显示的维数"},
    "steps.dims_help": {
        "en": "Vectors have {d} dimensions per head; show all with the maximum.",
        "zh": "每个头的向量有 {d} 维；拉到最大即显示全部。",
    },
    "steps.h0": {"en": "0 · One projection, cut into heads", "zh": "0 · 一组投影矩阵，切分成多个头"},
    "steps.t0": {
        "en": "There is **one** W_Q of size {D} × {D}. “Multi-head” means its {D} output columns are cut into **{H} heads × {d} columns** (d_model = heads × d_head); head {head} uses only its own {d} columns. The same holds for W_K and W_V.",
        "zh": "只有**一个** {D} × {D} 的 W_Q。“多头”的意思是把它的 {D} 个输出列切成 **{H} 个头 × 每头 {d} 列**（d_model = 头数 × 每头维度）；第 {head} 个头只用自己的 {d} 列。W_K 和 W_V 也一样。",
    },
    "steps.h1": {"en": "1 · Input vectors x", "zh": "1 · 输入向量 x"},
    "steps.t1_layer0": {
        "en": "Layer 0's input is the token embedding **+** the position embedding (**+** the segment/type embedding), then LayerNorm.",
        "zh": "第 0 层的输入是词向量 **+** 位置向量（**+** 句段向量），再经过 LayerNorm。",
    },
    "steps.t1_later": {
        "en": "Layer {layer}'s input is layer {prev}'s output.",
        "zh": "第 {layer} 层的输入是第 {prev} 层的输出。",
    },
    "steps.t1_decoder": {
        "en": "Layer 0's input is the token's embedding row{positions}.",
        "zh": "第 0 层的输入是词元的嵌入向量{positions}。",
    },
    "steps.t1_learned_positions": {"en": " **+** a learned position row", "zh": " **+** 学到的位置向量"},
    "steps.t1_rotary_positions": {
        "en": " alone: positions enter later, by rotating q and k (RoPE, step 2b)",
        "zh": "本身：位置信息稍后通过旋转 q 和 k 加入（RoPE，见第 2b 步）",
    },
    "steps.layer0_input": {"en": "layer 0's input = x", "zh": "第 0 层的输入 = x"},
    "steps.prenorm": {
        "en": "A pre-norm model normalises x before the attention: the projections below read **norm(x)**, and the attention's output is added to x itself.",
        "zh": "前置归一化（pre-norm）模型在注意力之前先对 x 归一化：下面的投影读取的是 **norm(x)**，注意力的输出再加回 x 本身。",
    },
    "steps.attn_in_all": {
        "en": "norm(x) for every token: what W_Q, W_K, W_V read",
        "zh": "每个词元的 norm(x)：W_Q、W_K、W_V 读取的输入",
    },
    "steps.kv_shared_one": {
        "en": "Grouped-query attention: head {head} reads K/V head {kv}, which it shares with head {heads}; k and v below are that K/V head's.",
        "zh": "分组查询注意力（GQA）：第 {head} 个头读取第 {kv} 个 K/V 头，与第 {heads} 个头共享；下面的 k 和 v 都来自这个 K/V 头。",
    },
    "steps.kv_shared": {
        "en": "Grouped-query attention: head {head} reads K/V head {kv}, which it shares with heads {heads}; k and v below are that K/V head's.",
        "zh": "分组查询注意力（GQA）：第 {head} 个头读取第 {kv} 个 K/V 头，与第 {heads} 个头共享；下面的 k 和 v 都来自这个 K/V 头。",
    },
    "steps.h2b": {"en": "2b · Positions rotate q and k (RoPE)", "zh": "2b · 位置旋转 q 和 k（RoPE）"},
    "steps.t2b": {
        "en": "Each pair of dimensions of q and k is rotated by an angle proportional to the token's position, so q·k depends on how far apart the two tokens are. A rotation keeps each vector's length: |q| = {before:.3f} before, {after:.3f} after.",
        "zh": "q 和 k 的每一对维度按与词元位置成正比的角度旋转，于是 q·k 取决于两个词元相隔多远。旋转不改变向量长度：旋转前 |q| = {before:.3f}，旋转后 {after:.3f}。",
    },
    "steps.t2b_norm": {
        "en": "This model also normalises q and k per head before rotating them (qk-norm), so their lengths change between the two rows.",
        "zh": "这个模型在旋转之前还会按头对 q 和 k 归一化（qk-norm），所以两行之间长度会变化。",
    },
    "steps.q_before": {"en": "q before RoPE: x W_Q + b", "zh": "RoPE 之前的 q：x W_Q + b"},
    "steps.q_after": {"en": "q after RoPE (used in the scores)", "zh": "RoPE 之后的 q（用于计算得分）"},
    "steps.k_before": {"en": "k of “{token}” before RoPE", "zh": "RoPE 之前“{token}”的 k"},
    "steps.k_after": {"en": "k of “{token}” after RoPE", "zh": "RoPE 之后“{token}”的 k"},
    "steps.t9_prenorm": {
        "en": "The attention's output is added to x (the residual stream), then the feed-forward network reads a normalised copy and its output is added too.",
        "zh": "注意力的输出加回 x（残差流），然后前馈网络读取归一化后的副本，其输出也加回去。",
    },
    "steps.resid_add": {"en": "x + attention", "zh": "x + 注意力"},
    "steps.pre_compose_title": {"en": "Scores after pre-compose", "zh": "pre-compose 之后的得分"},
    "steps.pre_compose": {
        "en": "DCMHA: before the mask and softmax, each head's scores are composed with the other heads' (pre-compose); the softmax below reads these.",
        "zh": "DCMHA：在掩码和 softmax 之前，每个头的得分会与其他头的得分组合（pre-compose）；下面的 softmax 读取的是组合后的得分。",
    },
    "steps.post_compose_title": {
        "en": "Weights that mix v for “{token}”, after post-compose",
        "zh": "“{token}”用来加权 v 的权重（post-compose 之后）",
    },
    "steps.post_compose": {
        "en": "DCMHA: before mixing v, each head's softmax weights are composed with the other heads' (post-compose), so they need not sum to 1. The DCMHA page shows the compose matrix of every cell.",
        "zh": "DCMHA：在加权 v 之前，每个头的 softmax 权重会与其他头的权重组合（post-compose），因此不一定加起来等于 1。DCMHA 页面展示每个单元格的组合矩阵。",
    },
    "steps.word": {"en": "word “{token}”", "zh": "词“{token}”"},
    "steps.position": {"en": "position {n}", "zh": "位置 {n}"},
    "steps.type": {"en": "type 0", "zh": "句段 0"},
    "steps.sum": {"en": "sum", "zh": "相加"},
    "steps.after_ln": {"en": "after LayerNorm = x", "zh": "LayerNorm 之后 = x"},
    "steps.input_of": {"en": "Input of “{token}”", "zh": "“{token}”的输入"},
    "steps.x_all": {"en": "x for every token", "zh": "每个词元的 x"},
    "steps.h2": {
        "en": "2 · Head {head}'s slice of W_Q, W_K, W_V → q, k, v",
        "zh": "2 · 第 {head} 个头的 W_Q、W_K、W_V 切片 → q、k、v",
    },
    "steps.t2": {
        "en": "Each slice is {D} × {d}: the head's columns of the big matrix above.",
        "zh": "每个切片是 {D} × {d}：即上面大矩阵中属于这个头的列。",
    },
    "steps.q_of": {"en": "q of “{token}”", "zh": "“{token}”的 q"},
    "steps.q_title": {"en": "query vector q", "zh": "查询向量 q"},
    "steps.k_title": {"en": "key vectors k_j", "zh": "键向量 k_j"},
    "steps.v_title": {"en": "value vectors v_j", "zh": "值向量 v_j"},
    "steps.h3": {"en": "3 · Dot products q · k_j", "zh": "3 · 点积 q · k_j"},
    "steps.h4": {"en": "4 · Divided by √d_k = √{d} = {root:.3f}", "zh": "4 · 除以 √d_k = √{d} = {root:.3f}"},
    "steps.scaled_title": {"en": "q · k_j / √d_k  (the raw score)", "zh": "q · k_j / √d_k（原始分数）"},
    "steps.h5": {"en": "5 · The mask added", "zh": "5 · 加上掩码"},
    "steps.t5": {
        "en": "Mask: **{mask}**. Keys the query may not see get −∞, so softmax gives them exactly 0.",
        "zh": "掩码：**{mask}**。查询不能看到的键被设为 −∞，softmax 之后恰好为 0。",
    },
    "steps.masked_title": {"en": "score + mask", "zh": "分数 + 掩码"},
    "steps.h6": {"en": "6 · Softmax", "zh": "6 · Softmax 归一化"},
    "steps.probs_title": {
        "en": "attention weights of “{token}” (sum = {total:.4f})",
        "zh": "“{token}”的注意力权重（和 = {total:.4f}）",
    },
    "steps.h7": {
        "en": "7 · Weighted sum Σ p_j v_j → the head's output z",
        "zh": "7 · 加权求和 Σ p_j v_j → 这个头的输出 z",
    },
    "steps.z_of": {"en": "z of head {head}", "zh": "第 {head} 个头的 z"},
    "steps.h8": {"en": "8 · All {H} heads concatenated → W_O", "zh": "8 · 拼接全部 {H} 个头 → W_O"},
    "steps.t8": {
        "en": "{H} heads × {d} = {D} numbers; head {head}'s block starts at dimension {start}.",
        "zh": "{H} 个头 × {d} = {D} 个数；第 {head} 个头从第 {start} 维开始。",
    },
    "steps.concat_title": {"en": "concat(z¹ … zᴴ), one row per head", "zh": "concat(z¹ … zᴴ)，每行一个头"},
    "steps.after_wo": {"en": "after W_O", "zh": "经过 W_O 之后"},
    "steps.h9": {"en": "9 · The layer output", "zh": "9 · 这一层的输出"},
    "steps.t9": {
        "en": "Residual + LayerNorm, then the feed-forward network with its own residual + LayerNorm.",
        "zh": "残差连接 + LayerNorm，然后是前馈网络及其残差连接 + LayerNorm。",
    },
    "steps.x_input": {"en": "x (input)", "zh": "x（输入）"},
    "steps.attn_output": {"en": "attention output", "zh": "注意力输出"},
    "steps.ln_mid": {"en": "LayerNorm(x + attention)", "zh": "LayerNorm(x + 注意力)"},
    "steps.layer_output": {"en": "layer output", "zh": "层输出"},
    "steps.through": {"en": "“{token}” through layer {layer}", "zh": "“{token}”经过第 {layer} 层"},
    "steps.h7b": {
        "en": "7b · The same row, the way FlashAttention computes it",
        "zh": "7b · 同一行，按 FlashAttention 的方式计算",
    },
    "steps.key_window": {
        "en": "A long text ({n:,} tokens): the panels over keys show positions {a}–{b}, around the query (every key it may attend to when they fit). Its weight on the keys outside them: {outside:.4f}. The FlashAttention section below walks its whole row; every number is computed exactly from the captured q, k and the row's normaliser.",
        "zh": "长文本（{n:,} 个词元）：按键展开的各图只显示查询附近第 {a}–{b} 个位置（能放下时包含它可关注的所有键）。它落在这些键之外的权重：{outside:.4f}。下面的 FlashAttention 一节走完整行；每个数都由记录下的 q、k 和该行的归一化量精确算出。",
    },
    "steps.t7b": {
        "en": "FlashAttention never holds a whole row of weights: it reads the keys a block at a time, keeps the largest score so far (m) and the sum of exp(s − m) so far (l), and rescales both — and the output so far — by exp(m_before − m) whenever a block brings a larger score. Dividing the output by l at the end gives exactly the softmax's z.",
        "zh": "FlashAttention 从不保存一整行权重：它一次读取一块键，记住目前最大的得分（m）和目前 exp(s − m) 的总和（l）；每当新的一块带来更大的得分，就把这两者以及目前的输出乘以 exp(m_之前 − m) 重新缩放。最后把输出除以 l，得到的正是 softmax 的 z。",
    },
    "steps.flash_block": {"en": "Keys per block", "zh": "每块的键数"},
    "steps.col_keys": {"en": "keys", "zh": "键"},
    "steps.col_block_max": {"en": "block max", "zh": "块内最大值"},
    "steps.col_running_max": {"en": "running max m", "zh": "目前最大值 m"},
    "steps.col_rescale": {"en": "rescale exp(m_before − m)", "zh": "缩放 exp(m_之前 − m)"},
    "steps.col_block_sum": {"en": "block Σ exp(s − m)", "zh": "块内 Σ exp(s − m)"},
    "steps.col_running_sum": {"en": "running sum l", "zh": "目前总和 l"},
    "steps.flash_equal": {
        "en": "The end equals the ordinary softmax: max |Δz| = {dz:.1e}, max |Δp| = {dp:.1e}. Memory for this sentence, all heads: the whole maps hold {full:,} numbers ({kb_full:.1f} KB); keeping q, k, v's size and each row's m and l instead holds {linear:,} ({kb_linear:.1f} KB) — T² against T·d.",
        "zh": "最终结果与普通 softmax 相同：max |Δz| = {dz:.1e}，max |Δp| = {dp:.1e}。这句话所有头的内存：完整注意力图需要 {full:,} 个数（{kb_full:.1f} KB）；只保留 q、k、v 大小的量以及每行的 m 和 l 则需要 {linear:,} 个（{kb_linear:.1f} KB）——T² 对比 T·d。",
    },
    "steps.flash_scores": {
        "en": "Scores of the keys, and the running max m after each block",
        "zh": "各个键的得分，以及每块之后的当前最大值 m",
    },
    "steps.flash_sums": {
        "en": "Running sum l after each block (× the rescale of what came before)",
        "zh": "每块之后的当前总和 l（×：之前部分的缩放系数）",
    },
}
