"""pages/5_Encoder_decoder.py. The Chinese uses the course notes' terms: 上文 / 下文, 多头注意力, 多头掩码注意力, 融合注意力, 中间表达, 输出概率, 自回归循环."""

TEXT: dict[str, dict[str, str]] = {
    "ed.title": {
        "en": "Encoder-decoder attention, one decoding step at a time",
        "zh": "编码器–解码器注意力：一步一步看解码",
    },
    "ed.intro": {
        "en": "A small Transformer, trained by this project, rewrites a date as an ISO date (“25 November 2026” → “2026-11-25”). As in the course notes: the **encoder** reads the source (上文) with multi-head self-attention (多头注意力) and produces its intermediate representation (中间表达, the *memory*); the **decoder** starts from `<sos>` and reads what it has written so far (下文) with **masked** multi-head self-attention (多头掩码注意力); **cross-attention** (融合注意力) then takes its queries from the decoder and its keys and values from the encoder; a softmax gives the next character's probabilities (输出概率), and the chosen character is fed back in — the autoregressive loop (自回归循环) — until `<eos>`.",
        "zh": "一个由本项目自己训练的小型 Transformer，把日期改写成 ISO 格式（“25 November 2026” → “2026-11-25”）。和课程笔记一样：**编码器**用多头注意力读入上文，得到中间表达（memory）；**解码器**从 `<sos>` 启动信号开始，用**多头掩码注意力**读入已经写出的下文；**融合注意力**的 Q 来自解码器，K 和 V 来自编码器的中间表达；经过 softmax 得到下一个字符的输出概率，选中的字符再交给下文处理部分——这就是自回归循环——直到输出 `<eos>`。",
    },
    "ed.load_failed": {"en": "The date model could not be loaded: {error}", "zh": "无法加载日期模型：{error}"},
    "ed.sidebar_header": {"en": "The date model", "zh": "日期模型"},
    "ed.sidebar_model": {
        "en": "{enc} encoder + {dec} decoder layers, {heads} heads, d_model {d}, {params} parameters, {vocab} characters.",
        "zh": "编码器 {enc} 层 + 解码器 {dec} 层，{heads} 个头，d_model {d}，{params} 个参数，{vocab} 个字符。",
    },
    "ed.sidebar_training": {
        "en": "Trained by `{command}` (seed {seed}, {minutes:.1f} min on one CPU thread). Exact match on {n} held-out dates it never saw: **{accuracy:.2%}**.",
        "zh": "由 `{command}` 训练（随机种子 {seed}，单个 CPU 线程 {minutes:.1f} 分钟）。在 {n} 个从未见过的留出日期上完全正确率：**{accuracy:.2%}**。",
    },
    "ed.sidebar_formats": {"en": "Formats it was trained on:", "zh": "训练过的日期格式："},
    "ed.model": {"en": "Encoder-decoder model", "zh": "编码器-解码器模型"},
    "ed.input_any": {"en": "Source text", "zh": "源文本"},
    "ed.output_text": {"en": "Model output: {answer} {verdict}", "zh": "模型输出：{answer} {verdict}"},
    "ed.input": {"en": "Date (the source)", "zh": "日期（上文）"},
    "ed.input_help": {
        "en": "One of the formats in the sidebar; at most {n} characters.",
        "zh": "侧栏中的任一格式；最多 {n} 个字符。",
    },
    "ed.examples": {"en": "Examples", "zh": "示例"},
    "ed.examples_placeholder": {"en": "Pick an example…", "zh": "选择一个示例…"},
    "ed.read_as": {"en": "Read as “{text}” (extra spaces removed).", "zh": "按“{text}”读取（已去掉多余空格）。"},
    "ed.verdict_none": {
        "en": "— not a real date in one of the trained formats, so there is no reference answer; the model answers anyway.",
        "zh": "——这不是训练格式中的真实日期，没有参考答案；模型仍然会给出输出。",
    },
    "ed.verdict_right": {"en": "✓ correct.", "zh": "✓ 正确。"},
    "ed.verdict_wrong": {"en": "✗ the correct answer is {answer}.", "zh": "✗ 正确答案是 {answer}。"},
    "ed.unfinished": {
        "en": " (The loop stopped after {n} steps without `<eos>`.)",
        "zh": "（循环在 {n} 步后停止，没有输出 `<eos>`。）",
    },
    "ed.nothing": {"en": "(nothing)", "zh": "（空）"},
    "ed.layer": {"en": "Layer", "zh": "层"},
    "ed.head": {"en": "Head", "zh": "头"},
    "ed.sharpest": {
        "en": "For this date the sharpest cross-attention is layer {layer}, head {head}: on average its rows put {share:.0%} of their weight on a single source character.",
        "zh": "对这个日期，融合注意力最集中的是第 {layer} 层第 {head} 个头：它每一行平均把 {share:.0%} 的权重放在一个上文字符上。",
    },
    "ed.show_head": {"en": "Show that head", "zh": "显示这个头"},
    "ed.encoder_header": {"en": "① Encoder self-attention", "zh": "① 编码器：多头注意力（自注意力）"},
    "ed.encoder_title": {
        "en": "Encoder self-attention<br>layer {layer} · head {head}",
        "zh": "编码器多头注意力<br>第 {layer} 层 · 第 {head} 个头",
    },
    "ed.encoder_text": {
        "en": "Every source character is a query (row) and a key (column): **{n} × {n}** weights, no mask (there is no padding with one date). This runs **once**: its output, after the last encoder layer, is the memory — {n} vectors of {d} numbers — that every decoding step reads again.\n\nSpaces are drawn as ␣. Hover a cell for the weight and the raw score q·k/√d.",
        "zh": "每个上文字符既是查询（行）也是键（列）：共 **{n} × {n}** 个权重，没有掩码（只有一个日期，没有填充）。这一步只运行**一次**：最后一层编码器的输出就是中间表达——{n} 个 {d} 维向量——解码的每一步都会再读它。\n\n空格画作 ␣。鼠标悬停在格子上可看到权重和原始分数 q·k/√d。",
    },
    "ed.decoder_header": {"en": "② Decoder, one step at a time", "zh": "② 解码器：自回归循环，一步一步"},
    "ed.start": {"en": "Start", "zh": "开始"},
    "ed.back": {"en": "Back", "zh": "上一步"},
    "ed.next": {"en": "Next", "zh": "下一步"},
    "ed.end": {"en": "End", "zh": "结束"},
    "ed.step": {"en": "Step", "zh": "步"},
    "ed.step_text": {
        "en": "**Step {k} of {n}.** The decoder reads {inputs} ({k} token(s)) and writes **{output}** (probability {p:.3f}).",
        "zh": "**第 {k} 步 / 共 {n} 步**：解码器读入 {inputs}（{k} 个词元），写出 **{output}**（概率 {p:.3f}）。",
    },
    "ed.step_end": {"en": " The loop ends here: `<eos>` was chosen.", "zh": "选中了 `<eos>`，循环到此结束。"},
    "ed.step_more": {
        "en": " That character is appended to its input for the next step.",
        "zh": "这个字符会被加到输入的末尾，进入下一步。",
    },
    "ed.self_title": {
        "en": "Masked self-attention<br>layer {layer} · head {head} · step {k}",
        "zh": "多头掩码注意力<br>第 {layer} 层 · 第 {head} 个头 · 第 {k} 步",
    },
    "ed.self_caption": {
        "en": "Decoder input on both axes. Grey cells are masked (subsequence mask): a position never sees the ones after it. The framed row is this step's new query; the rows above it are exactly those of the previous step — adding a token cannot change what earlier positions saw.",
        "zh": "两个轴都是解码器的输入。灰色格子被掩码遮住（subsequence mask）：每个位置看不到它后面的位置。红框这一行是本步新增的查询；它上面的各行与上一步完全相同——新加一个词不会改变前面位置看到的内容。",
    },
    "ed.cross_title": {
        "en": "Cross-attention<br>layer {layer} · head {head} · step {k}",
        "zh": "融合注意力<br>第 {layer} 层 · 第 {head} 个头 · 第 {k} 步",
    },
    "ed.cross_caption": {
        "en": "Rows: decoder positions (queries, Q from the decoder); each row is the token read there, and the character it helps to predict is the next one. Columns: source characters (keys and values, K and V from the encoder's memory). The new row, read by the query {query} at position {row} to write {output}, puts its weight on {top}.",
        "zh": "行：解码器的位置（查询，Q 来自解码器）；每行标的是该位置读入的词元，它帮助预测的是下一个字符。列：上文字符（键和值，K 和 V 来自编码器的中间表达）。新的一行由位置 {row} 的查询 {query} 读出，用来写出 {output}，它的权重主要落在 {top}。",
    },
    "ed.probs_title": {"en": "Output probabilities · step {k}", "zh": "输出概率 · 第 {k} 步"},
    "ed.probability": {"en": "probability", "zh": "概率"},
    "ed.heads_title": {
        "en": "Cross-attention, every head of layer {layer} · step {k}",
        "zh": "融合注意力：第 {layer} 层的全部头 · 第 {k} 步",
    },
    "ed.loop_header": {"en": "The whole loop", "zh": "完整的自回归循环"},
    "ed.col_step": {"en": "step", "zh": "步"},
    "ed.col_reads": {"en": "decoder reads (last token)", "zh": "解码器读入（最后一个词元）"},
    "ed.col_writes": {"en": "writes", "zh": "写出"},
    "ed.col_prob": {"en": "probability", "zh": "概率"},
    "ed.col_source": {
        "en": "most attended source char (L{layer} H{head})",
        "zh": "最受关注的上文字符（第 {layer} 层第 {head} 头）",
    },
    "ed.loop_caption": {
        "en": "Each step runs the decoder on all tokens so far (no cache, so each map is complete). The encoder ran once for all {n} steps.",
        "zh": "每一步都把目前所有的词元重新送进解码器（不使用缓存，所以每张图都是完整的）。编码器只运行了一次，供全部 {n} 步使用。",
    },
    "ed.err_empty": {
        "en": "Type a date, for example “25 November 2026”: the text is empty.",
        "zh": "请输入一个日期，例如“25 November 2026”：文本为空。",
    },
    "ed.err_unknown": {
        "en": "The model does not know these characters: {chars}. Its vocabulary holds digits, the month names as the trained formats write them (“November”, “Nov”, “november”), spaces, “, . /” and 年 月 日.",
        "zh": "模型不认识这些字符：{chars}。它的词表只有数字、训练格式中写法的月份名（“November”“Nov”“november”）、空格、“, . /”以及 年 月 日。",
    },
    "ed.err_long": {
        "en": "The date is {n} characters long; this model reads at most {limit}.",
        "zh": "这个日期有 {n} 个字符；这个模型最多读取 {limit} 个。",
    },
}
