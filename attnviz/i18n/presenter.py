"""pages/6_Presenter.py and the slides it draws."""

TEXT: dict[str, dict[str, str]] = {
    "slide.before_post": {
        "en": "before post-compose · layer {layer} · head {head}",
        "zh": "后组合（post-compose）之前 · 第 {layer} 层 · 第 {head} 个头",
    },
    "slide.after_post": {
        "en": "after post-compose · layer {layer} · head {head}",
        "zh": "后组合（post-compose）之后 · 第 {layer} 层 · 第 {head} 个头",
    },
    "slide.flash_title": {
        "en": "The row of “{token}”, {block} keys at a time, as FlashAttention computes it",
        "zh": "“{token}”这一行，每次 {block} 个键，按 FlashAttention 的方式计算",
    },
    "slide.flash_bars": {
        "en": "after the last block: exp(s − m) / l",
        "zh": "最后一块之后：exp(s − m) / l",
    },
    "slide.flash_equal": {
        "en": "exp(s − m) / l at the end = the softmax (max |Δp| = {dp:.1e}, max |Δz| = {dz:.1e}); one head's whole map: {full:,} numbers; its output (d per token) with m and l: {linear:,}",
        "zh": "最后的 exp(s − m) / l 就是 softmax（max |Δp| = {dp:.1e}，max |Δz| = {dz:.1e}）；一个头的整张图：{full:,} 个数；它的输出（每个词元 d 个数）加上 m 和 l：{linear:,} 个",
    },
    "slide.sinks_note": {
        "en": "Mean loss after position {w}: as trained {trained}, window {w} {windowed}, window + {s} sinks {with_sinks} nats. The model as trained gives its first {s} tokens {share} of each row's attention.",
        "zh": "第 {w} 个位置之后的平均损失：训练时的设置 {trained}，窗口 {w} 为 {windowed}，窗口加 {s} 个汇聚词元为 {with_sinks} 奈特。按训练时的设置，模型把每行注意力的 {share} 给了前 {s} 个词元。",
    },
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
    "presenter.too_long": {
        "en": "slide {slide}'s text is too long for a slide ({n} tokens): its maps would not fit the server's budget for whole maps. Shorten it in the lesson file.",
        "zh": "第 {slide} 页的文本太长（{n} 个词元），整张注意力图超出服务器的预算。请在课程文件中缩短它。",
    },
    "presenter.slide_error": {"en": "This slide cannot be shown: {error}", "zh": "这一页无法显示：{error}"},
    "presenter.mask": {"en": "Mask: {mask}", "zh": "掩码：{mask}"},
    "presenter.every_kth": {
        "en": "Some tick labels are left out (down to one token in {k}): all of them would not fit at {px} px, a size read from the back of the room.",
        "zh": "部分刻度标签省略了（最少每 {k} 个词元标一个）：{px} px 的字号下放不下全部标签，这个字号在教室后排也能看清。",
    },
    "presenter.does_not_fit": {
        "en": "This slide does not fit a {width} × {height} screen: shorten its text in the lesson file, or use a larger screen.",
        "zh": "这一页放不进 {width} × {height} 的屏幕：请在课程文件中缩短文字，或使用更大的屏幕。",
    },
    "presenter.no_lessons": {"en": "No lessons found under assets/lessons/.", "zh": "assets/lessons/ 下没有课程文件。"},
    # --- a malformed lesson file (attnviz/teaching/lessons.py, slides.py: LessonError) ---------------------------
    # Values in quotes ('title', 'text2', the views, true/false) are what a lesson file spells: never translated.
    # Where in the file (the lesson's title, a slide, its field, one language of it) is a phrase of its own:
    "presenter.lesson_place_title": {"en": "{name}: the lesson title", "zh": "{name}：课程标题"},
    "presenter.lesson_place_slide": {"en": "{name}: slide {number}", "zh": "{name}：第 {number} 页"},
    "presenter.lesson_place_slide_titled": {
        "en": "{name}: slide {number} ({title})",
        "zh": "{name}：第 {number} 页（{title}）",
    },
    "presenter.lesson_place_field": {"en": "{slide}: field '{field}'", "zh": "{slide}：'{field}' 字段"},
    "presenter.lesson_place_language": {"en": "{place} ({language})", "zh": "{place}（{language}）"},
    # lists and quoted values inside a message
    "presenter.lesson_separator": {"en": ", ", "zh": "、"},
    "presenter.lesson_and": {"en": "{first} and {second}", "zh": "{first} 和 {second}"},
    "presenter.lesson_and_more": {"en": "{listed} and {count} more", "zh": "{listed} 及另外 {count} 个"},
    "presenter.lesson_cut": {"en": "{shown}… ({length:,} characters)", "zh": "{shown}…（共 {length:,} 个字符）"},
    "presenter.lesson_big_number": {"en": "a number of {bits:,} bits", "zh": "{bits:,} 位的大数"},
    "presenter.lesson_some_value": {"en": "a {kind}", "zh": "{kind} 类型的值"},
    # what the YAML reader refuses (said after the file name and the line)
    "presenter.lesson_one_document": {
        "en": "a lesson is a single YAML document (remove the second '---' part)",
        "zh": "课程文件只能包含一个 YAML 文档（请删除第二个 '---' 之后的部分）",
    },
    "presenter.lesson_anchors": {
        "en": "anchors and aliases (&name, *name) are not allowed in a lesson",
        "zh": "课程文件中不允许使用锚点和别名（&name、*name）",
    },
    "presenter.lesson_too_deep": {
        "en": "the lesson is nested more than {depth} levels deep",
        "zh": "课程的嵌套超过了 {depth} 层",
    },
    "presenter.lesson_too_many_values": {
        "en": "the lesson holds more than {count:,} values (at most {slides} slides)",
        "zh": "课程包含的值超过 {count:,} 个（最多 {slides} 页）",
    },
    "presenter.lesson_long_scalar": {
        "en": "a value that is not text is {length:,} characters long (at most {limit})",
        "zh": "一个非文本的值长达 {length:,} 个字符（最多 {limit} 个）",
    },
    "presenter.lesson_merge_keys": {
        "en": "merge keys (<<) are not allowed in a lesson",
        "zh": "课程文件中不允许使用合并键（<<）",
    },
    "presenter.lesson_key_not_text": {
        "en": "a field name must be text, got {got} (put it in quotes)",
        "zh": "字段名必须是文本，实际为 {got}（请给它加上引号）",
    },
    "presenter.lesson_key_not_scalar": {
        "en": "a field name must be text, got a list or mapping (put it in quotes)",
        "zh": "字段名必须是文本，不能是列表或映射（请给它加上引号）",
    },
    "presenter.lesson_refused_at": {"en": "{name}: line {line}: {problem}", "zh": "{name}：第 {line} 行：{problem}"},
    "presenter.lesson_refused": {"en": "{name}: {problem}", "zh": "{name}：{problem}"},
    "presenter.lesson_bad_yaml_at": {
        "en": "{name}: not valid YAML at line {line}, column {column}: {problem}",
        "zh": "{name}：第 {line} 行第 {column} 列不是有效的 YAML：{problem}",
    },
    "presenter.lesson_bad_yaml": {
        "en": "{name}: not valid YAML: {problem}",
        "zh": "{name}：不是有效的 YAML：{problem}",
    },
    "presenter.lesson_bad_value": {
        "en": "{name}: not a usable YAML value: {problem}",
        "zh": "{name}：含有无法使用的 YAML 值：{problem}",
    },
    # the file itself
    "presenter.lesson_file_too_big": {
        "en": "{name}: the file is {size}; a lesson is at most {limit}",
        "zh": "{name}：文件大小为 {size}；课程文件最大为 {limit}",
    },
    "presenter.lesson_not_utf8": {
        "en": "{name}: not UTF-8 text (byte {at:,} cannot be read); save the file as UTF-8",
        "zh": "{name}：不是 UTF-8 文本（第 {at:,} 个字节无法读取）；请将文件另存为 UTF-8 编码",
    },
    "presenter.lesson_unreadable": {"en": "{name}: cannot be read ({reason})", "zh": "{name}：无法读取（{reason}）"},
    # the lesson's shape
    "presenter.lesson_not_mapping": {
        "en": "{name}: a lesson is a mapping with 'title' and 'slides'",
        "zh": "{name}：课程必须是包含 'title' 和 'slides' 的映射",
    },
    "presenter.lesson_unknown_top": {
        "en": "{name}: unknown top-level field(s) {shown} (use title and slides)",
        "zh": "{name}：未知的顶层字段 {shown}（只能使用 title 和 slides）",
    },
    "presenter.lesson_no_title": {"en": "{name}: the lesson has no 'title'", "zh": "{name}：课程缺少 'title'"},
    "presenter.lesson_no_slides": {
        "en": "{name}: 'slides' must be a non-empty list",
        "zh": "{name}：'slides' 必须是非空列表",
    },
    "presenter.lesson_too_many_slides": {
        "en": "{name}: the lesson has {count:,} slides; at most {limit} are allowed",
        "zh": "{name}：课程有 {count:,} 页；最多允许 {limit} 页",
    },
    "presenter.lesson_slide_not_mapping": {
        "en": "{slide} must be a mapping of fields, got {kind}",
        "zh": "{slide}必须是由字段组成的映射，实际为 {kind}",
    },
    "presenter.lesson_unknown_field": {"en": "{slide}: unknown field {field}", "zh": "{slide}：未知字段 {field}"},
    "presenter.lesson_unknown_field_hint": {
        "en": "{slide}: unknown field {field} (did you mean '{close}'?)",
        "zh": "{slide}：未知字段 {field}（是否想写 '{close}'？）",
    },
    "presenter.lesson_missing_field": {
        "en": "{slide}: missing required field '{field}'",
        "zh": "{slide}：缺少必填的 '{field}' 字段",
    },
    "presenter.lesson_needs_image": {
        "en": "{slide}: field 'image' (a gallery image's file name) is required for the '{view}' view",
        "zh": "{slide}：'{view}' 视图必须填写 'image' 字段（图库中图像的文件名）",
    },
    "presenter.lesson_unknown_image": {
        "en": "slide {number}: 'image' is {value}, which is not in the gallery (for example {example})",
        "zh": "第 {number} 页：'image' 为 {value}，图库里没有这张图（例如 {example}）",
    },
    "presenter.lesson_needs_vision": {
        "en": "slide {number}: the '{view}' view needs a vision model; {model} reads text",
        "zh": "第 {number} 页：'{view}' 视图需要视觉模型；{model} 读取的是文字",
    },
    "presenter.lesson_needs_text": {
        "en": "{slide}: field 'text' is required for the '{view}' view",
        "zh": "{slide}：'{view}' 视图必须填写 'text' 字段",
    },
    # a field's value (place: where in the file, as above)
    "presenter.lesson_too_long": {
        "en": "{place} is {length:,} characters long; at most {limit:,} are allowed",
        "zh": "{place}长达 {length:,} 个字符；最多允许 {limit:,} 个",
    },
    "presenter.lesson_single_string": {
        "en": "{place} must give both languages, e.g. {{en: ..., zh: ...}}; got a single string",
        "zh": "{place}必须同时给出两种语言，例如 {{en: ..., zh: ...}}；实际只有一个字符串",
    },
    "presenter.lesson_not_bilingual": {
        "en": "{place} must be a mapping {{en: ..., zh: ...}}, got {kind}",
        "zh": "{place}必须是映射 {{en: ..., zh: ...}}，实际为 {kind}",
    },
    "presenter.lesson_missing_language": {
        "en": "{place} is missing its {langs} text",
        "zh": "{place}缺少 {langs} 文本",
    },
    "presenter.lesson_unknown_language": {
        "en": "{place} has unknown language(s) {shown} (use en and zh)",
        "zh": "{place}含有未知的语言 {shown}（只能使用 en 和 zh）",
    },
    "presenter.lesson_bad_view": {
        "en": "{place} must be one of {views}; got {got}",
        "zh": "{place}必须是 {views} 之一；实际为 {got}",
    },
    "presenter.lesson_not_text": {"en": "{place} must be text, got {kind}", "zh": "{place}必须是文本，实际为 {kind}"},
    "presenter.lesson_not_bool": {
        "en": "{place} must be true or false, got {got}",
        "zh": "{place}必须是 true 或 false，实际为 {got}",
    },
    "presenter.lesson_not_whole": {
        "en": "{place} must be a whole number ≥ {low}, got {got}",
        "zh": "{place}必须是 ≥ {low} 的整数，实际为 {got}",
    },
    "presenter.lesson_too_big": {
        "en": "{place} must be at most {limit:,}, got {got}",
        "zh": "{place}最大为 {limit:,}，实际为 {got}",
    },
    # a slide that cannot be drawn with the model it runs (attnviz/teaching/slides.py)
    "presenter.lesson_layer_range": {
        "en": "slide {number}: field '{field}' is {value} but {model} has layers 0–{last}",
        "zh": "第 {number} 页：'{field}' 字段为 {value}，但 {model} 只有第 0–{last} 层",
    },
    "presenter.lesson_head_range": {
        "en": "slide {number}: field '{field}' is {value} but {model} has heads 0–{last}",
        "zh": "第 {number} 页：'{field}' 字段为 {value}，但 {model} 只有第 0–{last} 个头",
    },
    "presenter.lesson_query_range": {
        "en": "slide {number}: field 'query' is {value} but the text has tokens 0–{last}",
        "zh": "第 {number} 页：'query' 字段为 {value}，但文本只有第 0–{last} 个词元",
    },
    "presenter.lesson_needs_dcformer": {
        "en": "slide {number}: the 'dcmha' view needs the shipped DCFormer (assets/dcformer-tiny)",
        "zh": "第 {number} 页：'dcmha' 视图需要随附的 DCFormer 模型（assets/dcformer-tiny）",
    },
    "presenter.lesson_block_size": {
        "en": "slide {number}: 'block' is {value}; for this text the 'blocks' view takes tiles of {sizes}",
        "zh": "第 {number} 页：'block' 为 {value}；对这段文本，'blocks' 视图的块大小只能是 {sizes}",
    },
    "presenter.lesson_sinks_needs_decoder": {
        "en": "slide {number}: the 'sinks' view measures a language model's loss, and {model} is not one (try mistral-char)",
        "zh": "第 {number} 页：'sinks' 视图测量的是语言模型的损失，而 {model} 不是语言模型（可以试试 mistral-char）",
    },
    "presenter.lesson_encoder_decoder": {
        "en": "slide {number}: {model} is an encoder-decoder model: its attention is shown on the Encoder-decoder page",
        "zh": "第 {number} 页：{model} 是编码器-解码器模型，它的注意力在“编码器-解码器”页面上展示",
    },
    "presenter.lesson_order_needs_two": {
        "en": "slide {number}: the 'order' view needs 'text' and 'text2'",
        "zh": "第 {number} 页：'order' 视图需要同时填写 'text' 和 'text2'",
    },
    "presenter.lesson_unknown_view": {
        "en": "slide {number}: unknown view {view!r}",
        "zh": "第 {number} 页：未知视图 {view!r}",
    },
    # a message its caller worded already (LessonError(text)): shown as it is
    "presenter.lesson_as_given": {"en": "{text}", "zh": "{text}"},
}
