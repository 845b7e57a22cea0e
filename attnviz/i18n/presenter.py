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
}
