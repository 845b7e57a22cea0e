"""Interface text of the Images page (pages/9_Images.py) and the figures over image patches."""

TEXT = {
    "nav.images": {"en": "Images", "zh": "图像"},
    "images.title": {"en": "Attention over image patches", "zh": "图像图块上的注意力"},
    "images.intro": {
        "en": "A vision transformer cuts the image into patches, and each patch is a token: [CLS] first, then the "
        "patches row by row. Pick an image; every head's attention is the real forward's, and the masks below are "
        "applied inside it, so the prediction changes with them.",
        "zh": "视觉 Transformer 把图像切成图块，每个图块就是一个词元：先是 [CLS]，然后逐行排列的图块。选一张图像；"
        "每个头的注意力都来自真实的前向计算，下面的掩码也在前向计算中生效，所以预测会随之改变。",
    },
    "images.model": {"en": "Vision model", "zh": "视觉模型"},
    "images.no_models": {
        "en": "No vision model is offered on this server (the shipped one is vit-fashion; a ViT, DeiT or DINOv2 "
        "folder can be added with ATTNVIZ_MODELS)",
        "zh": "这台服务器没有提供视觉模型（自带的是 vit-fashion；可以用 ATTNVIZ_MODELS 加入 ViT、DeiT 或 DINOv2 文件夹）",
    },
    "images.gallery": {"en": "An image from the gallery", "zh": "图库中的图像"},
    "images.upload": {
        "en": "…or your own (PNG or JPEG, at most {limit} MB)",
        "zh": "……或你自己的（PNG 或 JPEG，最多 {limit} MB）",
    },
    "images.gallery_after_upload": {
        "en": "Your image is shown; remove it (×) to come back to the gallery.",
        "zh": "正在显示你的图像；删除它（×）即可回到图库。",
    },
    "images.uploaded": {"en": "your image", "zh": "你的图像"},
    "images.gallery_item": {"en": "{name} (test image #{index})", "zh": "{name}（测试图像 #{index}）"},
    "images.masks": {"en": "Masks on the patch grid", "zh": "图块网格上的掩码"},
    "images.causal": {"en": "Raster-order causal", "zh": "按光栅顺序的因果掩码"},
    "images.causal_help": {
        "en": "each patch sees only the patches before it, row by row (and [CLS], which comes first)",
        "zh": "每个图块只能看到逐行排在它前面的图块（以及排在最前的 [CLS]）",
    },
    "images.use_window": {"en": "2-D window", "zh": "二维窗口"},
    "images.window": {"en": "rows and columns a patch sees around it", "zh": "图块能看到周围的行数与列数"},
    "images.window_help": {
        "en": "neighbourhood attention: a patch sees the patches within r rows and r columns; [CLS] still sees all",
        "zh": "邻域注意力：图块只能看到上下左右 r 行 r 列内的图块；[CLS] 仍能看到全部",
    },
    "images.use_blocks": {"en": "k × k blocks", "zh": "k × k 分块"},
    "images.blocks": {"en": "block side (patches)", "zh": "分块边长（图块数）"},
    "images.blocks_help": {
        "en": "the grid cut into k × k tiles (Swin's windows, without the shift); a patch sees its own tile",
        "zh": "网格切成 k × k 的小块（Swin 的窗口，不移位）；图块只能看到自己所在的小块",
    },
    "images.layer": {"en": "Layer", "zh": "层"},
    "images.head": {"en": "Head", "zh": "头"},
    "images.query": {"en": "Attention from", "zh": "注意力来自"},
    "images.query_help": {
        "en": "[CLS] (what the classifier reads) or one patch, by its (row, column)",
        "zh": "[CLS]（分类器读取的词元）或某个图块（行，列）",
    },
    "images.prediction": {"en": "What the model sees", "zh": "模型认为这是"},
    "images.prediction_caption": {
        "en": "The likeliest classes under the mask{masked}; the grey bars are the same classes without it.",
        "zh": "加上掩码后最可能的类别{masked}；灰色条是去掉掩码时同样类别的概率。",
    },
    "images.prediction_plain": {
        "en": "The five likeliest classes, as the model's classifier reads [CLS] after the last layer.",
        "zh": "最可能的五个类别：模型的分类器在最后一层之后读取 [CLS] 得出。",
    },
    "images.no_head": {
        "en": "{model} has no classification head: it gives patch features, not classes",
        "zh": "{model} 没有分类头：它输出图块特征，而不是类别",
    },
    "images.head_map": {
        "en": "Layer {layer}, head {head}: every token's attention",
        "zh": "第 {layer} 层第 {head} 个头：每个词元的注意力",
    },
    "images.overlay_title": {
        "en": "Layer {layer}, head {head}: {query}'s attention over the image",
        "zh": "第 {layer} 层第 {head} 个头：{query} 在图像上的注意力",
    },
    "images.own_tokens": {
        "en": "Not on the image: {shares} of this head's attention goes to the model's own tokens.",
        "zh": "图像上看不到的部分：这个头有 {shares} 的注意力给了模型自带的词元。",
    },
    "images.grid_title": {
        "en": "{query}'s attention in every layer (rows) and head (columns); click one to choose it",
        "zh": "{query} 在每一层（行）每个头（列）的注意力；点击选择",
    },
    "images.rollout_title": {
        "en": "Rollout from {query} to layer {layer}",
        "zh": "从 {query} 到第 {layer} 层的注意力展开",
    },
    "images.rollout_caption": {
        "en": "Attention rollout (Abnar & Zuidema, 2020): each layer's heads averaged with half the residual, "
        "multiplied through the layers.",
        "zh": "注意力展开（Abnar 与 Zuidema，2020）：每层各头取平均并加上一半残差，再逐层相乘。",
    },
    "images.overlay_bar": {"en": "weight (0 – largest here)", "zh": "权重（0 到此图最大值）"},
    "images.patch_hover": {"en": "patch ({row},{col}):", "zh": "图块 ({row},{col})："},
    "images.thumb_hover": {
        "en": "layer {layer}, head {head}: largest weight",
        "zh": "第 {layer} 层第 {head} 个头：最大权重",
    },
    "images.unmasked": {"en": "without the mask", "zh": "不加掩码"},
    "images.masked": {"en": "with the mask", "zh": "加上掩码"},
    "images.probability": {"en": "probability", "zh": "概率"},
    "images.distance_hover": {"en": "layer {layer}, head {head}:", "zh": "第 {layer} 层第 {head} 个头："},
    "images.depth": {"en": "layer (depth)", "zh": "层（深度）"},
    "images.distance_axis": {"en": "mean attention distance (pixels)", "zh": "平均注意力距离（像素）"},
    "images.distance_title": {"en": "How far each head looks", "zh": "每个头看多远"},
    "images.distance_caption": {
        "en": "Each point is a head: the mean distance, in pixels, between a patch and the patches it attends to "
        "(the ViT paper's figure 7), on this image. Dotted: one patch.",
        "zh": "每个点是一个头：图块与它所关注图块之间的平均距离（像素，ViT 论文的图 7），在这张图像上测得。虚线：一个图块的宽度。",
    },
    "images.cosine": {"en": "cosine similarity", "zh": "余弦相似度"},
    "images.position_hover": {"en": "position {a} and {b}:", "zh": "位置 {a} 与 {b}："},
    "images.positions_title": {
        "en": "Learned positions compared (cosine)",
        "zh": "学到的位置两两比较（余弦）",
    },
    "images.positions_measured": {
        "en": "Measured on this model: neighbouring positions {neighbours:.2f} on average, the same row further away "
        "{row:.2f}, the same column {column:.2f}, all others {others:.2f}.",
        "zh": "在这个模型上测得：相邻位置平均 {neighbours:.2f}，同一行更远处 {row:.2f}，同一列 {column:.2f}，其余 {others:.2f}。",
    },
    "images.positions_caption": {
        "en": "The small map at (row, column) is that position's embedding compared (cosine) with every position's.",
        "zh": "位于（行，列）的小图是该位置的嵌入与每个位置嵌入的余弦相似度。",
    },
    "images.shuffled": {"en": "The same patches, shuffled", "zh": "同样的图块，打乱顺序"},
    "images.shuffled_caption": {
        "en": "Each patch keeps its pixels but sits in another place, so it gets another position embedding. "
        "The model now says: {verdict}.",
        "zh": "每个图块的像素不变，只是换了位置，于是加上的是另一个位置嵌入。模型现在认为：{verdict}。",
    },
    "images.verdict": {"en": "{name} ({p:.0%})", "zh": "{name}（{p:.0%}）"},
    "images.ablate": {"en": "Switch heads off", "zh": "关闭注意力头"},
    "images.ablate_help": {
        "en": "each chosen head's output (z) is set to zero in the real forward; later layers see the change",
        "zh": "在真实前向计算中把所选头的输出 (z) 置零；后面的层都会受到影响",
    },
    "images.ablated": {"en": "with the heads off", "zh": "关闭这些头后"},
    "images.section_positions": {"en": "Positions", "zh": "位置"},
    "images.section_ablation": {"en": "Head importance", "zh": "注意力头的重要性"},
    "images.section_steps": {"en": "One patch, step by step", "zh": "一个图块，逐步计算"},
    "images.step_token": {"en": "{token}: pixels × projection", "zh": "{token}：像素 × 投影"},
    "images.step_caption": {
        "en": "A patch's row is its {p} × {p} × {c} pixels times the patch projection (a convolution with stride {p}); "
        "[CLS]'s is a learned row. Adding the position row gives layer 0's input, the number the forward recorded.",
        "zh": "图块的那一行是它的 {p} × {p} × {c} 个像素乘以图块投影（步长为 {p} 的卷积）；[CLS] 的是学到的一行。"
        "再加上位置那一行，就是第 0 层的输入，也就是前向计算记录下的数值。",
    },
}
