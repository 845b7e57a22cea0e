"""Interface text in English and Chinese. Every user-facing string of the app has a key here."""

from __future__ import annotations

LANGUAGE_NAMES = {"en": "English", "zh": "中文"}

MESSAGES: dict[str, dict[str, str]] = {
    # page navigation
    "nav.main": {"en": "Attention", "zh": "注意力"},
    "nav.compare": {"en": "Compare heads", "zh": "比较注意力头"},
    "nav.dcmha": {"en": "DCMHA", "zh": "DCMHA 动态组合"},
    "nav.steps": {"en": "Step by step", "zh": "逐步计算"},
    "nav.order": {"en": "Word order", "zh": "词序与位置"},
    "nav.seq2seq": {"en": "Encoder-decoder", "zh": "编码器-解码器"},
    "nav.generation": {"en": "Generation", "zh": "生成"},
    "nav.presenter": {"en": "Presenter", "zh": "演示模式"},
    # shared controls (sidebar)
    "sidebar.model": {"en": "Model", "zh": "模型"},
    "sidebar.model_help": {
        "en": "The models this server offers. Whoever starts the app adds a local Hugging Face model folder (BERT-family, GPT-2, Llama, Qwen2, Mistral, Gemma 2) with `-- --model /path/to/dir` (or the ATTNVIZ_MODELS setting); a link can only pick among these.",
        "zh": "本服务器提供的模型。启动应用的人可用 `-- --model /本地/模型目录`（或 ATTNVIZ_MODELS 设置）加入本地的 Hugging Face 模型（BERT 类、GPT-2、Llama、Qwen2、Mistral、Gemma 2）；链接只能在这些模型中选择。",
    },
    "sidebar.sizes": {"en": "{layers} layers · {heads} heads · d_head {d}", "zh": "{layers} 层 · {heads} 个头 · d_head {d}"},
    "sidebar.sizes_gqa": {
        "en": "{layers} layers · {heads} query heads · {kv} K/V heads (grouped-query attention: each K/V head serves {group} query heads) · d_head {d}",
        "zh": "{layers} 层 · {heads} 个查询头 · {kv} 个 K/V 头（分组查询注意力：每个 K/V 头服务 {group} 个查询头）· d_head {d}",
    },
    "sidebar.masks": {"en": "Masks", "zh": "掩码"},
    "sidebar.causal": {"en": "Causal (subsequent) mask", "zh": "因果掩码（subsequent mask）"},
    "sidebar.causal_help": {"en": "Each query sees only itself and earlier keys.", "zh": "每个查询只能看到自己和之前的键。"},
    "sidebar.window": {"en": "Sliding window", "zh": "滑动窗口"},
    "sidebar.window_size": {"en": "Window size w", "zh": "窗口大小 w"},
    "sidebar.window_help": {
        "en": "Query i sees keys j with |i − j| < w: w keys with the causal mask (itself and w−1 before), 2w−1 without.",
        "zh": "查询 i 只能看到 |i − j| < w 的键 j：加因果掩码时是 w 个键（自己和前 w−1 个），不加时是 2w−1 个。",
    },
    "sidebar.chunk": {"en": "Chunked attention", "zh": "分块注意力"},
    "sidebar.chunk_size": {"en": "Chunk size c", "zh": "块大小 c"},
    "sidebar.chunk_help": {
        "en": "The sequence is cut into blocks of c tokens; attention stays inside a block.",
        "zh": "序列被切成每块 c 个词，注意力只在块内计算。",
    },
    "sidebar.hide_special": {"en": "Hide [CLS] / [SEP] in the plots", "zh": "图中隐藏 [CLS] / [SEP]"},
    "sidebar.hide_special_help": {
        "en": "Only the drawing changes: the model still attends to them, so shown rows may sum to less than 1.",
        "zh": "只改变显示：模型仍然关注它们，所以显示出来的每行之和可能小于 1。",
    },
    "sidebar.padding": {"en": "Padding", "zh": "填充"},
    "sidebar.text2": {"en": "Second sentence (padding demo)", "zh": "第二个句子（填充演示）"},
    "sidebar.text2_help": {
        "en": "Both sentences run as one padded batch; the shorter one's [PAD] keys are masked.",
        "zh": "两个句子作为一个批次运行；较短句子的 [PAD] 键被掩码遮住。",
    },
    "input.sentence": {"en": "Sentence", "zh": "句子"},
    "input.sentence_help": {
        "en": "Type any text and press Enter. Long texts are cut to the model's limit.",
        "zh": "输入任意文本后按回车。过长的文本会被截断到模型的长度上限。",
    },
    # messages
    "msg.empty": {"en": "Type a sentence to see its attention: the text is empty.", "zh": "请输入一句话来查看注意力：文本为空。"},
    "msg.only_control": {
        "en": "The text holds only control characters, invisible formatting characters or spaces; type some words.",
        "zh": "文本中只有控制字符、不可见的格式字符或空格，请输入一些词。",
    },
    "msg.control_removed": {"en": "Removed {count} control character(s) from the text.", "zh": "已从文本中删除 {count} 个控制字符。"},
    "msg.invisible_removed": {
        "en": "Removed {count} invisible formatting character(s) (bidi overrides, zero-width spaces) from the text.",
        "zh": "已从文本中删除 {count} 个不可见的格式字符（双向文本控制符、零宽空格等）。",
    },
    "msg.chars_cut": {"en": "The text was cut to its first {count:,} characters.", "zh": "文本被截断为前 {count:,} 个字符。"},
    "msg.second_ignored": {"en": "Second sentence ignored: {error}", "zh": "已忽略第二个句子：{error}"},
    "msg.model_failed": {"en": "Could not load the model “{name}”: {error}", "zh": "无法加载模型“{name}”：{error}"},
    # the error boundary (ui/errors.py): what failed, and what to do
    "error.failed": {
        "en": "Something went wrong while {what}. Your inputs are kept: change one (or reload the page) to try again. The details are in the server's log.",
        "zh": "{what}时出错了。你的输入都保留着：改动任意一项（或刷新页面）即可重试。详细信息记录在服务器日志中。",
    },
    "error.capture": {"en": "running the model on your text", "zh": "用模型处理你的文本"},
    "error.model": {"en": "loading the model", "zh": "加载模型"},
    "error.generation": {"en": "generating text with this model", "zh": "用这个模型生成文本"},
    "error.steps": {"en": "computing the steps of this head", "zh": "计算这个注意力头的各个步骤"},
    "error.order": {"en": "comparing the two word orders", "zh": "比较两种词序"},
    "error.positions": {"en": "drawing the position embeddings", "zh": "绘制位置编码"},
    "error.dcmha": {"en": "running the DCFormer on your text", "zh": "用 DCFormer 处理你的文本"},
    "error.sandbox": {"en": "running the MiniLM sandbox", "zh": "运行 MiniLM 实验区"},
    "error.decode": {"en": "rewriting the date", "zh": "改写日期"},
    "error.slide": {"en": "drawing this slide", "zh": "绘制这张幻灯片"},
    "error.lesson": {"en": "reading the lesson", "zh": "读取课程文件"},
    "msg.model_has_own_page": {
        "en": "{name} is an encoder-decoder model: it is shown on the Encoder-decoder page. Showing {model} here.",
        "zh": "{name} 是编码器-解码器模型，请在“编码器-解码器”页面查看。此处改为显示 {model}。",
    },
    "msg.model_not_offered": {
        "en": "The link asked for a model this server does not offer; showing {model} instead.",
        "zh": "链接指定的模型不在本服务器提供的模型之列，改为显示 {model}。",
    },
    "msg.link_without_text": {
        "en": "This text is longer than {n:,} characters, so the page's link does not carry it: a copied link opens the example sentence.",
        "zh": "这段文本超过 {n:,} 个字符，所以页面链接里不包含它：复制的链接会打开示例句子。",
    },
    # the class password (ui/gate.py)
    "gate.password": {"en": "Class password", "zh": "课堂密码"},
    "gate.enter": {"en": "Enter", "zh": "进入"},
    "gate.wrong": {"en": "That is not the class password. Ask your teacher for it.", "zh": "密码不对，请向老师询问课堂密码。"},
    "msg.padding_needs_bert": {
        "en": "The padding comparison needs a model that takes padded batches (the character models take one text at a time); the second sentence is ignored.",
        "zh": "填充对比需要能处理填充批次的模型（字符模型一次只处理一段文本），已忽略第二个句子。",
    },
    "msg.unknown_chars": {
        "en": "{model} never saw these characters in training; they are read as <unk>: {chars}",
        "zh": "{model} 训练时没见过这些字符，它们被当作 <unk>：{chars}",
    },
    "msg.beyond_context": {
        "en": "{model} was trained on texts of {context} characters; positions {context}–{n} are beyond what it learned, so its attention there extrapolates.",
        "zh": "{model} 训练时的文本长度为 {context} 个字符；位置 {context}–{n} 超出了它学过的范围，那里的注意力是外推的结果。",
    },
    "msg.decoder_note": {
        "en": "{model} is a causal language model: every layer already uses the causal mask. Its layers' windows, as applied now, are {windows} (None = global); the window slider changes them.",
        "zh": "{model} 是因果语言模型：每一层本来就使用因果掩码。各层当前实际使用的窗口为 {windows}（None 表示全局）；窗口滑块会改变它们。",
    },
    "msg.truncated_first": {
        "en": "The text has {n:,} tokens; {model} reads at most {limit}, so only the first {limit} are shown.",
        "zh": "文本有 {n:,} 个词元；{model} 最多读取 {limit} 个，因此只显示前 {limit} 个。",
    },
    "msg.truncated_second": {
        "en": "The second sentence has {n:,} tokens; {model} reads at most {limit}, so only the first {limit} are shown.",
        "zh": "第二个句子有 {n:,} 个词元；{model} 最多读取 {limit} 个，因此只显示前 {limit} 个。",
    },
    "msg.decoder_intervention": {
        "en": "**Intervention:** {model} was trained with the windows {trained}; the {mask} setting narrows what its layers see beyond that, so these patterns show how the model copes with a restriction it was never trained with.",
        "zh": "**干预**：{model} 训练时使用的窗口是 {trained}；{mask} 设置进一步限制了各层能看到的内容，因此这些注意力图显示的是模型如何应对一种训练时从未见过的限制。",
    },
    "msg.window_changes_nothing": {
        "en": "The window w = {w} changes nothing here: every layer of {model} already sees at most that far ({trained}).",
        "zh": "窗口 w = {w} 在这里不起作用：{model} 的每一层本来就最多看这么远（{trained}）。",
    },
    "msg.intervention": {
        "en": "**Intervention:** this model is a bidirectional encoder trained to see every token. The {mask} mask changes what every layer sees, so these patterns show how the model copes with a restriction it was never trained with — not how it normally works.",
        "zh": "**干预**：这个模型是双向编码器，训练时能看到所有词。{mask} 掩码改变了每一层能看到的内容，因此这些注意力图显示的是模型如何应对一种训练时从未见过的限制，而不是它平时的工作方式。",
    },
    # mask descriptions
    "mask.causal": {"en": "causal", "zh": "因果"},
    "mask.window": {"en": "window {w}", "zh": "窗口 {w}"},
    "mask.chunk": {"en": "chunk {c}", "zh": "分块 {c}"},
    "mask.none": {"en": "no mask (padding only)", "zh": "无掩码（仅填充）"},
    # main page
    "main.page_title": {"en": "attnviz — multi-head attention", "zh": "attnviz — 多头注意力"},
    "main.title": {"en": "attnviz — multi-head attention, head by head", "zh": "attnviz — 多头注意力，一个头一个头地看"},
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
    "main.sentence_n": {"en": "Sentence {n} · layer {layer} · head {head}", "zh": "句子 {n} · 第 {layer} 层 · 第 {head} 个头"},
    # compare page
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
    "stat.mean_distance_help": {"en": "How many tokens away a query looks, weighted by attention.", "zh": "按注意力加权，查询平均看向多远（多少个词元）。"},
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
    "stat.sep_help": {"en": "Share given to [SEP] (often a 'no-op' sink).", "zh": "分给 [SEP] 的比例（常被当作“无操作”的汇点）。"},
    # word-order page
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
    "order.not_reordering": {
        "en": "B is not a reordering of A's tokens, so there is no cell-by-cell difference to show.",
        "zh": "句子 B 不是句子 A 的词元重新排列，因此无法逐格比较差异。",
    },
    "order.diff_title": {"en": "A − B, with B's rows and columns put in A's word order", "zh": "A − B（把 B 的行和列按 A 的词序排列）"},
    "order.diff_caption": {
        "en": "Largest change: {value:.3f}. Were attention blind to order, this map would be all zero: the same word pairs would get the same weights.",
        "zh": "最大变化：{value:.3f}。如果注意力对顺序完全无感，这张图会全部为零：相同的词对会得到相同的权重。",
    },
    "order.pe_header": {"en": "Positional encoding", "zh": "位置编码"},
    "order.positions": {"en": "Positions shown", "zh": "显示的位置数"},
    "order.sin_title": {"en": "Sinusoidal encoding (Transformer paper), {n} × {d}", "zh": "正弦位置编码（Transformer 论文），{n} × {d}"},
    "order.learned_title": {"en": "{model}: learned position embeddings", "zh": "{model}：学到的位置向量"},
    "order.similarity": {
        "en": "How similar are positions to each other? (cosine similarity of their vectors)",
        "zh": "不同位置之间有多相似？（位置向量的余弦相似度）",
    },
    "order.rope_title": {"en": "{model}: RoPE, cos of each pair's angle (base {base}, d_head {d})", "zh": "{model}：RoPE，每对维度旋转角的余弦（base {base}，d_head {d}）"},
    "order.rope_pair": {"en": "pair of dimensions j", "zh": "维度对 j"},
    "order.rope_text": {
        "en": "This model adds no position vector: it **rotates** each pair of dimensions of q and k by an angle proportional to the position (RoPE). Fast pairs (left) tell near positions apart, slow pairs (right) far ones.",
        "zh": "这个模型不加位置向量，而是把 q 和 k 的每一对维度按与位置成正比的角度**旋转**（RoPE）。转得快的维度对（左）区分相近的位置，转得慢的（右）区分相距较远的位置。",
    },
    "order.sim_rope": {"en": "RoPE: cos between rotated copies of one vector", "zh": "RoPE：同一向量旋转后的余弦相似度"},
    "order.sim_rope_caption": {
        "en": "Each diagonal is constant: after rotation, q·k depends only on how far apart two tokens are (m − n), not where they are.",
        "zh": "每条对角线上的值都相同：旋转之后 q·k 只取决于两个词元相隔多远（m − n），与它们所在的位置无关。",
    },
    "order.no_positions": {"en": "{model} has no position encoding this page can show.", "zh": "{model} 没有本页可以展示的位置编码。"},
    "order.sim_sin": {"en": "sinusoidal", "zh": "正弦编码"},
    "order.sim_learned": {"en": "learned", "zh": "学到的位置向量"},
    "order.sim_caption": {
        "en": "Both give nearby positions similar vectors: the model can tell near from far.",
        "zh": "两者都让相邻的位置有相似的向量：模型能区分远近。",
    },
    # step-by-step page
    "steps.title": {"en": "Step by step: one head, one query", "zh": "逐步计算：一个头、一个查询"},
    "steps.caption": {
        "en": "Each panel shows numbers read from the model's real forward pass for the sentence below.",
        "zh": "每个面板中的数字都读取自模型对下面这句话的真实前向计算。",
    },
    "steps.query": {"en": "Query token", "zh": "查询词元"},
    "steps.dims": {"en": "Dimensions shown", "zh": "显示的维数"},
    "steps.dims_help": {"en": "Vectors have {d} dimensions per head; show all with the maximum.", "zh": "每个头的向量有 {d} 维；拉到最大即显示全部。"},
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
    "steps.t1_later": {"en": "Layer {layer}'s input is layer {prev}'s output.", "zh": "第 {layer} 层的输入是第 {prev} 层的输出。"},
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
    "steps.attn_in_all": {"en": "norm(x) for every token: what W_Q, W_K, W_V read", "zh": "每个词元的 norm(x)：W_Q、W_K、W_V 读取的输入"},
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
    "steps.post_compose_title": {"en": "Weights that mix v for “{token}”, after post-compose", "zh": "“{token}”用来加权 v 的权重（post-compose 之后）"},
    "steps.post_compose": {
        "en": "DCMHA: before mixing v, each head's softmax weights are composed with the other heads' (post-compose), so they need not sum to 1. The DCMHA page shows the compose matrix of every cell.",
        "zh": "DCMHA：在加权 v 之前，每个头的 softmax 权重会与其他头的权重组合（post-compose），因此不一定加起来等于 1。DCMHA 页面展示每个单元格的组合矩阵。",
    },
    "gen.title": {"en": "Generation: the KV cache, one row at a time", "zh": "生成：KV 缓存，一次一行"},
    "gen.intro": {
        "en": "A decoder writes one token at a time. The prompt is read once; then each new token is fed back alone: its **query** is a single row, and the **keys and values** it reads come from the cache, which grows by one row per step. The numbers are exactly those of a full forward over the final text.",
        "zh": "解码器一次写一个词元。提示只读一次；之后每个新词元单独送回模型：它的**查询**只有一行，它读取的**键和值**来自缓存，缓存每一步增加一行。这些数值与对最终文本做一次完整前向计算的结果完全相同。",
    },
    "gen.model": {"en": "Decoder", "zh": "解码器"},
    "gen.prompt": {"en": "Prompt", "zh": "提示"},
    "gen.n_new": {"en": "Tokens to generate", "zh": "生成的词元数"},
    "gen.output": {"en": "{prompt}**{new}**", "zh": "{prompt}**{new}**"},
    "gen.step": {"en": "Step", "zh": "步"},
    "gen.step_text": {
        "en": "Step {k}: “{token}” (position {position}) is fed back. Its query reads {keys} cached keys (positions {start}–{position}); the cache now holds K and V for {layers} layers × {kv} K/V heads: {kb:.1f} KB.",
        "zh": "第 {k} 步：“{token}”（位置 {position}）被送回模型。它的查询读取 {keys} 个缓存中的键（位置 {start}–{position}）；缓存现在保存 {layers} 层 × {kv} 个 K/V 头的 K 和 V：{kb:.1f} KB。",
    },
    "gen.map_title": {"en": "Layer {layer} · head {head}: every row so far (step {k} framed)", "zh": "第 {layer} 层 · 第 {head} 个头：目前为止的每一行（框出第 {k} 步）"},
    "gen.map_caption": {
        "en": "The prompt's rows come from reading it once; below them, one row per generated token, over the keys the cache held (a sliding-window layer keeps only its latest keys: the older ones stay blank).",
        "zh": "提示部分的各行来自一次性读取提示；其下每个生成的词元一行，覆盖缓存当时保存的键（滑动窗口层只保留最新的键：更早的位置留空）。",
    },
    "gen.probs_title": {"en": "Step {k}: the choice of this token", "zh": "第 {k} 步：选择这个词元"},
    "steps.word": {"en": "word “{token}”", "zh": "词“{token}”"},
    "steps.position": {"en": "position {n}", "zh": "位置 {n}"},
    "steps.type": {"en": "type 0", "zh": "句段 0"},
    "steps.sum": {"en": "sum", "zh": "相加"},
    "steps.after_ln": {"en": "after LayerNorm = x", "zh": "LayerNorm 之后 = x"},
    "steps.input_of": {"en": "Input of “{token}”", "zh": "“{token}”的输入"},
    "steps.x_all": {"en": "x for every token", "zh": "每个词元的 x"},
    "steps.h2": {"en": "2 · Head {head}'s slice of W_Q, W_K, W_V → q, k, v", "zh": "2 · 第 {head} 个头的 W_Q、W_K、W_V 切片 → q、k、v"},
    "steps.t2": {"en": "Each slice is {D} × {d}: the head's columns of the big matrix above.", "zh": "每个切片是 {D} × {d}：即上面大矩阵中属于这个头的列。"},
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
    "steps.probs_title": {"en": "attention weights of “{token}” (sum = {total:.4f})", "zh": "“{token}”的注意力权重（和 = {total:.4f}）"},
    "steps.h7": {"en": "7 · Weighted sum Σ p_j v_j → the head's output z", "zh": "7 · 加权求和 Σ p_j v_j → 这个头的输出 z"},
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
    "slide.before_post": {"en": "before post-compose · layer {layer} · head {head}", "zh": "后组合（post-compose）之前 · 第 {layer} 层 · 第 {head} 个头"},
    "slide.after_post": {"en": "after post-compose · layer {layer} · head {head}", "zh": "后组合（post-compose）之后 · 第 {layer} 层 · 第 {head} 个头"},
    # export
    "export.menu": {"en": "Export", "zh": "导出"},
    "export.png": {"en": "PNG image", "zh": "PNG 图片"},
    "export.svg": {"en": "SVG image", "zh": "SVG 图片"},
    "export.html": {"en": "Interactive HTML", "zh": "交互式 HTML"},
    "export.npz": {"en": "Captured arrays (NPZ)", "zh": "捕获的数组（NPZ）"},
    # plots
    "plot.key_axis": {"en": "key (attended to)", "zh": "键（被关注）"},
    "plot.query_axis": {"en": "query (attending)", "zh": "查询（发出关注）"},
    "plot.weight": {"en": "weight", "zh": "权重"},
    "plot.query": {"en": "query", "zh": "查询"},
    "plot.key": {"en": "key", "zh": "键"},
    "plot.raw_score": {"en": "raw score", "zh": "原始分数"},
    "plot.head": {"en": "head {h}", "zh": "头 {h}"},
    "plot.kv_head": {"en": " · K/V {kv}", "zh": " · K/V {kv}"},
    "plot.layer_heads": {"en": "Layer {layer}: all {n} heads", "zh": "第 {layer} 层：全部 {n} 个头"},
    "plot.block_average": {"en": "block average", "zh": "块平均"},
    "plot.click_to_select": {"en": "layer {layer}, head {head}<br>click to select", "zh": "第 {layer} 层，第 {head} 个头<br>点击选中"},
    "plot.difference": {"en": "difference A − B", "zh": "差 A − B"},
    "plot.masked": {"en": "−∞ (masked)", "zh": "−∞（被遮住）"},
    "plot.first_dims": {"en": " (first {shown} of {total} dimensions)", "zh": "（共 {total} 维，显示前 {shown} 维）"},
    "plot.dimension": {"en": "dimension", "zh": "维度"},
    "plot.position": {"en": "position", "zh": "位置"},
    "plot.split_title": {
        "en": "{name}: {d} × {d} = {n} heads × {dh} columns; head {head} framed",
        "zh": "{name}：{d} × {d} = {n} 个头 × 每头 {dh} 列；框出的是第 {head} 个头",
    },
    "plot.output_dim": {"en": "output dimension (columns)", "zh": "输出维度（列）"},
    "plot.input_dim": {"en": "input dimension (d_model)", "zh": "输入维度（d_model）"},
    # presenter
    "presenter.title": {"en": "Presenter", "zh": "演示模式"},
    "presenter.lesson": {"en": "Lesson", "zh": "课程"},
    "presenter.previous": {"en": "◀ Previous", "zh": "◀ 上一页"},
    "presenter.next": {"en": "Next ▶", "zh": "下一页 ▶"},
    "presenter.counter": {"en": "Slide {n} of {total}", "zh": "第 {n} / {total} 页"},
    "presenter.own_lesson": {"en": "Your own lesson file (YAML)", "zh": "上传自己的课程文件（YAML）"},
    "presenter.own_lesson_help": {
        "en": "A lesson lists slides: view, text, layer, head, masks, and a title and explanation in en and zh. See assets/lessons/ for examples.",
        "zh": "课程文件列出若干页：视图、文本、层、头、掩码设置，以及中英文标题和讲解。示例见 assets/lessons/。",
    },
    "presenter.bad_lesson": {"en": "This lesson file cannot be used: {error}", "zh": "无法使用这个课程文件：{error}"},
    "presenter.slide_error": {"en": "This slide cannot be shown: {error}", "zh": "这一页无法显示：{error}"},
    "presenter.mask": {"en": "Mask: {mask}", "zh": "掩码：{mask}"},
    "presenter.no_lessons": {"en": "No lessons found under assets/lessons/.", "zh": "assets/lessons/ 下没有课程文件。"},
}


def lookup(catalog: dict[str, dict[str, str]], key: str, lang: str = "en", **values) -> str:
    """``key`` from a catalog shaped like MESSAGES, in ``lang`` (English when missing), formatted."""
    entry = catalog.get(key)
    if entry is None:
        raise KeyError(f"no interface text for {key!r}")
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def translate(key: str, lang: str = "en", **values) -> str:
    return lookup(MESSAGES, key, lang, **values)
