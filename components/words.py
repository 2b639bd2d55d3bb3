"""The page's fixed words in each language the playground speaks (models/messages.py LANGUAGES).

Gradio translates them in the browser (`gr.I18n`, passed to launch by app.launch_options): a component
gets `word("key")` where it would get its text, and the page shows the text of the reader's language
(components/language.py picks it). The server's own sentences are models/messages.py's.
"""
from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from models.messages import CHINESE, ENGLISH
from models.tasks import TASKS

TASK_TITLES = {ENGLISH: {key: task.title for key, task in TASKS.items()},
               CHINESE: {"text-generation": "聊天", "sentiment": "情感分析", "ner": "命名实体",
                         "question-answering": "问答", "fill-mask": "完形填空",
                         "zero-shot-classification": "零样本分类", "image-classification": "图像分类",
                         "clip": "CLIP 图文匹配", "text-to-image": "文生图"}}

def _both(en: str, zh: str) -> dict[str, str]:
    return {ENGLISH: en, CHINESE: zh}


# What each tab says under its name (the English is also the endpoint's summary in the API's docs).
INTROS = {
    "sentiment": _both("Classify the sentiment of a text: every label with its confidence.",
                       "判断一段文字的情感：列出每个标签及其置信度。"),
    "ner": _both("Find people, places, organisations and more in a text; entities are highlighted in place.",
                 "找出文字中的人名、地名、机构名等，实体在原文中高亮显示。"),
    "question-answering": _both("Ask a question about a text: the answer is a span of the text, highlighted in place.",
                                "就一段文字提问：答案是原文中的一段，在原文中高亮显示。"),
    "fill-mask": _both("See what a masked language model learned in pre-training: type a sentence with the "
                       "model's mask token (`[MASK]` for BERT models, `<mask>` for RoBERTa) and get its "
                       "likeliest words.",
                       "看看掩码语言模型在预训练中学到了什么：输入一个带掩码标记的句子（BERT 模型用 `[MASK]`，"
                       "RoBERTa 用 `<mask>`），得到最可能填入的词。"),
    "zero-shot-classification": _both(
        "Classify a text with any labels you type, no training: a natural-language-inference "
        "model checks how well the text supports \"This example is {label}.\" for each.",
        "用你输入的任意标签给文字分类，无需训练：一个自然语言推理模型逐个检查文字对"
        "“This example is {label}.”的支持程度。"),
    "image-classification": _both("Recognise what is in a photo: the top labels with their confidence.",
                                  "识别照片里有什么：置信度最高的几个标签。"),
    "clip": _both("Match images and texts with CLIP: label a photo with your own words, search a set of "
                  "images with a sentence, or rank captions for a photo.",
                  "用 CLIP 匹配图片和文字：用你自己的词给照片打标签，用一句话搜索一组图片，或给照片的说明文字排序。"),
    "text-generation": _both("Hold a conversation: the model's chat template is applied to the system prompt and every "
                             "message. Retry, undo or edit a message, Stop at any time; export the chat or see it as code.",
                             "进行一场对话：模型的聊天模板会套用到系统提示词和每条消息上。可以重试、撤销或编辑消息，"
                             "随时停止；可以导出聊天，或查看对应的代码。"),
    "text-to-image": _both("Turn a prompt into images. The seed is always shown, so a result can be made again; "
                           "Stop ends your run at the next step.",
                           "把提示词变成图片。始终显示种子，方便再次生成同样的结果；点“停止”会在下一步结束本次生成。"),
}

# Each declared parameter's label and help (models/tasks.py), in Chinese; the English is the declaration's.
PARAMS_ZH: dict[tuple[str, str], tuple[str, str]] = {
    ("text-generation", "max_new_tokens"): ("最多生成的 token 数", "最多生成多少个 token；模型的上下文窗口可能只允许更少。"),
    ("text-generation", "temperature"): ("温度（0 = 贪心）", "越高越多样，0 总是选最可能的 token。"),
    ("text-generation", "top_p"): ("Top p", "只从概率加起来达到 p 的最可能的 token 中采样。"),
    ("text-generation", "top_k"): ("Top k（0 = 关闭）", "只从最可能的 k 个 token 中采样。"),
    ("text-generation", "repetition_penalty"): ("重复惩罚", "大于 1 时，文中已出现的 token 变得不太可能。"),
    ("text-generation", "seed"): ("种子（留空 = 随机）", "相同的种子加相同的设置，得到相同的结果。"),
    ("question-answering", "max_answer_tokens"): ("最长答案（token）", "可以作为答案的最长片段，以 token 计。"),
    ("fill-mask", "top_k"): ("前 k 个候选词", "为掩码显示多少个候选词。"),
    ("zero-shot-classification", "labels"): ("标签（逗号分隔）", "任意标签：每个标签都放进假设句，由模型判断文字对它的蕴含程度。"),
    ("zero-shot-classification", "multi_label"): ("可以有多个标签为真", "关闭：所有标签的分数加起来为 100%。开启：每个标签单独打分。"),
    ("zero-shot-classification", "hypothesis_template"): ("假设模板（{} 代表标签）", "放入每个标签的句子，作为文字的假设。"),
    ("image-classification", "top_k"): ("前 k 个标签", "显示多少个标签。"),
    ("clip", "top_k"): ("显示前 k 张图片", "显示多少张图片，最好的在前。"),
    ("text-to-image", "steps"): ("步数", "去噪步数：越多越慢，也越精细。"),
    ("text-to-image", "guidance_scale"): ("引导强度（turbo 模型用 0）", "图片跟随提示词的程度。"),
    ("text-to-image", "width"): ("宽度", "8 的倍数。"),
    ("text-to-image", "height"): ("高度", "8 的倍数。"),
    ("text-to-image", "num_images"): ("图片数量", "每张用下一个种子。"),
    ("text-to-image", "seed"): ("种子（留空 = 随机）", "相同的种子加相同的设置，得到相同的结果。"),
}


def _param_words() -> dict[str, dict[str, str]]:
    """param.<task>.<name>.label / .info, the English from the declarations (so they cannot drift)."""
    found: dict[str, dict[str, str]] = {}
    for key, declared in TASKS.items():
        for param in declared.params:
            label, info = PARAMS_ZH.get((key, param.name), (param.label, param.help))
            found[f"param.{key}.{param.name}.label"] = _both(param.label, label)
            if param.help:
                found[f"param.{key}.{param.name}.info"] = _both(param.help, info)
            # how a choice names it (Param.shown, "Max new tokens (max_new_tokens)"): in Chinese, with the API's name
            found[f"param.{key}.{param.name}.shown"] = _both(param.shown, f"{label.split('（')[0].strip()}（{param.name}）")
    return found


WORDS: dict[str, dict[str, str]] = {
    "page.intro": {ENGLISH: "Try today's open models in the browser: pick a tab, pick a model, run an example.",
                   CHINESE: "在浏览器里试用当今的开源模型：选一个标签页，选一个模型，运行一个示例。"},
    "tab.fine-tune": {ENGLISH: "Fine-tune", CHINESE: "微调"},
    "tab.models": {ENGLISH: "Models", CHINESE: "模型"},
    "language": {ENGLISH: "Language", CHINESE: "语言"},
    **{f"task.{key}": {language: TASK_TITLES[language][key] for language in (ENGLISH, CHINESE)} for key in TASKS},
    **{f"intro.{key}": intro for key, intro in INTROS.items()},
    **{f"heading.{key}": {language: f"## {TASK_TITLES[language][key]}\n{intro[language]}"
                          for language in (ENGLISH, CHINESE)} for key, intro in INTROS.items()},
    **_param_words(),
    # what every tab shares (task_tab.py, common.py, render.py)
    "model": _both("Model", "模型"),
    "model.info": _both("Pick a model.", "选一个模型。"),
    "model.info.custom": _both("Pick a model, or type a Hub id (owner/name) or a local folder.",
                               "选一个模型，或输入 Hub id（owner/name）或本地文件夹。"),
    "parameters": _both("Parameters", "参数"),
    "examples": _both("Examples", "示例"),
    "stop": _both("Stop", "停止"),
    "text": _both("Text", "文本"),
    "labels": _both("Labels", "标签"),
    "image": _both("Image", "图片"),
    # entity types in words, and the entity table's columns (render.py: sent with each result, in the reader's language)
    "entity.person": _both("Person", "人名"),
    "entity.place": _both("Place", "地名"),
    "entity.organisation": _both("Organisation", "机构"),
    "entity.other": _both("Other", "其他"),
    "entity.column.entity": _both("Entity", "实体"),
    "entity.column.type": _both("Type", "类型"),
    "entity.column.confidence": _both("Confidence", "置信度"),
    "placeholder.sentence": _both("Type a sentence…", "输入一句话…"),
    "run.classify": _both("Classify", "分类"),
    # Sentiment
    "sentiment.output": _both("Sentiment", "情感"),
    # NER
    "ner.placeholder": _both("Paste a paragraph…", "粘贴一段文字…"),
    "ner.entities": _both("Entities", "实体"),
    "ner.list": _both("Entity list", "实体列表"),
    "ner.run": _both("Find entities", "查找实体"),
    # Question answering
    "qa.question": _both("Question", "问题"),
    "qa.question.placeholder": _both("Who, what, where…?", "谁、什么、在哪里…？"),
    "qa.context": _both("Context", "上下文"),
    "qa.context.placeholder": _both("The text that holds the answer…", "包含答案的文字…"),
    "qa.answer": _both("Answer", "答案"),
    "qa.confidence": _both("Confidence", "置信度"),
    "qa.in_context": _both("Answer in context", "答案在原文中的位置"),
    "qa.run": _both("Answer", "回答"),
    # Fill-mask
    "fill.candidates": _both("Candidates for the mask", "掩码的候选词"),
    "fill.completed": _both("Completed with the likeliest word", "用最可能的词补全"),
    "fill.run": _both("Fill the mask", "填充掩码"),
    # CLIP
    "clip.tab.zero_shot": _both("Zero-shot classification", "零样本分类"),
    "clip.tab.search": _both("Text-to-image search", "以文搜图"),
    "clip.tab.rank": _both("Caption ranking", "说明文字排序"),
    "clip.labels": _both("Labels (comma or newline separated)", "标签（用逗号或换行分隔）"),
    "clip.template": _both("Prompt template ({} is the label)", "提示模板（{} 代表标签）"),
    "clip.scores": _both("Scores", "分数"),
    "clip.images": _both("Images (up to 64)", "图片（最多 64 张）"),
    "clip.query": _both("Query", "查询"),
    "clip.query.placeholder": _both("a cat sleeping…", "一只正在睡觉的猫…"),
    "clip.search": _both("Search", "搜索"),
    "clip.ranked": _both("Ranked images", "排序后的图片"),
    "clip.captions": _both("Captions (one per line)", "说明文字（每行一条）"),
    "clip.rank": _both("Rank captions", "给说明文字排序"),
    "clip.captions.ranked": _both("Captions, best first", "说明文字，最好的在前"),
    # Text to image
    "t2i.prompt": _both("Prompt", "提示词"),
    "t2i.denoising": _both("Denoising", "去噪"),  # the progress bar's words, sent with each step
    "t2i.steps": _both("steps", "步"),
    "t2i.prompt.placeholder": _both("Describe the picture…", "描述你想要的画面…"),
    "t2i.negative": _both("Negative prompt", "反向提示词"),
    "t2i.negative.placeholder": _both("What to avoid (optional)", "要避免的内容（可选）"),
    "t2i.images": _both("Images", "图片"),
    "t2i.scheduler": _both("Scheduler", "调度器"),
    "t2i.scheduler.info": _both("How the noise is removed step by step; the model's own by default.",
                                "如何一步步去除噪声；默认用模型自带的。"),
    "t2i.run": _both("Generate", "生成"),
    # Chat (chat.py)
    "chat.system": _both("System prompt", "系统提示词"),
    "chat.system.placeholder": _both("How the assistant should behave, e.g. “Answer briefly.”",
                                     "助手应该怎样表现，例如“回答要简短。”"),
    "chat.template.fold": _both("Chat template", "聊天模板"),
    "chat.template": _both("Chat template (Jinja)", "聊天模板（Jinja）"),
    "chat.export.fold": _both("Export, import", "导出、导入"),
    "chat.export.json": _both("Export JSON", "导出 JSON"),
    "chat.export.md": _both("Export Markdown", "导出 Markdown"),
    "chat.import.json": _both("Import JSON", "导入 JSON"),
    "chat.file": _both("Conversation file", "对话文件"),
    "chat.code.fold": _both("Copy as code", "复制为代码"),
    "chat.code": _both("The same request in Python", "同一请求的 Python 代码"),
    "chat.chat": _both("Chat", "聊天"),
    "chat.chat.placeholder": _both("Send a message to start the chat.", "发送一条消息开始聊天。"),
    "chat.message": _both("Message", "消息"),
    "chat.message.placeholder": _both("Type a message; Enter sends it, Shift+Enter adds a line.",
                                      "输入消息；按 Enter 发送，Shift+Enter 换行。"),
    "chat.send": _both("Send", "发送"),
    "chat.explain": _both("Explain: token probabilities", "解释：token 概率"),
    "chat.explain.info": _both("Replies written while this is on show each token coloured by its probability, its "
                               "top alternatives, the log-probability and perplexity.",
                               "开启后写出的回复会按概率给每个 token 着色，并显示最可能的候选、对数概率和困惑度。"),
    "chat.explain.hint": _both("Each reply written while this is on shows its tokens here, coloured by how likely "
                               "the model found each one.",
                               "开启后写出的每条回复都会在这里显示它的 token，按模型认为的可能性着色。"),
    "chat.explain.writing": _both("Writing the reply…", "正在写回复…"),
    "chat.explain.tokens": _both("The last reply's tokens: the redder, the less likely", "上一条回复的 token：越红越不可能"),
    "chat.explain.table": _both("Each token and the model's likeliest alternatives at that step",
                                "每个 token，以及模型在那一步最可能的候选"),
    # the table's headers: the server writes them in the reader's language (a Dataframe's headers are not translated
    # in the browser); the number is chat.py's EXPLAIN_TOP
    "chat.explain.head.token": _both("Token", "Token"),
    "chat.explain.head.probability": _both("Probability", "概率"),
    "chat.explain.head.logprob": _both("Log-prob", "对数概率"),
    "chat.explain.head.top": _both("Top 5 alternatives (probability)", "前 5 个候选（概率）"),
    "chat.side.A": _both("Side A", "A 栏"),
    "chat.side.B": _both("Side B", "B 栏"),
    "chat.side.C": _both("Side C", "C 栏"),
    "chat.side.D": _both("Side D", "D 栏"),
    "chat.compare.message": _both("Message to every side", "发给每一栏的消息"),
    "chat.compare.placeholder": _both("Type a message for all the chats above; Enter sends it.",
                                      "输入发给上面所有聊天的消息；按 Enter 发送。"),
    "chat.compare.send": _both("Send to all", "全部发送"),
    "chat.compare.stop": _both("Stop all", "全部停止"),
    # Compare models (compare.py)
    "compare.fold": _both("Compare models", "比较模型"),
    "compare.models": _both("Models to compare", "要比较的模型"),
    "compare.models.info": _both("Pick 2 to 4: the same input goes to each, side by side below.",
                                 "选 2 到 4 个：同一个输入发给每个模型，结果在下方并排显示。"),
    "compare.models.info.chat": _both("Pick 2 to 4: one message goes to every chat, each keeps its own history; "
                                      "the same seed on every side, with the parameters above.",
                                      "选 2 到 4 个：一条消息发给每个聊天，各自保留自己的历史；"
                                      "每边用相同的种子和上面的参数。"),
    "compare.none": _both("none", "无"),
    "compare.vary": _both("Or vary one setting", "或者改变一个设置"),
    "compare.vary.info": _both("On one model (the one picked, else the tab's): a side per value.",
                               "在一个模型上（选中的那个，否则用本页默认的）：每个值一栏。"),
    "compare.values": _both("Its values", "取值"),
    "compare.values.placeholder": _both("e.g. 0.2, 1.0", "例如 0.2, 1.0"),
    "compare.values.info": _both("2 to 4, comma separated.", "2 到 4 个，用逗号分隔。"),
    "compare.measure": _both("Measure throughput", "测量吞吐量"),
    "compare.measure.info": _both("Each side then sends the same call again for 2 s (as many at once as a batch "
                                  "holds): calls answered per second.",
                                  "随后每边在 2 s 内反复发送同样的调用（一次发送一个批次能容纳的数量），得出每秒应答的调用数。"),
    "compare.button": _both("Compare", "比较"),
    "compare.heading": _both("### Side by side", "### 并排对比"),
    # Explain (explain.py)
    "explain.fold": _both("Explain the answer", "解释这个答案"),
    "explain.target": _both("What to explain", "要解释什么"),
    "explain.target.sentiment": _both("A label (empty: the predicted one)", "一个标签（留空：预测出的那个）"),
    "explain.target.ner": _both("The entity's number: 0 for the first found (empty: 0)",
                                "实体的序号：找到的第一个是 0（留空：0）"),
    "explain.target.qa": _both("start or end: the answer's first or last token (empty: start)",
                               "start 或 end：答案的第一个或最后一个 token（留空：start）"),
    "explain.target.fill_mask": _both("A word to fill in (empty: the best one)", "一个要填入的词（留空：最好的那个）"),
    "explain.target.zero_shot_classification": _both("One of the labels (empty: the best one)",
                                                     "其中一个标签（留空：最好的那个）"),
    "explain.target.classify_image": _both("A class (empty: the predicted one)", "一个类别（留空：预测出的那个）"),
    "explain.target.clip_zero_shot": _both("One of the labels (empty: the best one)", "其中一个标签（留空：最好的那个）"),
    "explain.target.clip_rank_captions": _both("One of the captions (empty: the best one)",
                                               "其中一条说明文字（留空：最好的那条）"),
    "explain.target.clip_search": _both("An image's number among those searched, 0 first (empty: the best match)",
                                        "被搜索图片中的序号，从 0 开始（留空：最匹配的那张）"),
    "explain.method": _both("Method", "方法"),
    "explain.method.fast": _both("Fast: gradient × input (one backward pass)", "快速：梯度 × 输入（一次反向传播）"),
    "explain.method.integrated_gradients": _both("Integrated Gradients (steps passes, batched)",
                                                 "积分梯度（steps 次计算，分批进行）"),
    "explain.steps": _both("Integrated Gradients steps", "积分梯度步数"),
    "explain.steps.info": _both("More steps: closer to exact (the convergence delta shrinks), slower.",
                                "步数越多越接近精确值（收敛误差变小），也越慢。"),
    "explain.button": _both("Explain", "解释"),
    "explain.heatmap": _both("Where the model looked (bright: toward the answer)", "模型看了哪里（亮处：支持答案）"),
    "explain.words": _both("Words toward the answer (red) and against it (blue)", "支持答案的词（红）和反对答案的词（蓝）"),
    "explain.bars": _both("The words that moved it most", "影响最大的词"),
    # Fine-tune (fine_tune.py)
    "fine.heading": _both("## Fine-tune\nTeach a pretrained model your task from a file: the transformers Trainer runs "
                          "beside the app, the loss curve draws itself, and the result appears in the task's tab (and its "
                          "Compare models) as soon as it is saved.",
                          "## 微调\n用一个文件教预训练模型学会你的任务：transformers 的 Trainer 在应用旁边运行，"
                          "损失曲线实时绘出，结果一保存就出现在该任务的标签页（及其“比较模型”）中。"),
    "fine.task": _both("Task", "任务"),
    "fine.task.sentiment": _both("Sentiment (text classification)", "情感分析（文本分类）"),
    "fine.task.ner": _both("Named entities", "命名实体"),
    "fine.task.text-generation": _both("Chat (text generation, LoRA)", "聊天（文本生成，LoRA）"),
    "fine.format.sentiment": _both("CSV, TSV, JSONL or JSON with a text column and a label column (any labels).",
                                   "CSV、TSV、JSONL 或 JSON，含一个文本列和一个标签列（标签任意）。"),
    "fine.format.ner": _both("JSONL or JSON with `text` and `entities` ([{start, end, label}], character offsets), or "
                             "`tokens` and `tags` (BIO: B-PER, I-PER, O).",
                             "JSONL 或 JSON，含 `text` 和 `entities`（[{start, end, label}]，字符偏移），"
                             "或含 `tokens` 和 `tags`（BIO：B-PER、I-PER、O）。"),
    "fine.format.text-generation": _both("JSONL or JSON with `messages` (OpenAI's format), or `prompt` and "
                                         "`completion` columns.",
                                         "JSONL 或 JSON，含 `messages`（OpenAI 的格式），或 `prompt` 和 `completion` 两列。"),
    "fine.base": _both("Base model", "基础模型"),
    "fine.base.info": _both("A model of the task's list, or (where allowed) a Hub id or a local folder.",
                            "任务列表中的模型，或（在允许时）Hub id 或本地文件夹。"),
    "fine.train_file": _both("Training data", "训练数据"),
    "fine.example": _both("Use the example dataset", "使用示例数据集"),
    "fine.eval.fold": _both("Evaluation file and column mapping", "评估文件和列映射"),
    "fine.eval_file": _both("Evaluation data (optional: else 20% of the training rows are held out)",
                            "评估数据（可选：不提供时留出 20% 的训练行）"),
    "fine.mapping": _both("Column mapping", "列映射"),
    "fine.mapping.info": _both("Which column plays which part; guessed from the names when empty.",
                               "哪一列担任哪个角色；留空时按列名猜测。"),
    "fine.settings": _both("Training settings", "训练设置"),
    "fine.method": _both("Method", "方法"),
    "fine.method.full": _both("Full fine-tuning", "全量微调"),
    "fine.method.lora": _both("LoRA (PEFT)", "LoRA（PEFT）"),
    "fine.epochs": _both("Epochs", "轮数（epochs）"),
    "fine.learning_rate": _both("Learning rate", "学习率"),
    "fine.batch_size": _both("Batch size", "批大小"),
    "fine.seed": _both("Seed", "种子"),
    "fine.lora_rank": _both("LoRA rank", "LoRA 秩"),
    "fine.lora_alpha": _both("LoRA alpha", "LoRA alpha"),
    "fine.lora_targets": _both("LoRA target modules", "LoRA 目标模块"),
    "fine.lora_targets.placeholder": _both("empty: the architecture's default (q_proj, v_proj; GPT-2: c_attn)",
                                           "留空：用该架构的默认值（q_proj, v_proj；GPT-2：c_attn）"),
    "fine.train": _both("Train", "训练"),
    "fine.preview": _both("The first rows", "前几行"),
    "fine.loss": _both("Loss", "损失"),
    "fine.download": _both("The model as a zip", "模型的 zip 包"),
    "fine.push.fold": _both("Push to the Hugging Face Hub", "推送到 Hugging Face Hub"),
    "fine.repo": _both("Repository", "仓库"),
    "fine.token": _both("Access token (write)", "访问令牌（写权限）"),
    "fine.push": _both("Push", "推送"),
    "fine.metric.loss": _both("loss", "损失"),
    "fine.metric.accuracy": _both("accuracy", "准确率"),
    "fine.metric.macro_f1": _both("macro f1", "宏平均 F1"),
    "fine.metric.precision": _both("precision", "精确率"),
    "fine.metric.recall": _both("recall", "召回率"),
    "fine.metric.f1": _both("f1", "F1"),
    "fine.metric.perplexity": _both("perplexity", "困惑度"),
    # Models (system.py)
    "models.heading": _both("## Models\nThe models this server holds in memory, and the ones it can get.",
                            "## 模型\n这台服务器内存中的模型，以及它能获取的模型。"),
    "models.loaded": _both("Loaded models, most recently used first", "已加载的模型，最近用过的在前"),
    "models.loaded_model": _both("Loaded model", "已加载的模型"),
    "models.unload": _both("Unload", "卸载"),
    "models.unload_all": _both("Unload all", "全部卸载"),
    "models.load_from_list": _both("Load a model from the list", "从列表加载模型"),
    "models.load": _both("Load", "加载"),
    "models.catalog": _both("The list's models on this server", "本服务器上列表中的模型"),
    "models.column.task": _both("Task", "任务"),
    "models.column.model": _both("Model", "模型"),
    "models.column.device": _both("Device", "设备"),
    "models.column.precision": _both("Precision", "精度"),
    "models.column.parameters": _both("Parameters", "参数量"),
    "models.column.memory": _both("Memory", "内存"),
    "models.column.load_time": _both("Load time", "加载用时"),
    "models.column.last_used": _both("Last used", "上次使用"),
    "models.column.state": _both("State", "状态"),
    "models.column.size": _both("Size", "大小"),
    "models.state.local": _both("ready (a folder here)", "就绪（这里的一个文件夹）"),
    "models.state.cached": _both("ready (in the cache)", "就绪（在缓存中）"),
    "models.state.download": _both("needs a download", "需要下载"),
    "models.state.unavailable": _both("not available now", "暂不可用"),
    "models.state.unknown": _both("being checked", "检查中"),
    "models.state.remote": _both("on a remote server", "在远程服务器上"),
    # Ray Serve's states of a deployment and of its replicas (serve.status()), as the Models tab lists them
    "models.ray.healthy": _both("healthy", "健康"),
    "models.ray.unhealthy": _both("unhealthy", "不健康"),
    "models.ray.updating": _both("updating", "更新中"),
    "models.ray.upscaling": _both("upscaling", "扩容中"),
    "models.ray.downscaling": _both("downscaling", "缩容中"),
    "models.ray.deploy_failed": _both("deploy_failed", "部署失败"),
    "models.ray.starting": _both("starting", "启动中"),
    "models.ray.recovering": _both("recovering", "恢复中"),
    "models.ray.running": _both("running", "运行中"),
    "models.ray.stopping": _both("stopping", "停止中"),
    "models.ray.pending_migration": _both("pending_migration", "等待迁移"),
}


def english(value: Any) -> Any:
    """The English text of a word (an I18nData from `word`), or the value itself (a str, None): what the server
    reads from a control's label or help (API docs, MCP tools, error sentences), always in English."""
    return in_words(value, ENGLISH)


def in_words(value: Any, language: str) -> Any:
    """The text of a word (an I18nData from `word`) in `language`, or the value itself (a str, None): a control's
    label as a reader of `language` sees it, for what the server writes about it."""
    key = getattr(value, "key", None) if isinstance(value, I18nData) else None
    return value if key is None else text(key, language, default=key)


def param_word(param: Any, part: str) -> Any:
    """A declared parameter's label (part "label") or help ("info") as a word, found by the declaration it is in;
    its plain text when it is not a declared one (or has no help)."""
    for key, declared in TASKS.items():
        if any(p is param for p in declared.params):
            name = f"param.{key}.{param.name}.{part}"
            if name in WORDS:
                return word(name)
    return {"label": param.label, "info": param.help, "shown": param.shown}[part]


def translated(english_text: Any, key: str) -> Any:
    """word(key) when its English is exactly `english_text` (a text built from a constant, or one a caller may
    give): else `english_text` as it is, so the English never drifts from what the code says."""
    if isinstance(english_text, str) and key in WORDS and WORDS[key][ENGLISH] == english_text:
        return word(key)
    return english_text


def word(key: str) -> Any:
    """The word `key`, translated by the browser; a key not in WORDS is an error at build time."""
    if key not in WORDS:
        raise KeyError(f"No word {key!r} in components/words.py")
    return I18N(key)


def text(key: str, language: str = ENGLISH, default: str | None = None) -> str:
    """The word `key` in `language`, for what the server writes; `default` where words.py has no such word (a
    KeyError without one)."""
    if key not in WORDS and default is not None:
        return default
    return WORDS[key].get(language) or WORDS[key][ENGLISH]


I18N = gr.I18n(**{language: {key: words[language] for key, words in WORDS.items() if language in words}
                  for language in (ENGLISH, CHINESE)})
