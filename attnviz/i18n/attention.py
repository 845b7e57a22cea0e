"""The main Attention page (app.py's attention_page)."""

TEXT: dict[str, dict[str, str]] = {
    "main.title": {
        "en": "attnviz — multi-head attention, head by head",
        "zh": "attnviz — 多头注意力，一个头一个头地看",
    },
    "main.caption": {
        "en": "Queries on rows, keys on columns. Every number is read from the model's real forward pass.",
        "zh": "行是查询（Q），列是键（K）。每个数字都来自模型真实的前向计算。",
    },
    "main.layer": {"en": "Layer", "zh": "层"},
    "main.head": {"en": "Head", "zh": "头"},
    "main.head_title": {"en": "Layer {layer} · head {head}", "zh": "第 {layer} 层 · 第 {head} 个头"},
    "main.head_caption": {
        "en": "{n} tokens · mask: {mask} · grey cells are masked.",
        "zh": "{n} 个词元 · 掩码：{mask} · 灰色格子被遮住。",
    },
    "main.overview": {
        "en": "**All layers × all heads** — click a thumbnail to select that head.",
        "zh": "**所有层 × 所有头** —— 点击缩略图即可选中那个头。",
    },
    "main.padding_header": {"en": "Padding: both sentences as one batch", "zh": "填充：两个句子组成一个批次"},
    "main.padding_caption": {
        "en": "The shorter sentence is filled with [PAD]; its padded keys are masked (grey) so no query attends to them.",
        "zh": "较短的句子用 [PAD] 补齐；补齐的键被遮住（灰色），任何查询都不会关注它们。",
    },
    "main.sentence_n": {
        "en": "Sentence {n} · layer {layer} · head {head}",
        "zh": "句子 {n} · 第 {layer} 层 · 第 {head} 个头",
    },
    # Where information flows (ui/flow.py): rollout and attention flow across the layers
    "main.flow_toggle": {"en": "Where information flows", "zh": "信息流向哪里"},
    "main.flow_toggle_help": {
        "en": "Attention rollout and attention flow: which input tokens each token draws on, across all the layers. While it is off, the page computes nothing for it.",
        "zh": "注意力展开（rollout）与注意力流（attention flow）：跨越所有层，每个词元的信息来自哪些输入词元。关闭时，页面不为它做任何计算。",
    },
    "main.flow_header": {"en": "Where information flows", "zh": "信息流向哪里"},
    "main.flow_caption": {
        "en": "**Rollout** follows attention through the layers. Each layer's map is first mixed with the identity, for the residual connection that carries every token past the attention: A = r·I + (1 − r)·(the heads' map), rows renormalised. The layers are then multiplied: the rollout after layer l is Aₗ ⋯ A₀, and its row i says how much of token i after layer l comes from each input token. **Attention flow** reads the same layers as a network of pipes whose widths are these weights, and asks how much can flow from token i after layer l down to each input token (a max-flow problem), each row then normalised. Both are approximations of where information flows: they ignore the value vectors, the feed-forward layers and the sizes of what is mixed (Abnar & Zuidema 2020, *Quantifying Attention Flow in Transformers*).",
        "zh": "**注意力展开**（rollout）沿着各层追踪注意力。先把每层的注意力图与单位矩阵混合，单位矩阵代表残差连接（它让每个词元绕过注意力直接传到下一层）：A = r·I + (1 − r)·（各头合并后的图），每行重新归一化。然后把各层相乘：第 l 层之后的展开是 Aₗ ⋯ A₀，它的第 i 行表示第 l 层之后的词元 i 有多少来自每个输入词元。**注意力流**（attention flow）把同样的各层看成一张管道网络，管道的粗细就是这些权重，求从第 l 层之后的词元 i 往下最多能向每个输入词元流过多少（最大流问题），再把每行归一化。两者都只是信息流向的近似：它们不考虑值向量、前馈层以及被混合向量的大小（Abnar 与 Zuidema，2020，*Quantifying Attention Flow in Transformers*）。",
    },
    "main.blocks_toggle": {"en": "What a kernel can skip", "zh": "计算核可以跳过什么"},
    "main.blocks_toggle_help": {
        "en": "The chosen layer's mask cut into tiles, as FlashAttention and FlexAttention compute attention: a tile with no allowed cell is never computed.",
        "zh": "把所选层的掩码切成块，就像 FlashAttention 和 FlexAttention 计算注意力那样：没有任何可见格的块根本不计算。",
    },
    "main.blocks_what": {"en": "counting the mask's tiles", "zh": "统计掩码的分块"},
    "main.blocks_size": {"en": "Tile size", "zh": "块大小"},
    "main.blocks_size_help": {
        "en": "Query block × key block. GPU kernels use 64 or 128; a short sentence needs small tiles to show anything.",
        "zh": "查询块 × 键块。GPU 计算核使用 64 或 128；短句子要用小块才能看出区别。",
    },
    "main.blocks_caption": {
        "en": "{summary}. Layer {layer}: a blocked kernel skips the {skipped} grey tiles and computes {computed} of the {cells} cells ({share}); the amber tiles are computed, then masked cell by cell. A sliding window keeps the computed tiles near the diagonal, so the work grows with the text, not its square.",
        "zh": "{summary}。第 {layer} 层：分块计算核跳过 {skipped} 个灰色块，只计算 {cells} 个格中的 {computed} 个（{share}）；琥珀色的块先计算，再逐格遮蔽。滑动窗口让需要计算的块留在对角线附近，所以计算量随文本长度增长，而不是随它的平方增长。",
    },
    "main.flow_what": {"en": "computing where information flows", "zh": "计算信息的流向"},
    "main.flow_method": {"en": "Method", "zh": "方法"},
    "main.flow_method_help": {
        "en": "Rollout multiplies the layers' maps: instant. Attention flow solves one max-flow problem per layer, token and input token: offered up to {max} tokens.",
        "zh": "注意力展开把各层的图相乘，瞬间完成。注意力流要为每一层、每个词元和每个输入词元各解一个最大流问题：最多支持 {max} 个词元。",
    },
    "main.flow_method_rollout": {"en": "Rollout", "zh": "注意力展开（rollout）"},
    "main.flow_method_flow": {"en": "Attention flow", "zh": "注意力流（attention flow）"},
    "main.flow_heads": {"en": "Heads combined by", "zh": "各头的合并方式"},
    "main.flow_heads_help": {
        "en": "How a layer's heads become one map before the mixing: their mean (the paper's choice) or, cell by cell, their maximum.",
        "zh": "混合之前，一层的多个头如何合成一张图：取平均（论文的做法），或逐格取最大值。",
    },
    "main.flow_heads_mean": {"en": "mean", "zh": "平均"},
    "main.flow_heads_max": {"en": "max", "zh": "最大值"},
    "main.flow_residual": {"en": "Residual share r", "zh": "残差占比 r"},
    "main.flow_residual_help": {
        "en": "How much of each layer's mixed map is the identity (the residual connection): A = r·I + (1 − r)·attention. 50% is the paper's choice; 0% follows the attention alone.",
        "zh": "每层混合后的图中单位矩阵（残差连接）占多少：A = r·I + (1 − r)·注意力。50% 是论文的取值；0% 则只看注意力本身。",
    },
    "main.flow_layer": {"en": "After layer", "zh": "看第几层之后"},
    "main.flow_top_k": {"en": "Lines into each token (graph)", "zh": "图中每个词元的入线数"},
    "main.flow_top_k_help": {
        "en": "The graph draws, for every token in every layer, only its heaviest incoming lines.",
        "zh": "图中每一层的每个词元只画出权重最大的几条入线。",
    },
    "main.flow_too_long": {
        "en": "Attention flow is offered up to {max} tokens, and this text has {n}: it solves one max-flow problem per layer, token and input token ({problems} here), far too slow to wait for. The rollout is shown instead; shorten the text to see the flow.",
        "zh": "注意力流最多支持 {max} 个词元，而这段文本有 {n} 个：它要为每一层、每个词元和每个输入词元各解一个最大流问题（这里共 {problems} 个），慢得无法等待。下面改为显示注意力展开；缩短文本即可查看注意力流。",
    },
    "main.flow_signed": {
        "en": "This model composes its heads' maps (DCMHA), and the composed maps hold negative weights. Attention flow needs non-negative capacities, so it is not offered here; the rollout below multiplies signed weights, outside what the method assumes: read it with care.",
        "zh": "这个模型会组合各头的注意力图（DCMHA），组合后的图含有负权重。注意力流要求容量非负，所以这里不提供；下面的注意力展开把带符号的权重相乘，超出了这个方法的前提，请谨慎解读。",
    },
    "main.flow_spinner": {
        "en": "Computing attention flow: {problems} max-flow problems (a few seconds at 32 tokens, 10–15 s at 64)…",
        "zh": "正在计算注意力流：共 {problems} 个最大流问题（32 个词元需要几秒，64 个需要 10–15 秒）……",
    },
    "main.rollout_title": {
        "en": "Rollout after layer {layer} · heads: {heads} · r = {residual}",
        "zh": "注意力展开：第 {layer} 层之后 · 头：{heads} · r = {residual}",
    },
    "main.flowmap_title": {
        "en": "Attention flow after layer {layer} · heads: {heads} · r = {residual}",
        "zh": "注意力流：第 {layer} 层之后 · 头：{heads} · r = {residual}",
    },
    "main.flow_map_caption": {
        "en": "Row: a token after layer {layer}; column: the input token its information comes from; every row sums to 100%. Grey: no path through the masks reaches that cell (a causal mask keeps everything on or below the diagonal; a window widens by its width with every layer).",
        "zh": "行：第 {layer} 层之后的一个词元；列：它的信息来自的输入词元；每行加起来是 100%。灰色：穿过各层掩码没有任何路径能到达这个格子（因果掩码让一切都留在对角线上或以下；窗口每经过一层就扩大一个窗口宽度）。",
    },
    "main.flow_rows_axis": {"en": "token after layer {layer}", "zh": "第 {layer} 层之后的词元"},
    "main.flow_columns_axis": {"en": "input token", "zh": "输入词元"},
    "main.flow_hidden_note": {
        "en": "The hidden special tokens still take part in the computation; only their columns are left out, so a row may show less than 100%.",
        "zh": "被隐藏的特殊词元仍然参与计算，只是没有画出它们的列，所以一行加起来可能不到 100%。",
    },
    "main.flow_graph_title": {
        "en": "Token graph: the {k} heaviest lines into each token",
        "zh": "词元图：每个词元权重最大的 {k} 条入线",
    },
    "main.flow_graph_caption": {
        "en": "One column per layer boundary (the input, then after each layer); a line joins token j to token i one layer up, as wide as A[i, j], the residual-mixed attention that rollout and flow both read. The horizontal lines are mostly the residual connection: set r to 0% to see the attention alone.",
        "zh": "每一列是一个层的边界（先是输入，然后是每一层之后）；一条线把词元 j 连到上一层的词元 i，线的粗细是 A[i, j]，即注意力展开和注意力流共同使用的、混入残差后的注意力。水平线大多是残差连接：把 r 调到 0% 就只看注意力本身。",
    },
    # Queries and keys in one space (ui/flow.py)
    "main.qk_toggle": {"en": "Queries and keys in one space", "zh": "查询和键放进同一空间"},
    "main.qk_toggle_help": {
        "en": "The chosen head's queries and keys in one 2-D picture: a query tends to sit near the keys it attends to.",
        "zh": "把所选注意力头的查询和键画进同一张二维图：一个查询往往靠近它所关注的键。",
    },
    "main.qk_header": {"en": "Queries and keys in one space", "zh": "查询和键在同一空间"},
    "main.qk_caption": {
        "en": "A head attends from query q to key k by q·k. Here both are drawn in one 2-D picture, fitted on both at once, after two changes that leave every attention weight as it was: the queries are scaled by c and the keys by 1/c (so both sets have the same mean length), and the keys are shifted onto the queries' centre (a shift adds the same amount to all of one query's scores, which the softmax cancels). Then, among keys of similar length, the one a query scores highest is the nearest. After AttentionViz (Yeh et al. 2023).",
        "zh": "注意力头用 q·k 决定查询 q 对键 k 的关注程度。这里把两者放进同一张二维图，并且一起拟合。拟合前做了两处不改变任何注意力权重的变换：查询乘以 c、键除以 c（使两组向量的平均长度相同）；再把键平移到查询的中心（平移会让同一个查询的所有分数加上同一个数，softmax 会把它抵消）。这样，在长度相近的键之中，查询得分最高的键就是离它最近的那个。方法参照 AttentionViz（Yeh 等，2023）。",
    },
    "main.qk_what": {"en": "projecting this head's queries and keys", "zh": "投影这个头的查询和键"},
    "main.qk_method": {"en": "Projection", "zh": "投影方法"},
    "main.qk_method_help": {
        "en": "PCA keeps the directions of largest variance, and says how much of it it keeps. UMAP keeps each point's neighbours; its first use on this server compiles its code (10–15 s), later pictures take a second or more.",
        "zh": "PCA 保留方差最大的方向，并说明保留了多少方差。UMAP 保留每个点的近邻；它在本服务器上第一次使用时要先编译代码（10–15 秒），之后每张图需要一秒或更久。",
    },
    "main.qk_method_pca": {"en": "PCA (instant)", "zh": "主成分分析 PCA（即时）"},
    "main.qk_method_umap": {"en": "UMAP (slower)", "zh": "UMAP（较慢）"},
    "main.qk_umap_spinner": {
        "en": "Running UMAP (its first use on this server compiles its code: 10–15 s)…",
        "zh": "正在运行 UMAP（在本服务器上第一次使用时要先编译代码：10–15 秒）……",
    },
    "main.qk_umap_failed": {
        "en": "UMAP could not lay out these {n} tokens; the PCA picture is shown instead.",
        "zh": "UMAP 无法为这 {n} 个词元排布位置，下面改为显示 PCA 的图。",
    },
    "main.qk_title": {
        "en": "Layer {layer} · head {head}: queries and keys ({method})",
        "zh": "第 {layer} 层 · 第 {head} 个头：查询和键（{method}）",
    },
    "main.qk_pca_caption": {
        "en": "The picture's two axes hold {share} of the variance of the aligned queries and keys (PC 1: {pc1}, PC 2: {pc2}); the rest of their {d} dimensions is not drawn, so a distance here is an approximation.",
        "zh": "图中两条坐标轴保留了变换后查询和键 {share} 的方差（主成分 1：{pc1}，主成分 2：{pc2}）；它们 {d} 维中其余的部分没有画出来，所以图上的距离只是近似。",
    },
    "main.qk_umap_caption": {
        "en": "UMAP keeps each point's nearest neighbours, not distances or variance: its axes have no units and there is no share of variance to report. Its layout comes from a fixed random seed.",
        "zh": "UMAP 保留每个点的近邻，而不是距离或方差：它的坐标轴没有单位，也没有可报告的方差占比。它的布局来自一个固定的随机种子。",
    },
    "main.qk_nearby": {
        "en": "In this picture, {share} of queries ({hits} of {n}) have their most-attended key among their {k} nearest keys; {k} keys picked at random would catch it {chance} of the time.",
        "zh": "在这张图中，{share} 的查询（{n} 个中的 {hits} 个）关注最多的键位于离它最近的 {k} 个键之中；随机挑 {k} 个键，命中的概率是 {chance}。",
    },
    "main.qk_gqa": {
        "en": "Query head {head} reads K/V head {kv}: {group} query heads share its keys (grouped-query attention).",
        "zh": "查询头 {head} 读取 K/V 头 {kv}：{group} 个查询头共用它的键（分组查询注意力）。",
    },
    "main.qk_special_note": {
        "en": "Special tokens are drawn here even though the sidebar hides them from the maps: they are part of the head's geometry.",
        "zh": "虽然侧边栏在注意力图中隐藏了特殊词元，这里仍然画出它们：它们也是这个头几何结构的一部分。",
    },
    "main.long_whole": {
        "en": "A long text ({n} tokens): every head's whole map is {n} × {n}, so it is shown as {blocks} × {blocks} blocks, each coloured by the exact mean of its cells or by its strongest cell (the choice above; hover: the block's strongest cell, its weight and raw score). Drag a box over the map to see that region; up to {tile} tokens a side it is drawn cell by cell, with the tokens.",
        "zh": "长文本（{n} 个词元）：每个头的完整注意力图是 {n} × {n}，因此这里显示为 {blocks} × {blocks} 个块，每块的颜色是其中各格的精确平均或块内最强格子的权重（由上方的选项决定；悬停可看到块内最强的格子、它的权重和原始分数）。在图上拖出一个方框即可查看那个区域；边长不超过 {tile} 个词元时逐格绘制，并标出词元。",
    },
    "main.long_zoomed": {
        "en": "Zoomed: queries {a}–{b} × keys {c}–{d}, computed exactly from the captured q, k and each row's normaliser. Drag again to zoom further (cell by cell from {tile} tokens a side).",
        "zh": "已放大：查询 {a}–{b} × 键 {c}–{d}，由记录下的 q、k 和每行的归一化量精确算出。再拖一次可继续放大（边长不超过 {tile} 个词元时逐格绘制）。",
    },
    "main.blocks_show": {"en": "Each block shows", "zh": "每个块显示"},
    "main.blocks_mean": {"en": "the mean of its cells", "zh": "各格的平均"},
    "main.blocks_max": {"en": "its strongest cell", "zh": "最强的格子"},
    "main.blocks_show_help": {
        "en": "The mean shows where the head's weight goes in total. The strongest cell keeps sharp patterns visible — a diagonal, one key every query reads — that a mean over a block of many cells dilutes to almost nothing.",
        "zh": "平均显示这个头的权重总体流向哪里。最强的格子让尖锐的模式保持可见（一条对角线、所有查询都读取的某个键），而块内许多格子的平均会把它们稀释得几乎看不见。",
    },
    "main.long_reset": {"en": "Whole map", "zh": "整张图"},
    "main.long_special_kept": {
        "en": "“Hide [CLS]/[SEP]” applies to maps drawn whole: a long text's blocks and zoomed regions keep every token, so each block's mean stays the mean of the real weights.",
        "zh": "“隐藏 [CLS]/[SEP]”只作用于整张绘制的注意力图：长文本的块和放大区域保留所有词元，因此每块的平均仍是真实权重的平均。",
    },
    "main.long_no_flow": {
        "en": "Rollout, flow and the query/key picture need every layer's whole map: they are offered for texts whose maps are stored whole (this one has {n} tokens).",
        "zh": "注意力展开、注意力流和查询/键分布图需要每一层的完整注意力图：只对注意力图整张保存的文本提供（这段文本有 {n} 个词元）。",
    },
}
