"""Sentences written once, with a key, in every language the playground speaks.

An error raised with `InvalidInput(say("text.empty"), field="text")` is an ordinary error: `str(error)` is
the English sentence, as every caller, log and test reads it. Its argument is a `Message`, which also keeps
the key and the values, so the page (and an API client that asks for a language) renders it in the
reader's language (`Message.render`, through components/common.py `sentence_of`). A key missing in a
language falls back to English. Nothing here imports gradio or torch.
"""
from __future__ import annotations

from typing import Any

ENGLISH = "en"
CHINESE = "zh-CN"
LANGUAGES = (ENGLISH, CHINESE)

# key -> {language: template}; the templates take the same named values (str.format). Grouped by subject, the
# groups in alphabetical order; one entry per sentence. A value that is itself a Message is rendered in the same
# language; a value `name` whose Chinese differs is given as `name_zh` too (or found in WORDS_ZH).
MESSAGES: dict[str, dict[str, str]] = {
    # chat: a conversation's messages and OpenAI's stop and logprobs (models/chat.py, models/text.py)
    "chat.not_a_list": {ENGLISH: "messages must be a list of {{role, content}} objects, not {kind}.",
                        CHINESE: "参数 messages 必须是 {{role, content}} 对象的列表，而不是 {kind}。"},
    "chat.empty": {ENGLISH: "messages is empty; send at least one user message.",
                   CHINESE: "参数 messages 是空的；请至少发送一条用户消息。"},
    "chat.too_many": {ENGLISH: "The chat has {count:,} messages; at most {limit:,} are read. Start a new chat or "
                               "drop the oldest turns.",
                      CHINESE: "这段对话有 {count:,} 条消息，最多只读取 {limit:,} 条。请开始新的对话，"
                               "或删掉最早的几轮。"},
    "chat.not_an_object": {ENGLISH: "Message {number} must be an object with a role and a content, not {kind}.",
                           CHINESE: "第 {number} 条消息必须是带有 role 和 content 的对象，而不是 {kind}。"},
    "chat.no_role": {ENGLISH: "Message {number} has no role; give it one of {roles}.",
                     CHINESE: "第 {number} 条消息没有 role；请给它以下之一：{roles}。"},
    "chat.unknown_role": {ENGLISH: "Message {number} has the role {role!r}; the roles are {roles}.",
                          CHINESE: "第 {number} 条消息的 role 是 {role!r}；可用的 role 有：{roles}。"},
    "chat.no_content": {ENGLISH: "Message {number} has no content.",
                        CHINESE: "第 {number} 条消息没有内容（content）。"},
    "chat.part_not_text": {ENGLISH: "Message {number} has a part of type {kind!r}; only text parts can be read by a "
                                    "text model.",
                           CHINESE: "第 {number} 条消息有一部分的类型是 {kind!r}；文本模型只能读取文本部分。"},
    "chat.content_type": {ENGLISH: "Message {number}'s content must be a string, not {kind}.",
                          CHINESE: "第 {number} 条消息的内容（content）必须是字符串，而不是 {kind}。"},
    "chat.message_too_long": {ENGLISH: "Message {number} is {length:,} characters long; the limit is {limit:,}.",
                              CHINESE: "第 {number} 条消息有 {length:,} 个字符，上限是 {limit:,} 个。"},
    "chat.too_long": {ENGLISH: "The chat is over {limit:,} characters; start a new one or drop the oldest turns.",
                      CHINESE: "这段对话超过了 {limit:,} 个字符；请开始新的对话，或删掉最早的几轮。"},
    "chat.last_not_user": {ENGLISH: "The last message must be the user's: it is what the model answers.",
                           CHINESE: "最后一条消息必须来自用户：模型回答的就是它。"},
    "chat.last_empty": {ENGLISH: "The last message is empty; type something.",
                        CHINESE: "最后一条消息是空的；请输入一些内容。"},
    "chat.no_template": {ENGLISH: "{model} has no chat template: it continues a text. Send a plain text prompt, or "
                                  "pick a chat model.",
                         CHINESE: "{model} 没有聊天模板：它只会续写文本。请发送纯文本提示词，或选择一个聊天模型。"},
    "chat.stop_type": {ENGLISH: "stop must be a string or a list of strings.",
                       CHINESE: "参数 stop 必须是字符串或字符串列表。"},
    "chat.stop_too_many": {ENGLISH: "stop holds {count} strings; at most {limit} are allowed.",
                           CHINESE: "参数 stop 有 {count} 个字符串；最多允许 {limit} 个。"},
    "chat.stop_length": {ENGLISH: "Each stop string must have 1 to {limit} characters.",
                         CHINESE: "每个停止字符串（stop）必须有 1 到 {limit} 个字符。"},
    "chat.logprobs_type": {ENGLISH: "logprobs must be true or false, not {value}.",
                           CHINESE: "参数 logprobs 必须是 true 或 false，而不是 {value}。"},
    "chat.top_logprobs_range": {ENGLISH: "top_logprobs must be a whole number from 0 to {limit}, not {value}.",
                                CHINESE: "参数 top_logprobs 必须是 0 到 {limit} 之间的整数，而不是 {value}。"},
    "chat.top_logprobs_alone": {ENGLISH: "top_logprobs needs logprobs set to true.",
                                CHINESE: "参数 top_logprobs 需要把 logprobs 设为 true。"},
    # chat_tab: the Chat tab's own lines: a reply's figures, the chat template, Explain, Compare, export (components/chat.py)
    "chat_tab.seed": {ENGLISH: "seed {seed}", CHINESE: "种子 {seed}"},
    "chat_tab.new_tokens": {ENGLISH: "{count} new tokens", CHINESE: "{count} 个新 token"},
    "chat_tab.speed": {ENGLISH: "{rate:.1f} tokens/s", CHINESE: "速度 {rate:.1f} tokens/s"},
    "chat_tab.first_token": {ENGLISH: "first token {seconds:.2f} s", CHINESE: "首个 token {seconds:.2f} 秒"},
    "chat_tab.no_token_yet": {ENGLISH: "no token yet", CHINESE: "还没有 token"},
    "chat_tab.total": {ENGLISH: "total {seconds:.2f} s", CHINESE: "总计 {seconds:.2f} 秒"},
    "chat_tab.context_of": {ENGLISH: "context {used:,} of {window:,} tokens",
                            CHINESE: "上下文 {used:,} / {window:,} 个 token"},
    "chat_tab.context": {ENGLISH: "context {used:,} tokens", CHINESE: "上下文 {used:,} 个 token"},
    "chat_tab.logprob": {ENGLISH: "log-probability {logprob:.2f}", CHINESE: "对数概率 {logprob:.2f}"},
    "chat_tab.perplexity": {ENGLISH: "perplexity {perplexity:.2f}", CHINESE: "困惑度 {perplexity:.2f}"},
    "chat_tab.generating": {ENGLISH: "generating…", CHINESE: "生成中…"},
    "chat_tab.stopped": {ENGLISH: "stopped", CHINESE: "已停止"},
    "chat_tab.max_reached": {ENGLISH: "reached max new tokens", CHINESE: "已达到最大新 token 数"},
    "chat_tab.dropped_one": {ENGLISH: "The oldest turn of this chat was left out so that it fits the model's window "
                                      "of {window:,} tokens; the model did not read it.",
                             CHINESE: "为了放进模型 {window:,} 个 token 的上下文窗口，这段对话最早的一轮被略去了；"
                                      "模型没有读到它。"},
    "chat_tab.dropped_many": {ENGLISH: "The {count} oldest turns of this chat were left out so that it fits the "
                                       "model's window of {window:,} tokens; the model did not read them.",
                              CHINESE: "为了放进模型 {window:,} 个 token 的上下文窗口，这段对话最早的 {count} 轮"
                                       "被略去了；模型没有读到它们。"},
    "chat_tab.thought": {ENGLISH: "Thought", CHINESE: "思考过程"},
    "chat_tab.thinking": {ENGLISH: "Thinking…", CHINESE: "思考中…"},
    "chat_tab.template_remote": {ENGLISH: "**Chat template:** the server's own: {name} runs at {endpoint}.",
                                 CHINESE: "**聊天模板：** 由服务器自己应用：{name} 运行在 {endpoint}。"},
    "chat_tab.template_own": {ENGLISH: "**Chat template:** {name}'s own ({lines} lines), applied to the system prompt "
                                       "and every message; see it under *Chat template*.",
                              CHINESE: "**聊天模板：** {name} 自带的模板（{lines} 行），应用于系统提示词和每条消息；"
                                       "可在 *聊天模板* 下查看。"},
    "chat_tab.template_none": {ENGLISH: "**No chat template:** {name} is a base model that continues a text. Each "
                                        "message you send is continued as it is; earlier turns and the system prompt "
                                        "are not read.",
                               CHINESE: "**没有聊天模板：** {name} 是续写文本的基础模型。你发送的每条消息都会被原样"
                                        "续写；之前的轮次和系统提示词不会被读取。"},
    "chat_tab.template_later": {ENGLISH: "**Chat template:** the model's own, read when it loads (its files are not "
                                         "here yet).",
                                CHINESE: "**聊天模板：** 模型自带的模板，在加载时读取（它的文件还不在这里）。"},
    "chat_tab.no_tokens": {ENGLISH: "The reply has no tokens to show.", CHINESE: "这条回复没有可显示的 token。"},
    "chat_tab.logprobs": {ENGLISH: "**Log-probability** {logprob:.3f} over {count} tokens · **perplexity** "
                                   "{perplexity}. {how}",
                          CHINESE: "**对数概率** {logprob:.3f}（共 {count} 个 token）· **困惑度** {perplexity}。{how}"},
    "chat_tab.logprobs_thinking": {ENGLISH: "**Log-probability** {logprob:.3f} over {count} tokens ({thinking} of "
                                            "them thinking) · **perplexity** {perplexity}. {how}",
                                   CHINESE: "**对数概率** {logprob:.3f}（共 {count} 个 token，其中 {thinking} 个是思考）"
                                            "· **困惑度** {perplexity}。{how}"},
    "chat_tab.logprobs_how": {ENGLISH: "The redder a token, the less likely the model found it: each is the model's "
                                       "own probability at that step (temperature 1), before temperature, top-k, top-p "
                                       "and the repetition penalty.",
                              CHINESE: "token 越红，模型越没料到它：颜色反映模型在那一步给出的概率（温度为 1），"
                                       "即应用温度、top-k、top-p 和重复惩罚之前的概率。"},
    "chat_tab.too_large": {ENGLISH: "too large to tell", CHINESE: "太大，无法给出"},
    "chat_tab.loading": {ENGLISH: "loading…", CHINESE: "加载中…"},
    "chat_tab.one_after_another": {ENGLISH: "The models together pass the number kept loaded: the sides answer one "
                                            "after another.",
                                   CHINESE: "这些模型加起来超过了保持加载的模型数量：各栏依次回答。"},
    "chat_tab.first_later": {ENGLISH: "{side}: its first token {ratio:.1f}x later than A's",
                             CHINESE: "{side}：首个 token 比 A 慢 {ratio:.1f}x"},
    "chat_tab.first_sooner": {ENGLISH: "{side}: its first token {ratio:.1f}x sooner than A's",
                              CHINESE: "{side}：首个 token 比 A 快 {ratio:.1f}x"},
    "chat_tab.first_as_soon": {ENGLISH: "{side}: its first token as soon as A's",
                               CHINESE: "{side}：首个 token 和 A 一样快"},
    "chat_tab.and_speed": {ENGLISH: "{said}, {ratio:.1f}x A's tokens/s", CHINESE: "{said}，tokens/s 是 A 的 {ratio:.1f}x"},
    "chat_tab.system_prompt_type": {ENGLISH: "system_prompt must be a string, not {kind}.",
                                    CHINESE: "参数 system_prompt 必须是字符串，而不是 {kind}。"},
    "chat_tab.type_first": {ENGLISH: "Type a message first.", CHINESE: "请先输入一条消息。"},
    "chat_tab.nothing_to_export": {ENGLISH: "The chat is empty: there is nothing to export yet.",
                                   CHINESE: "对话是空的：还没有可以导出的内容。"},
    "chat_tab.no_file": {ENGLISH: "No file came with the import; pick a .json file.",
                         CHINESE: "导入时没有收到文件；请选择一个 .json 文件。"},
    "chat_tab.not_json": {ENGLISH: "That file is not JSON; import a file exported from this tab, or a list of "
                                   "{{role, content}} messages.",
                          CHINESE: "这个文件不是 JSON；请导入从本页导出的文件，或一个由 {{role, content}} "
                                   "消息组成的列表。"},
    # clip: open_clip models, templates and galleries (models/clip.py)
    "clip.needs_tag": {ENGLISH: "{model} needs a pretrained tag, written {model}:TAG.",
                       CHINESE: "{model} 需要一个预训练标签，写作 {model}:TAG。"},
    "clip.needs_tag_listed": {ENGLISH: "{model} needs a pretrained tag, written {model}:TAG; its tags are {tags}.",
                              CHINESE: "{model} 需要一个预训练标签，写作 {model}:TAG；它的标签有：{tags}。"},
    "clip.not_open_clip": {ENGLISH: "{model!r} is not an open_clip model; write ARCH:TAG "
                                    "(ViT-B-32:laion2b_s34b_b79k), hf-hub:org/repo, or a folder that holds "
                                    "open_clip_config.json.",
                           CHINESE: "{model!r} 不是 open_clip 模型；请写成 ARCH:TAG（ViT-B-32:laion2b_s34b_b79k）、"
                                    "hf-hub:org/repo，或包含 open_clip_config.json 的文件夹。"},
    "clip.not_an_export": {ENGLISH: "{folder}/{config} has no model_cfg, so it is not an open_clip export.",
                           CHINESE: "{folder}/{config} 中没有 model_cfg，所以它不是 open_clip 导出的模型。"},
    "clip.no_weights": {ENGLISH: "The folder {folder} has no weights; it needs {weights}.",
                        CHINESE: "文件夹 {folder} 中没有权重；需要 {weights}。"},
    "clip.several_weights": {ENGLISH: "The folder {folder} has several .safetensors files; name the weights "
                                      "{weights}.",
                             CHINESE: "文件夹 {folder} 中有多个 .safetensors 文件；请把权重文件命名为 {weights}。"},
    "clip.not_a_hub_id": {ENGLISH: "{repo!r} is not a Hub id; write hf-hub:owner/name.",
                          CHINESE: "{repo!r} 不是 Hub id；请写成 hf-hub:owner/name。"},
    "clip.unknown_architecture": {ENGLISH: "open_clip has no architecture {arch}; check the name before the colon.",
                                  CHINESE: "open_clip 没有架构 {arch}；请检查冒号前的名称。"},
    "clip.unknown_tag": {ENGLISH: "{arch} has no pretrained tag {tag!r}; use one of: {tags}.",
                         CHINESE: "{arch} 没有预训练标签 {tag!r}；请使用以下之一：{tags_zh}。"},
    "clip.no_download": {ENGLISH: "{arch}:{tag} names no weights that can be downloaded.",
                         CHINESE: "{arch}:{tag} 没有指向可以下载的权重。"},
    "clip.pickle_only": {ENGLISH: "{name} is published only as a pickle checkpoint, which can run code when loaded; "
                                  "pick another model (or start the app with --allow-pickle).",
                         CHINESE: "{name} 只以 pickle 检查点发布，加载时可能执行代码；请选择其他模型（或用 "
                                  "--allow-pickle 启动应用）。"},
    "clip.unknown_mode": {ENGLISH: "Unknown mode {mode!r}; use one of: zero-shot, search, captions, similarity.",
                          CHINESE: "未知的模式 {mode!r}；请使用以下之一：zero-shot、search、captions、similarity。"},
    "clip.template_type": {ENGLISH: "The template must be a string, not {kind}.",
                           CHINESE: "模板必须是字符串，而不是 {kind}。"},
    "clip.template_too_long": {ENGLISH: "The template is {length:,} characters long; the limit is {limit}.",
                               CHINESE: "模板有 {length:,} 个字符，上限是 {limit} 个。"},
    "clip.template_braces": {ENGLISH: "The template must contain {{}} exactly once, where each label goes (like 'a "
                                      "photo of a {{}}.'); {template!r} has it {count} times.",
                             CHINESE: "模板必须恰好包含一次 {{}}，每个标签会填在那里（例如 'a photo of a {{}}.'）；"
                                      "{template!r} 中有 {count} 个。"},
    "clip.gallery_empty": {ENGLISH: "The gallery is empty; add at least one image.",
                           CHINESE: "图库是空的；请至少添加一张图片。"},
    "clip.gallery_too_big": {ENGLISH: "The gallery has {count} images; the limit is {limit}. Remove some.",
                             CHINESE: "图库中有 {count} 张图片，上限是 {limit} 张。请删掉一些。"},
    # cluster: the Ray backend (models/cluster.py)
    "cluster.unreachable": {ENGLISH: "The model cluster at {address} cannot be reached; the page keeps working and "
                                     "the models come back when the cluster does.",
                            CHINESE: "无法连接位于 {address} 的模型集群；页面仍可使用，集群恢复后模型会回来。"},
    "cluster.unreachable_because": {ENGLISH: "The model cluster at {address} cannot be reached ({error}); the page "
                                             "keeps working and the models come back when the cluster does.",
                                    CHINESE: "无法连接位于 {address} 的模型集群（{error}）；页面仍可使用，"
                                             "集群恢复后模型会回来。"},
    "cluster.starting": {ENGLISH: "The model cluster at {address} is still starting; try again in a moment.",
                         CHINESE: "位于 {address} 的模型集群还在启动；请稍后再试。"},
    "cluster.no_answer": {ENGLISH: "The model cluster ended the request without an answer; try again.",
                          CHINESE: "模型集群结束了请求，却没有给出回答；请再试一次。"},
    "cluster.replica_stopped": {ENGLISH: "The replica serving this model stopped before it answered; try again in a "
                                         "moment.",
                                CHINESE: "为这个模型服务的副本在回答之前停止了；请稍后再试。"},
    "cluster.stopped_answering": {ENGLISH: "The model cluster at {address} stopped answering; the page keeps working "
                                           "and the models come back when the cluster does.",
                                  CHINESE: "位于 {address} 的模型集群不再应答；页面仍可使用，集群恢复后模型会回来。"},
    # common: what every tab may say (components/common.py)
    "common.unexpected": {ENGLISH: "Something went wrong on the server while running this request; try again, or pick "
                                   "another model.",
                          CHINESE: "服务器在处理这个请求时出了问题；请再试一次，或换一个模型。"},
    # compare: /compare and the tabs' Compare mode (components/compare.py; /explain's request checks too)
    "compare.task": {ENGLISH: "task must be one of the endpoints {names}, not {task!r}.",
                     CHINESE: "参数 task 必须是以下端点之一：{names}，而不是 {task!r}。"},
    "compare.no_parameter": {ENGLISH: "{endpoint} has no parameter {name!r}; its parameters are {known}.",
                             CHINESE: "{endpoint} 没有参数 {name!r}；它的参数有：{known}。"},
    "compare.models_type": {ENGLISH: "models must be a list of model ids or labels.",
                            CHINESE: "参数 models 必须是模型 id 或标签的列表。"},
    "compare.inputs_json": {ENGLISH: "inputs must be a JSON object of the endpoint's parameters by name.",
                            CHINESE: "参数 inputs 必须是一个 JSON 对象，按名称给出端点的参数。"},
    "compare.inputs_object": {ENGLISH: "inputs must be an object of the endpoint's parameters by name.",
                              CHINESE: "参数 inputs 必须是一个对象，按名称给出端点的参数。"},
    "compare.settings_type": {ENGLISH: "settings must be a list of objects, one per side.",
                              CHINESE: "参数 settings 必须是对象的列表，每栏一个。"},
    "compare.sides_count": {ENGLISH: "Compare 2 to {most} models (or one model with 2 to {most} settings), not "
                                     "{count}.",
                            CHINESE: "请比较 2 到 {most} 个模型（或一个模型的 2 到 {most} 组设置），而不是 {count} 个。"},
    "compare.settings_count": {ENGLISH: "settings has {count} entries for {models} models; give one per side.",
                               CHINESE: "参数 settings 有 {count} 项，模型却有 {models} 个；请每栏给一项。"},
    "compare.not_a_setting": {ENGLISH: "{name!r} is not a setting to vary; choose one of {known}.",
                              CHINESE: "{name!r} 不是可以改变的设置；请从以下选择一个：{known}。"},
    "compare.values_count": {ENGLISH: "Give 2 to {most} values of {setting}, separated by commas (like 0.2, 1.0); "
                                      "{count} were given.",
                             CHINESE: "请给出{setting_zh}的 2 到 {most} 个取值，用逗号分隔（例如 0.2, 1.0）；"
                                      "现在给了 {count} 个。"},
    "compare.not_a_number": {ENGLISH: "{piece!r} is not a number; give values of {setting} like {default}.",
                             CHINESE: "{piece!r} 不是数字；请给出{setting_zh}的取值，例如 {default}。"},
    "compare.vary_one_model": {ENGLISH: "Vary a setting on one model (pick one, or none for the tab's model), or "
                                        "compare models with the same settings.",
                               CHINESE: "请在一个模型上改变设置（选一个，或不选以使用本页的模型），"
                                        "或者用相同的设置比较多个模型。"},
    "compare.pick_models": {ENGLISH: "Pick 2 to {most} models to compare, or one model and a setting to vary.",
                            CHINESE: "请选 2 到 {most} 个模型来比较，或者选一个模型和一个要改变的设置。"},
    "compare.one_after_another": {ENGLISH: "The models together pass the number kept loaded, so the sides ran one "
                                           "after another.",
                                  CHINESE: "这些模型加起来超过了保持加载的模型数量，所以各栏依次运行。"},
    "compare.comparing": {ENGLISH: "Comparing…", CHINESE: "正在比较…"},
    "compare.waiting": {ENGLISH: "waiting…", CHINESE: "等待中…"},
    "compare.running": {ENGLISH: "running…", CHINESE: "运行中…"},
    "compare.measuring": {ENGLISH: "Measuring throughput, one side at a time…",
                          CHINESE: "正在测量吞吐量，一次一栏…"},
    "compare.failed": {ENGLISH: "{side} failed", CHINESE: "{side} 出错了"},
    "compare.slower": {ENGLISH: "{side} is {times} slower than {base}", CHINESE: "{side} 比 {base} 慢 {times}"},
    "compare.faster": {ENGLISH: "{side} is {times} faster than {base}", CHINESE: "{side} 比 {base} 快 {times}"},
    "compare.as_fast": {ENGLISH: "{side} is as fast as {base}", CHINESE: "{side} 和 {base} 一样快"},
    "compare.larger": {ENGLISH: "{side} is {times} larger", CHINESE: "{side} 的参数量大 {times}"},
    "compare.smaller": {ENGLISH: "{side} is {times} smaller", CHINESE: "{side} 的参数量小 {times}"},
    "compare.and_larger": {ENGLISH: "{said} and {times} larger", CHINESE: "{said}，参数量大 {times}"},
    "compare.and_smaller": {ENGLISH: "{said} and {times} smaller", CHINESE: "{said}，参数量小 {times}"},
    "compare.with_throughput": {ENGLISH: "{said}, with {ratio}x {base}'s throughput",
                                CHINESE: "{said}，吞吐量是 {base} 的 {ratio}x"},
    "compare.has_throughput": {ENGLISH: "{side} has {ratio}x {base}'s throughput",
                               CHINESE: "{side} 的吞吐量是 {base} 的 {ratio}x"},
    "compare.agree_label": {ENGLISH: "they agree on the label: {label}", CHINESE: "它们给出相同的标签：{label}"},
    "compare.disagree": {ENGLISH: "they disagree: {scores}", CHINESE: "它们的判断不同：{scores}"},
    "compare.only_found": {ENGLISH: "only {side} found {entities}", CHINESE: "只有 {side} 找到了 {entities}"},
    "compare.same_entities": {ENGLISH: "they find the same entities", CHINESE: "它们找到的实体相同"},
    "compare.same_answer": {ENGLISH: "they give the same answer: {answer}", CHINESE: "它们给出相同的答案：{answer}"},
    "compare.answers_overlap": {ENGLISH: "their answers overlap ({answers})", CHINESE: "它们的答案有重叠（{answers}）"},
    "compare.answers_differ": {ENGLISH: "their answers differ ({answers})", CHINESE: "它们的答案不同（{answers}）"},
    "compare.same_order": {ENGLISH: "they rank the images in the same order, {first} first",
                           CHINESE: "它们给图片的排序相同，{first} 排在第一"},
    "compare.same_first": {ENGLISH: "they put the same image first ({first}), then rank the rest differently",
                           CHINESE: "它们把同一张图片排在第一（{first}），其余图片的排序不同"},
    "compare.different_first": {ENGLISH: "they put different images first: {firsts}",
                                CHINESE: "它们排在第一的图片不同：{firsts}"},
    "compare.results_same": {ENGLISH: "their results are the same", CHINESE: "它们的结果相同"},
    "compare.results_differ": {ENGLISH: "their results differ", CHINESE: "它们的结果不同"},
    "compare.this_call": {ENGLISH: "{seconds:.2f} s this call", CHINESE: "本次调用 {seconds:.2f} 秒"},
    "compare.parameters": {ENGLISH: "{count} parameters", CHINESE: "参数量 {count}"},
    "compare.already_loaded": {ENGLISH: "already loaded", CHINESE: "已经加载"},
    "compare.loaded_in": {ENGLISH: "loaded in {seconds:.1f} s", CHINESE: "加载用时 {seconds:.1f} 秒"},
    "compare.throughput": {ENGLISH: "**{rate} calls/s** measured ({calls} calls, {at_once} at once)",
                           CHINESE: "实测 **{rate} calls/s**（共 {calls} 次调用，并发 {at_once}）"},
    "compare.not_measured": {ENGLISH: "⚠ not measured: {error}", CHINESE: "⚠ 未能测量：{error}"},
    # device: where models run, chosen at the first load (models/devices.py, models/manager.py)
    "device.unknown": {ENGLISH: "Unknown device {device!r}; use one of: {devices}.",
                       CHINESE: "未知的设备 {device!r}；请使用以下之一：{devices}。"},
    "device.no_cuda": {ENGLISH: "--device cuda was asked for, but no CUDA GPU is visible; use --device cpu.",
                       CHINESE: "指定了 --device cuda，但找不到 CUDA GPU；请使用 --device cpu。"},
    "device.unknown_dtype": {ENGLISH: "Unknown dtype {dtype!r}; use float32, float16 or bfloat16.",
                             CHINESE: "未知的 dtype {dtype!r}；请使用 float32、float16 或 bfloat16。"},
    # diffusion: text-to-image (models/diffusion.py)
    "diffusion.english_only": {ENGLISH: "{model} reads English: a prompt in Chinese may give unrelated images. Write "
                                        "the prompt in English, or pick a model that reads Chinese (HunyuanDiT, in "
                                        "python app.py --catalog zh).",
                               CHINESE: "{model} 只读得懂英文：中文提示词可能生成不相关的图片。请用英文写提示词，或选一个读得懂中文的模型"
                                        "（例如 python app.py --catalog zh 里的 HunyuanDiT）。"},
    "diffusion.not_text_to_image": {ENGLISH: "{model} is not a text-to-image model; pick a model made for "
                                             "text-to-image.",
                                    CHINESE: "{model} 不是文生图模型；请选择用于文生图的模型。"},
    "diffusion.not_multiple_of_8": {ENGLISH: "{name} must be a multiple of 8, like {lower} or {upper}; {side} is "
                                             "not.",
                                    CHINESE: "参数 {name_zh} 必须是 8 的倍数，例如 {lower} 或 {upper}；{side} "
                                             "不是。"},
    "diffusion.unknown_scheduler": {ENGLISH: "Unknown scheduler {scheduler} for this model; use one of: "
                                             "{schedulers}.",
                                    CHINESE: "这个模型没有调度器 {scheduler}；请使用以下之一：{schedulers}。"},
    "diffusion.caption": {ENGLISH: "seed {seed} (image {number}) · {steps} steps · guidance {guidance} · {width}x{height}",
                          CHINESE: "种子 {seed}（第 {number} 张）· {steps} 步 · 引导系数 {guidance} · {width}x{height}"},
    "diffusion.estimate": {ENGLISH: "This will take about {seconds:.0f} s.",
                           CHINESE: "这大约需要 {seconds:.0f} 秒。"},
    "diffusion.done": {ENGLISH: "seed **{seed}** · {steps_run}/{steps} steps · {seconds:.1f} s",
                       CHINESE: "种子 **{seed}** · {steps_run}/{steps} 步 · {seconds:.1f} 秒"},
    "diffusion.stopped_early": {ENGLISH: " · stopped early", CHINESE: " · 已提前停止"},
    "diffusion.prompt_cut": {ENGLISH: " · the prompt is longer than the model reads; its end was left out",
                             CHINESE: " · 提示词超出了模型能读取的长度，结尾部分被省略了"},
    # explain: attributions (models/explain.py)
    "explain.method": {ENGLISH: "method must be fast or integrated_gradients, not {value!r}.",
                       CHINESE: "参数 method 必须是 fast 或 integrated_gradients，而不是 {value!r}。"},
    "explain.steps": {ENGLISH: "steps must be a whole number from 2 to {limit}, not {value}.",
                      CHINESE: "参数 steps 必须是 2 到 {limit} 之间的整数，而不是 {value}。"},
    "explain.no_attributions": {ENGLISH: "The {task} task has no attributions; its answer is explained another way.",
                                CHINESE: "任务 {task} 没有归因；它的答案用别的方式解释。"},
    "explain.not_a_model_label": {ENGLISH: "{wanted!r} is not one of the model's labels: {labels}.",
                                  CHINESE: "{wanted!r} 不是模型的标签之一：{labels}。"},
    "explain.not_a_given_label": {ENGLISH: "{wanted!r} is not one of the labels given: {labels}.",
                                  CHINESE: "{wanted!r} 不在给出的标签中：{labels}。"},
    "explain.no_entity": {ENGLISH: "The model found no entity in this text, so there is none to explain.",
                          CHINESE: "模型在这段文本中没有找到实体，所以没有可解释的实体。"},
    "explain.entity_number": {ENGLISH: "target must be an entity's number, from 0 to {last} (0 is {first!r}).",
                              CHINESE: "参数 target 必须是实体的编号，从 0 到 {last}（0 是 {first!r}）。"},
    "explain.entity_past_window": {ENGLISH: "That entity lies past the part of the text the explanation reads (the "
                                            "model's window); shorten the text.",
                                   CHINESE: "这个实体超出了解释所读取的文本范围（模型的窗口）；请缩短文本。"},
    "explain.side": {ENGLISH: "target must be start or end (the answer's first or last token), not {value!r}.",
                     CHINESE: "参数 target 必须是 start 或 end（答案的第一个或最后一个 token），而不是 {value!r}。"},
    "explain.answer_past_window": {ENGLISH: "The answer lies past the part of the context the explanation reads (the "
                                            "model's window); shorten the context.",
                                   CHINESE: "答案超出了解释所读取的上下文范围（模型的窗口）；请缩短上下文。"},
    "explain.not_one_token": {ENGLISH: "{wanted!r} is not one token of the model's vocabulary; give a single word it "
                                       "knows.",
                              CHINESE: "{wanted!r} 不是模型词表中的单个 token；请给出一个它认识的词。"},
    "explain.mask_past_window": {ENGLISH: "The {mask} lies past the part of the text the explanation reads (the "
                                          "model's window); shorten the text.",
                                 CHINESE: "{mask} 超出了解释所读取的文本范围（模型的窗口）；请缩短文本。"},
    "explain.not_a_given_text": {ENGLISH: "{wanted!r} is not one of the texts given: {texts}.",
                                 CHINESE: "{wanted!r} 不在给出的文本中：{texts}。"},
    "explain.image_number": {ENGLISH: "target must be an image's number among those searched, from 0 to {last} "
                                      "(empty: the best match, {best}).",
                             CHINESE: "参数 target 必须是所搜索图片的编号，从 0 到 {last}（留空：最佳匹配，即 "
                                      "{best}）。"},
    # (the page's explanation and /explain: components/explain.py)
    "explain.task": {ENGLISH: "task must be one of the endpoints {names}, not {task!r}.",
                     CHINESE: "参数 task 必须是以下可解释的端点之一：{names}，而不是 {task!r}。"},
    "explain.said": {ENGLISH: "**{target}**: its {attributed} {target_score} against {baseline_score} for the "
                              "baseline ({baseline}) · {method} · convergence delta {delta}{share}.",
                     CHINESE: "**{target}**：它的 {attributed_zh} 为 {target_score}，基线（{baseline_zh}）为 "
                              "{baseline_score} · {method} · 收敛误差 {delta}{share}。"},
    "explain.said_fast": {ENGLISH: "gradient × input", CHINESE: "梯度 × 输入"},
    "explain.said_steps": {ENGLISH: "Integrated Gradients, {steps} steps", CHINESE: "积分梯度，{steps} 步"},
    "explain.share": {ENGLISH: ": the scores account for {share:.0%} of the change from the baseline",
                      CHINESE: "：这些分数占了相对基线变化的 {share:.0%}"},
    "explain.share_care": {ENGLISH: ": the scores account for {share:.0%} of the change from the baseline — read "
                                    "them with care",
                           CHINESE: "：这些分数占了相对基线变化的 {share:.0%}，请谨慎解读"},
    "explain.share_more_steps": {ENGLISH: ": the scores account for {share:.0%} of the change from the baseline — "
                                          "read them with care; Integrated Gradients with more steps would come "
                                          "closer",
                                 CHINESE: "：这些分数占了相对基线变化的 {share:.0%}，请谨慎解读；"
                                          "用步数更多的积分梯度会更接近"},
    "explain.toward": {ENGLISH: "toward", CHINESE: "支持"},
    "explain.against": {ENGLISH: "against", CHINESE: "反对"},
    "explain.part_text": {ENGLISH: "text: ", CHINESE: "文本："},
    "explain.part_question": {ENGLISH: "question: ", CHINESE: "问题："},
    "explain.part_context": {ENGLISH: "context: ", CHINESE: "上下文："},
    "explain.part_hypothesis": {ENGLISH: "hypothesis: ", CHINESE: "假设："},
    # fill_mask: the fill-mask task (models/text.py)
    "fill_mask.no_mask_token": {ENGLISH: "{model} has no mask token, so it cannot fill a mask; pick a masked "
                                         "language model (BERT, RoBERTa, DistilBERT...).",
                                CHINESE: "{model} 没有掩码标记，无法填空；请选择掩码语言模型（BERT、RoBERTa、"
                                         "DistilBERT 等）。"},
    "fill_mask.no_mask": {ENGLISH: "The text has no {mask}; type {mask} where the missing word goes.",
                          CHINESE: "文本中没有 {mask}；请在缺词的位置输入 {mask}。"},
    "fill_mask.mask_too_far": {ENGLISH: "The {mask} is past the first {limit} tokens that the model reads; shorten "
                                        "the text before it.",
                               CHINESE: "{mask} 在模型读取的前 {limit} 个 token 之后；请缩短它前面的文本。"},
    "fill_mask.first_mask_shown": {ENGLISH: "The text has {count} masks; the candidates shown are the first one's.",
                                   CHINESE: "这段文字有 {count} 个掩码；显示的候选词属于第一个掩码。"},
    # fine_tune: the Fine-tune tab's lines and sentences (components/fine_tune.py)
    "fine_tune.line_full": {ENGLISH: "{count} trainings are already waiting for their turn on this server; try again "
                                     "when one has ended.",
                            CHINESE: "这台服务器上已有 {count} 个训练在排队等候；请等其中一个结束后再试。"},
    "fine_tune.mapping": {ENGLISH: "Write the mapping as role=column pairs (text=review, label=stars), not {part!r}.",
                          CHINESE: "请把映射写成“角色=列”的形式（text=review, label=stars），而不是 {part!r}。"},
    "fine_tune.no_file": {ENGLISH: "Upload a training file, or pick an example dataset.",
                          CHINESE: "请上传训练文件，或选择示例数据集。"},
    "fine_tune.evaluation": {ENGLISH: "Evaluation file: {said}",
                             CHINESE: "评估文件：{said}"},
    "fine_tune.more_problems": {ENGLISH: "({count} more problems.)",
                                CHINESE: "（还有 {count} 个问题。）"},
    "fine_tune.off": {ENGLISH: "Fine-tuning is off on this server (a hosted app turns it on with --allow-training).",
                      CHINESE: "这台服务器没有开启微调（托管的应用可以用 --allow-training 开启）。"},
    "fine_tune.task": {ENGLISH: "task must be sentiment, ner or text-generation, not {task!r}.",
                       CHINESE: "参数 task 必须是 sentiment、ner 或 text-generation，而不是 {task!r}。"},
    "fine_tune.rows": {ENGLISH: "{count} rows",
                       CHINESE: "{count} 行"},
    "fine_tune.rows_labels": {ENGLISH: "{count} rows; labels: {labels}",
                              CHINESE: "{count} 行；标签：{labels}"},
    "fine_tune.columns": {ENGLISH: "**{summary}** · columns read: {columns}",
                          CHINESE: "**{summary}** · 读取的列：{columns}"},
    "fine_tune.no_columns": {ENGLISH: "**{summary}** · columns read: none found",
                             CHINESE: "**{summary}** · 读取的列：没有找到"},
    "fine_tune.more": {ENGLISH: "… and {count} more.",
                       CHINESE: "……还有 {count} 个。"},
    "fine_tune.ready": {ENGLISH: "Ready to train.",
                        CHINESE: "可以开始训练了。"},
    "fine_tune.checking": {ENGLISH: "Checking the data…",
                           CHINESE: "正在检查数据…"},
    "fine_tune.waiting": {ENGLISH: "Waiting for the training before yours: place {place} in line.",
                          CHINESE: "正在等待排在你前面的训练：你排在第 {place} 位。"},
    "fine_tune.starting": {ENGLISH: "Starting…", CHINESE: "正在启动…"},
    "fine_tune.loading": {ENGLISH: "Loading the base model…", CHINESE: "正在加载基础模型…"},
    "fine_tune.evaluating": {ENGLISH: "Evaluating the base model…", CHINESE: "正在评估基础模型…"},
    "fine_tune.training": {ENGLISH: "Training…", CHINESE: "正在训练…"},
    "fine_tune.saving": {ENGLISH: "Saving…", CHINESE: "正在保存…"},
    "fine_tune.step": {ENGLISH: "Training: step {step} of {max_steps} · epoch {epoch:.2f}",
                       CHINESE: "训练中：第 {step} 步，共 {max_steps} 步 · 轮次 {epoch:.2f}"},
    "fine_tune.eta": {ENGLISH: "about {seconds:.0f} s left", CHINESE: "约剩 {seconds:.0f} 秒"},
    "fine_tune.loss": {ENGLISH: "loss {loss:.4f}", CHINESE: "损失 {loss:.4f}"},
    "fine_tune.stopped": {ENGLISH: "Stopped: what was learned so far is saved.",
                          CHINESE: "已停止：到目前为止学到的内容已保存。"},
    "fine_tune.done": {ENGLISH: "Done.", CHINESE: "完成。"},
    "fine_tune.caption": {ENGLISH: "training loss per logged step, evaluation loss per epoch · step {step}",
                          CHINESE: "每个记录步的训练损失，每轮的评估损失 · 第 {step} 步"},
    "fine_tune.base_metrics": {ENGLISH: "before training: {metrics}", CHINESE: "训练前：{metrics}"},
    "fine_tune.epoch_metrics": {ENGLISH: "epoch {epoch}: {metrics}", CHINESE: "第 {epoch} 轮：{metrics}"},
    "fine_tune.final_metrics": {ENGLISH: "**final:** {metrics}", CHINESE: "**最终：** {metrics}"},
    "fine_tune.saved": {ENGLISH: "**Saved:** `{model}` ({data}) — pick it in the {tab} tab or its Compare models "
                                 "(reload the page if it is not listed yet).",
                        CHINESE: "**已保存：** `{model}`（{data}）—— 可以在“{tab_zh}”标签页或它的“比较模型”中选择它"
                                 "（如果还没有列出，请刷新页面）。"},
    "fine_tune.train_first": {ENGLISH: "Train a model first.", CHINESE: "请先训练一个模型。"},
    "fine_tune.repo_name": {ENGLISH: "Name the repository as owner/name.", CHINESE: "请把仓库名写成 owner/name。"},
    "fine_tune.push_refused": {ENGLISH: "The Hub refused the push: {detail}", CHINESE: "Hub 拒绝了推送：{detail}"},
    "fine_tune.pushed": {ENGLISH: "Pushed to https://huggingface.co/{repo} (private).",
                         CHINESE: "已推送到 https://huggingface.co/{repo}（私有）。"},
    # generation: text generation, local or remote (models/text.py, models/remote.py)
    "generation.temperature_zero": {ENGLISH: "Temperature must be greater than 0 when sampling; use do_sample=False "
                                             "for greedy decoding.",
                                    CHINESE: "采样时 temperature 必须大于 0；如需贪心解码，请使用 do_sample=False。"},
    "generation.prompt_too_long": {ENGLISH: "The {what} is {tokens} tokens; {model} reads at most {limit}. Shorten "
                                            "it.",
                                   CHINESE: "{what_zh}有 {tokens} 个 token；{model} 最多读取 {limit} 个。请缩短它。"},
    "generation.no_room": {ENGLISH: "The {what} ({tokens} tokens) plus max_new_tokens ({max_new_tokens}) exceeds the "
                                    "model's context of {limit} tokens; set max_new_tokens to {room} or less.",
                           CHINESE: "{what_zh}（{tokens} 个 token）加上 max_new_tokens（{max_new_tokens}）超过了模型 "
                                    "{limit} 个 token 的上下文；请把 max_new_tokens 设为 {room} 或更小。"},
    # hub: models the server cannot get now (models/availability.py)
    "hub.not_on_server": {ENGLISH: "{model} is not on this server and the Hub cannot be reached right now; pick a "
                                   "model marked ready.",
                          CHINESE: "{model} 不在这台服务器上，目前也无法连接 Hub；请选择标记为就绪的模型。"},
    "hub.model_unavailable": {ENGLISH: "{model} is not available on this server right now; pick a model marked "
                                       "ready.",
                              CHINESE: "{model} 目前在这台服务器上不可用；请选择标记为就绪的模型。"},
    # image: an uploaded image (models/images.py)
    "image.missing": {ENGLISH: "No image was given; upload an image.",
                      CHINESE: "没有提供图片；请上传一张图片。"},
    "image.too_large_to_decode": {ENGLISH: "The image is far too large to decode; the limit is {limit} megapixels.",
                                  CHINESE: "图片太大，无法解码；上限是 {limit} 百万像素。"},
    "image.unreadable": {ENGLISH: "The file is not an image that can be read; upload a PNG, JPEG, GIF or WebP.",
                         CHINESE: "这个文件不是可以读取的图片；请上传 PNG、JPEG、GIF 或 WebP。"},
    "image.too_large": {ENGLISH: "The image is {width:,} x {height:,} pixels; the limit is {limit} megapixels.",
                        CHINESE: "图片为 {width:,} x {height:,} 像素；上限是 {limit} 百万像素。"},
    "image.bad_array": {ENGLISH: "The array is not an image; send height x width (x 3 or 4) values.",
                        CHINESE: "这个数组不是图片；请发送 高 x 宽（x 3 或 4）的数值。"},
    "image.wrong_type": {ENGLISH: "Expected an image, not {kind}.",
                         CHINESE: "需要一张图片，而不是 {kind}。"},
    "image.no_pixels": {ENGLISH: "The image has no pixels; upload a real image.",
                        CHINESE: "图片没有像素；请上传一张真正的图片。"},
    "image.corrupt": {ENGLISH: "The image file is truncated or corrupt; upload it again or try another file.",
                      CHINESE: "图片文件不完整或已损坏；请重新上传，或换一个文件。"},
    "image.none_given": {ENGLISH: "No image was given; upload an image, use the webcam or paste one.",
                         CHINESE: "没有提供图片；请上传图片、使用摄像头或粘贴一张。"},
    # input: a number typed in a box or sent through the API, before the handler (components/inputs.py)
    "input.not_a_number": {ENGLISH: "{name} must be a number, not {shown!r}.",
                           CHINESE: "“{name_zh}”必须是数字，而不是 {shown!r}。"},
    "input.wrong_type": {ENGLISH: "{name} must be a number, not a {kind}.",
                         CHINESE: "“{name_zh}”必须是数字，而不是 {kind}。"},
    "input.not_finite": {ENGLISH: "{name} must be a finite number, not {value}.",
                         CHINESE: "“{name_zh}”必须是有限的数字，而不是 {value}。"},
    "input.between": {ENGLISH: "{name} must be between {low} and {high}, not {value}.",
                      CHINESE: "“{name_zh}”必须在 {low} 到 {high} 之间，当前为 {value}。"},
    "input.at_least": {ENGLISH: "{name} must be at least {low}, not {value}.",
                       CHINESE: "“{name_zh}”不能小于 {low}，当前为 {value}。"},
    "input.at_most": {ENGLISH: "{name} must be at most {high}, not {value}.",
                      CHINESE: "“{name_zh}”不能大于 {high}，当前为 {value}。"},
    "input.not_whole": {ENGLISH: "{name} must be a whole number, not {value}.",
                        CHINESE: "“{name_zh}”必须是整数，而不是 {value}。"},
    "input.slider_range": {ENGLISH: "{name} goes from {low} to {high} for this model, not {value}.",
                           CHINESE: "对这个模型，“{name_zh}”的范围是 {low} 到 {high}，而不是 {value}。"},
    "input.slider_moved": {ENGLISH: "{problem} The slider went back to its nearest end; check it before you run.",
                           CHINESE: "{problem}滑块已回到最近的一端；运行前请检查它。"},
    # load: what a model's load is doing, shown while it loads (models/progress.py, the adapters)
    "load.waiting": {ENGLISH: "waiting for another model to finish loading", CHINESE: "正在等待另一个模型加载完成"},
    "load.starting": {ENGLISH: "starting", CHINESE: "正在启动"},
    "load.config": {ENGLISH: "reading the config", CHINESE: "正在读取配置"},
    "load.tokenizer": {ENGLISH: "reading the tokenizer", CHINESE: "正在读取分词器"},
    "load.image_processor": {ENGLISH: "reading the image processor", CHINESE: "正在读取图像处理器"},
    "load.weights": {ENGLISH: "reading the weights", CHINESE: "正在读取权重"},
    "load.weights_onto": {ENGLISH: "reading the weights onto {device}", CHINESE: "正在把权重读到 {device} 上"},
    "load.moving": {ENGLISH: "moving the weights to {device}", CHINESE: "正在把权重移到 {device} 上"},
    "load.on_replica": {ENGLISH: "loading on a replica of the cluster", CHINESE: "正在集群的一个副本上加载"},
    "load.asking": {ENGLISH: "asking {server}", CHINESE: "正在询问 {server}"},
    "load.downloading": {ENGLISH: "downloading {got}", CHINESE: "正在下载 {got}"},
    "load.downloading_of": {ENGLISH: "downloading {got} of {planned}", CHINESE: "正在下载 {got}，共 {planned}"},
    # mark: what the model picker says after a model's name (models/availability.py)
    "mark.ready": {ENGLISH: "ready", CHINESE: "就绪"},
    "mark.ready_size": {ENGLISH: "ready, {size}", CHINESE: "就绪，{size}"},
    "mark.download": {ENGLISH: "download", CHINESE: "需下载"},
    "mark.download_size": {ENGLISH: "download {size}", CHINESE: "需下载 {size}"},
    "mark.remote": {ENGLISH: "remote ({server})", CHINESE: "远程（{server}）"},
    "mark.unavailable": {ENGLISH: "not available now", CHINESE: "暂不可用"},
    "mark.checking": {ENGLISH: "checking…", CHINESE: "检查中…"},
    # model: finding, loading and running a model (models/loading.py, manager.py, base.py, hf.py, catalog.py)
    "model.hosted_only": {ENGLISH: "This hosted playground only runs the models in its list; pick one of those "
                                   "instead of {model}.",
                          CHINESE: "这个托管的游乐场只运行列表中的模型；请从列表中选一个，而不是 {model}。"},
    "model.no_default": {ENGLISH: "The catalog has no model for {task}; add one to the catalog file.",
                         CHINESE: "目录中没有 {task} 的模型；请在目录文件中添加一个。"},
    "model.not_text": {ENGLISH: "The model must be given as text (a Hub id or a folder path), not as {kind}.",
                       CHINESE: "模型必须以文本给出（Hub id 或文件夹路径），而不是 {kind}。"},
    "model.id_too_long": {ENGLISH: "The model id is {length:,} characters long; a Hub id or a folder path has at "
                                   "most {limit}.",
                          CHINESE: "模型 id 有 {length:,} 个字符；Hub id 或文件夹路径最多 {limit} 个字符。"},
    "model.id_bad_characters": {ENGLISH: "The model id holds control or invalid characters; type a Hub id "
                                         "(owner/name) or a folder path.",
                                CHINESE: "模型 id 含有控制字符或无效字符；请输入 Hub id（owner/name）或文件夹路径。"},
    "model.none_chosen": {ENGLISH: "No model was chosen; pick one from the list or type a Hub id.",
                          CHINESE: "没有选择模型；请从列表中选一个，或输入 Hub id。"},
    "model.not_an_id": {ENGLISH: "{model!r} is not a Hub id (owner/name) or an existing folder.",
                        CHINESE: "{model!r} 不是 Hub id（owner/name），也不是已有的文件夹。"},
    "model.no_folder": {ENGLISH: "The folder {model} does not exist; check the path.",
                        CHINESE: "文件夹 {model} 不存在；请检查路径。"},
    "model.not_a_model_folder": {ENGLISH: "The folder {model} is not a model folder: it has no {needs}.",
                                 CHINESE: "文件夹 {model} 不是模型文件夹：其中没有 {needs}。"},
    "model.pickle_only_folder": {ENGLISH: "{folder} has weights only as pickle (.bin) files, which can run code when "
                                          "loaded; convert them to safetensors (or start the app with "
                                          "--allow-pickle).",
                                 CHINESE: "{folder} 的权重只有 pickle（.bin）文件，加载时可能执行代码；"
                                          "请把它们转换为 safetensors（或用 --allow-pickle 启动应用）。"},
    "model.unreadable_file": {ENGLISH: "{file} in {folder} cannot be read: {error}.",
                              CHINESE: "无法读取 {folder} 中的 {file}：{error}。"},
    "model.wrong_kind": {ENGLISH: "{model} is a {architecture} model, not a {task} model; pick a model made for "
                                  "{task}.",
                         CHINESE: "{model} 是 {architecture} 模型，不是{task_zh}模型；请选择用于{task_zh}的模型。"},
    "model.no_fast_tokenizer": {ENGLISH: "{model} has no fast tokenizer, which this app needs for character "
                                         "offsets.",
                                CHINESE: "{model} 没有快速分词器（fast tokenizer），而本应用需要它来计算字符位置。"},
    "model.gated": {ENGLISH: "{model} is a gated model; accept its terms on the Hub and log in, or pick another "
                             "model.",
                    CHINESE: "{model} 是受限模型；请在 Hub 上接受它的条款并登录，或选择其他模型。"},
    "model.not_on_hub": {ENGLISH: "{model} was not found on the Hub; check the id (owner/name) and that the repo is "
                                  "public.",
                         CHINESE: "在 Hub 上找不到 {model}；请检查 id（owner/name），并确认这个仓库是公开的。"},
    "model.pickle_only_hub": {ENGLISH: "{model} has no safetensors weights, only pickle files that can run code; "
                                       "pick a model with safetensors.",
                              CHINESE: "{model} 没有 safetensors 权重，只有可能执行代码的 pickle 文件；请选择带 "
                                       "safetensors 权重的模型。"},
    "model.missing_files": {ENGLISH: "{model} is missing files it needs ({detail}); check that the repo is a "
                                     "complete model.",
                            CHINESE: "{model} 缺少所需的文件（{detail}）；请检查这个仓库是否是完整的模型。"},
    "model.no_tokenizer": {ENGLISH: "{model} has no tokenizer that can be read (tokenizer.json); check that the "
                                    "folder holds the whole model.",
                           CHINESE: "{model} 没有可以读取的分词器（tokenizer.json）；"
                                    "请检查文件夹中是否有完整的模型。"},
    "model.no_image_processor": {ENGLISH: "{model} has no image processor (preprocessor_config.json); check that the "
                                          "folder holds the whole model.",
                                 CHINESE: "{model} 没有图像处理器（preprocessor_config.json）；"
                                          "请检查文件夹中是否有完整的模型。"},
    "model.missing_file": {ENGLISH: "{model} is missing {file} in its {folder} folder; check that the folder holds "
                                    "the whole model.",
                           CHINESE: "{model} 的 {folder} 文件夹中缺少 {file}；请检查文件夹中是否有完整的模型。"},
    "model.no_memory_to_load": {ENGLISH: "There is not enough memory to load {model}; unload other models or pick a "
                                         "smaller one.",
                                CHINESE: "内存不足，无法加载 {model}；请卸载其他模型，或选择更小的模型。"},
    "model.unknown_type": {ENGLISH: "{model} is not a model that this app can load: its config.json names no known "
                                    "model type.",
                           CHINESE: "本应用无法加载 {model}：它的 config.json 没有写明已知的模型类型。"},
    "model.corrupt_weights": {ENGLISH: "The weights of {model} are corrupt or truncated; download them again.",
                              CHINESE: "{model} 的权重已损坏或不完整；请重新下载。"},
    "model.load_failed": {ENGLISH: "{model} could not be loaded: {detail}",
                          CHINESE: "无法加载 {model}：{detail}"},
    "model.server_busy": {ENGLISH: "The server is busy loading other models; try again in a minute.",
                          CHINESE: "服务器正忙于加载其他模型；请过一分钟再试。"},
    "model.unloaded": {ENGLISH: "{model} was unloaded; run the request again to reload it.",
                       CHINESE: "{model} 已被卸载；请重新运行请求，以再次加载它。"},
    "model.out_of_memory": {ENGLISH: "The device ran out of memory for this request; try a shorter text, fewer or "
                                     "smaller images, fewer steps, or unload other models.",
                            CHINESE: "设备内存不足，无法完成这个请求；请缩短文本、减少或缩小图片、减少步数，"
                                     "或卸载其他模型。"},
    # models: the Models tab's lines and sentences (components/system.py)
    "models.no_model_yet": {ENGLISH: "No model loaded yet · at most {limit} models kept loaded",
                            CHINESE: "还没有加载模型 · 最多同时保留 {limit} 个已加载的模型"},
    "models.device": {ENGLISH: "Device: **{device}** · at most {limit} models kept loaded",
                      CHINESE: "设备：**{device}** · 最多同时保留 {limit} 个已加载的模型"},
    "models.device_memory": {ENGLISH: "Device: **{device}** · free memory {free:.1f} GiB of {total:.1f} GiB · at most "
                                      "{limit} models kept loaded",
                             CHINESE: "设备：**{device}** · 可用内存 {free:.1f} GiB，共 {total:.1f} GiB · 最多同时保留 "
                                      "{limit} 个已加载的模型"},
    "models.ray_not_connected": {ENGLISH: "Served by Ray Serve at **{address}**: not connected yet.",
                                 CHINESE: "由位于 **{address}** 的 Ray Serve 提供服务：尚未连接。"},
    "models.ray_not_connected_because": {ENGLISH: "Served by Ray Serve at **{address}**: not connected yet "
                                                  "({failure}).",
                                         CHINESE: "由位于 **{address}** 的 Ray Serve 提供服务：尚未连接（{failure}）。"},
    "models.ray_served": {ENGLISH: "Served by Ray Serve at **{address}** · at most {limit} models per replica · "
                                   "{deployments}",
                          CHINESE: "由位于 **{address}** 的 Ray Serve 提供服务 · 每个副本最多 {limit} 个模型 · "
                                   "{deployments}"},
    "models.deployment": {ENGLISH: "**{application}** {status}, {replicas}",
                          CHINESE: "**{application}**：{status}，副本：{replicas}"},
    "models.replica_state": {ENGLISH: "{count} {state}", CHINESE: "{count} 个{state}"},
    "models.replica_one": {ENGLISH: "- replica `{replica}` of **{deployment}** on {node} ({device}): {running} request "
                                    "running · {models}",
                           CHINESE: "- **{deployment}** 的副本 `{replica}`，在 {node} 上（{device}）：{running} "
                                    "个请求在运行 · {models}"},
    "models.replica_many": {ENGLISH: "- replica `{replica}` of **{deployment}** on {node} ({device}): {running} "
                                     "requests running · {models}",
                            CHINESE: "- **{deployment}** 的副本 `{replica}`，在 {node} 上（{device}）：{running} "
                                     "个请求在运行 · {models}"},
    "models.no_device_yet": {ENGLISH: "no model loaded yet", CHINESE: "还没有加载模型"},
    "models.no_model": {ENGLISH: "no model", CHINESE: "没有模型"},
    "models.seconds_ago": {ENGLISH: "{seconds:.0f} s ago", CHINESE: "{seconds:.0f} 秒前"},
    "models.minutes_ago": {ENGLISH: "{minutes:.0f} min ago", CHINESE: "{minutes:.0f} 分钟前"},
    "models.hours_ago": {ENGLISH: "{hours:.1f} h ago", CHINESE: "{hours:.1f} 小时前"},
    "models.on_replica": {ENGLISH: "{device} · replica {replica}", CHINESE: "{device} · 副本 {replica}"},
    "models.load_time": {ENGLISH: "{seconds:.1f} s", CHINESE: "{seconds:.1f} 秒"},
    "models.unloaded_one": {ENGLISH: "Unloaded {count} model.", CHINESE: "已卸载 {count} 个模型。"},
    "models.unloaded_many": {ENGLISH: "Unloaded {count} models.", CHINESE: "已卸载 {count} 个模型。"},
    "models.pick_first": {ENGLISH: "Pick a model first.", CHINESE: "请先选择一个模型。"},
    "models.loaded_in": {ENGLISH: "Loaded in {seconds:.1f} s.", CHINESE: "加载完成，用了 {seconds:.1f} 秒。"},
    "models.unloaded": {ENGLISH: "Unloaded; its memory is free again.", CHINESE: "已卸载；它占用的内存已经释放。"},
    "models.not_loaded": {ENGLISH: "{model} is not loaded for {task}; it may have been unloaded already.",
                          CHINESE: "{model} 没有为 {task} 加载；它可能已经被卸载了。"},
    "models.hub_offline": {ENGLISH: "offline (HF_HUB_OFFLINE=1)", CHINESE: "离线（HF_HUB_OFFLINE=1）"},
    "models.hub_checking": {ENGLISH: "being checked", CHINESE: "检查中"},
    "models.hub_reachable": {ENGLISH: "reachable", CHINESE: "可以连接"},
    "models.hub_unreachable": {ENGLISH: "not reachable (checked {time})", CHINESE: "无法连接（{time} 检查）"},
    "models.ready_count": {ENGLISH: "{count} ready", CHINESE: "{count} 个就绪"},
    "models.download_one": {ENGLISH: "{count} needs a download", CHINESE: "{count} 个需要下载"},
    "models.download_one_size": {ENGLISH: "{count} needs a download ({size})", CHINESE: "{count} 个需要下载（{size}）"},
    "models.download_many": {ENGLISH: "{count} need a download", CHINESE: "{count} 个需要下载"},
    "models.download_many_size": {ENGLISH: "{count} need a download ({size})", CHINESE: "{count} 个需要下载（{size}）"},
    "models.download_many_least": {ENGLISH: "{count} need a download (at least {size})",
                                   CHINESE: "{count} 个需要下载（至少 {size}）"},
    "models.unavailable_count": {ENGLISH: "{count} not available now", CHINESE: "{count} 个暂不可用"},
    "models.checking_count": {ENGLISH: "{count} being checked", CHINESE: "{count} 个检查中"},
    "models.remote_count": {ENGLISH: "{count} on remote servers", CHINESE: "{count} 个在远程服务器上"},
    "models.summary": {ENGLISH: "Hub: {hub}. Catalog: {parts}.", CHINESE: "Hub：{hub}。目录：{parts}。"},
    "models.operator": {ENGLISH: "**For the operator:** {advice}", CHINESE: "**给运维人员：** {advice}"},
    "models.advice": {ENGLISH: "To serve models without the Hub: on a machine that reaches it, run `python app.py "
                               "--download` (it fetches the catalog's models into the Hugging Face cache; a model must "
                               "be in the catalog, --config, to be fetched), then copy the cache here; set "
                               "HF_HUB_OFFLINE=1 to skip the Hub; or point the catalog at local folders (--config).",
                      CHINESE: "要在没有 Hub 的情况下提供模型：在一台能连接 Hub 的机器上运行 `python app.py "
                               "--download`（它会把目录中的模型下载到 Hugging Face 缓存中；模型必须在目录（--config）中"
                               "才会被下载），然后把缓存复制到这里；设置 HF_HUB_OFFLINE=1 可跳过 Hub；或者让目录指向本地"
                               "文件夹（--config）。"},
    "models.advice_offline": {ENGLISH: "HF_HUB_OFFLINE is set, so only models in the Hugging Face cache or in local "
                                       "folders load: run `python app.py --download` on a machine that reaches the "
                                       "Hub and copy its cache here, or point the catalog at local folders (--config).",
                              CHINESE: "已设置 HF_HUB_OFFLINE，所以只能加载 Hugging Face 缓存或本地文件夹中的模型："
                                       "请在一台能连接 Hub 的机器上运行 `python app.py --download`，再把它的缓存复制到"
                                       "这里，或者让目录指向本地文件夹（--config）。"},
    # param: a task's declared parameters (models/base.py check_number, models/tasks.py)
    "param.not_a_number": {ENGLISH: "{name} must be a number.",
                           CHINESE: "参数 {name_zh} 必须是数字。"},
    "param.not_finite": {ENGLISH: "{name} must be a finite number, not {value!r}.",
                         CHINESE: "参数 {name_zh} 必须是有限的数字，而不是 {value!r}。"},
    "param.not_whole": {ENGLISH: "{name} must be a whole number, not {value!r}.",
                        CHINESE: "参数 {name_zh} 必须是整数，而不是 {value!r}。"},
    "param.between": {ENGLISH: "{name} must be between {low} and {high}, not {value}.",
                      CHINESE: "参数 {name_zh} 必须在 {low} 到 {high} 之间，当前为 {value}。"},
    "param.at_least": {ENGLISH: "{name} must be at least {low}, not {value}.",
                       CHINESE: "参数 {name_zh} 不能小于 {low}，当前为 {value}。"},
    "param.greater_than": {ENGLISH: "{name} must be greater than {low}, not {value}.",
                           CHINESE: "参数 {name_zh} 必须大于 {low}，当前为 {value}。"},
    "param.at_most": {ENGLISH: "{name} must be at most {high}, not {value}.",
                      CHINESE: "参数 {name_zh} 不能大于 {high}，当前为 {value}。"},
    "param.not_bool": {ENGLISH: "The option \"{label}\" ({name}) must be true or false, not {value}.",
                       CHINESE: "选项“{label}”（{name}）必须是 true 或 false，而不是 {value}。"},
    "param.not_text": {ENGLISH: "{name} must be text, not {kind}.",
                       CHINESE: "参数 {name_zh} 必须是文本，而不是 {kind}。"},
    "param.text_too_long": {ENGLISH: "{name} is {length:,} characters long; the limit is {limit:,}.",
                            CHINESE: "参数 {name_zh} 有 {length:,} 个字符，上限是 {limit:,} 个。"},
    "param.label_count": {ENGLISH: "Give between {low} and {high} {name}, separated by commas; {count} were given.",
                          CHINESE: "请给出 {low} 到 {high} 个 {name}，用逗号分隔；现在给了 {count} 个。"},
    "param.unknown": {ENGLISH: "{task} takes no parameter {name!r}; it takes {known}.",
                      CHINESE: "任务 {task_zh} 没有参数 {name!r}；它接受的参数：{known_zh}。"},
    # qa: extractive question answering (models/question_answering.py)
    "qa.question_too_long": {ENGLISH: "The question is {tokens} tokens long; keep it under {limit} tokens.",
                             CHINESE: "问题有 {tokens} 个 token；请让它少于 {limit} 个 token。"},
    "qa.no_answer": {ENGLISH: "(no answer in this text)", CHINESE: "（这段文字中没有答案）"},
    # remote: a chat model on a remote OpenAI-compatible server (models/remote.py)
    "remote.no_models_endpoint": {ENGLISH: "{server} has no /models (404); check the endpoint in the catalog: it is "
                                           "the server's OpenAI base URL, usually ending in /v1.",
                                  CHINESE: "{server} 没有 /models（404）；请检查目录中的 endpoint：它是服务器的 "
                                           "OpenAI 基础 URL，通常以 /v1 结尾。"},
    "remote.not_openai": {ENGLISH: "{server} did not answer /models as an OpenAI-compatible server does; check the "
                                   "endpoint in the catalog.",
                          CHINESE: "{server} 对 /models 的回答不像兼容 OpenAI 的服务器；请检查目录中的 endpoint。"},
    "remote.not_served": {ENGLISH: "{server} does not serve {model}; it serves {served}.",
                          CHINESE: "{server} 不提供 {model}；它提供的是：{served_zh}。"},
    "remote.serves_nothing": {ENGLISH: "{server} does not serve {model}; it serves no model now.",
                              CHINESE: "{server} 不提供 {model}；它现在不提供任何模型。"},
    "remote.unreachable": {ENGLISH: "{server} cannot be reached ({reason}); check that its server is running and the "
                                    "endpoint in the catalog.",
                           CHINESE: "无法连接 {server}（{reason_zh}）；请检查它的服务器是否在运行，以及目录中的 "
                                    "endpoint。"},
    "remote.needs_key": {ENGLISH: "{server} refused {what} ({code}): it needs a key; name the environment variable "
                                  "that holds it as api_key_env in the catalog.",
                         CHINESE: "{server} 拒绝了{what_zh}（{code}）：它需要密钥；请在目录中用 api_key_env "
                                  "写明存放密钥的环境变量。"},
    "remote.key_not_set": {ENGLISH: "{server} refused {what} ({code}): it needs a key, and {name} is not set; set "
                                    "{name} to the server's key.",
                           CHINESE: "{server} 拒绝了{what_zh}（{code}）：它需要密钥，而 {name} 没有设置；请把 {name} "
                                    "设为这个服务器的密钥。"},
    "remote.key_refused": {ENGLISH: "{server} refused the key in {name} ({code}); set {name} to a key that the "
                                    "server accepts.",
                           CHINESE: "{server} 拒绝了 {name} 中的密钥（{code}）；请把 {name} 设为服务器接受的密钥。"},
    "remote.not_found": {ENGLISH: "{server} answered 404 for {model}{said}",
                         CHINESE: "{server} 对 {model} 回答了 404{said_zh}"},
    "remote.refused": {ENGLISH: "{server} refused {what} ({code}){said}",
                       CHINESE: "{server} 拒绝了{what_zh}（{code}）{said_zh}"},
    "remote.busy": {ENGLISH: "{server} is busy (429); try again in a moment.",
                    CHINESE: "{server} 正忙（429）；请稍后再试。"},
    "remote.failed": {ENGLISH: "{server} failed ({code}){said}",
                      CHINESE: "{server} 出错了（{code}）{said_zh}"},
    "remote.failed_midway": {ENGLISH: "{server} failed midway: {detail}",
                             CHINESE: "{server} 中途出错：{detail_zh}"},
    "remote.no_logprobs": {ENGLISH: "{server} gives no token probabilities for {model}; ask without logprobs.",
                           CHINESE: "{server} 没有为 {model} 提供 token 概率；请不要请求 logprobs。"},
    # result: what a result's display says around it (components/render.py)
    "result.all_labels": {ENGLISH: "All {count} labels", CHINESE: "全部 {count} 个标签"},
    "result.all_candidates": {ENGLISH: "All {count} candidates", CHINESE: "全部 {count} 个候选词"},
    "result.all_captions": {ENGLISH: "All {count} captions", CHINESE: "全部 {count} 条说明文字"},
    # state: the model's state at the top of a tab's results (components/running.py)
    "state.ready": {ENGLISH: "<b>{label}</b> is ready on {where} in {dtype} · {size} parameters · loaded in {seconds:.1f} s.",
                    CHINESE: "<b>{label}</b> 已就绪：在 {where} 上，精度 {dtype} · 参数量 {size} · 加载用了 {seconds:.1f} 秒。"},
    "state.replica": {ENGLISH: "{device} (replica {replicas})", CHINESE: "{device}（副本 {replicas}）"},
    "state.replicas": {ENGLISH: "{device} (replicas {replicas})", CHINESE: "{device}（副本 {replicas}）"},
    "state.slow_on_cpu": {ENGLISH: " It is meant for a GPU: on this CPU it will be slow.",
                          CHINESE: "它是为 GPU 准备的：在这台 CPU 上会很慢。"},
    "state.loading": {ENGLISH: "<b>Loading {label}</b>: {phase}… {seconds:.0f} s",
                      CHINESE: "<b>正在加载 {label}</b>：{phase}… {seconds:.0f} 秒"},
    "state.failed": {ENGLISH: "<b>{label} could not be loaded.</b> {message}",
                     CHINESE: "<b>{label} 无法加载。</b>{message}"},
    "state.this_model": {ENGLISH: "This model", CHINESE: "这个模型"},
    "state.the_model": {ENGLISH: "The model", CHINESE: "模型"},
    "state.unavailable": {ENGLISH: "<b>{label}</b> is not available on this server right now; pick a model marked ready.",
                          CHINESE: "<b>{label}</b> 目前在这台服务器上不可用；请选择标记为就绪的模型。"},
    "state.idle": {ENGLISH: "<b>{label}</b> is not loaded yet: it loads on the first run.",
                   CHINESE: "<b>{label}</b> 尚未加载：第一次运行时加载。"},
    "state.idle_local": {ENGLISH: "<b>{label}</b> is not loaded yet: it loads on the first run (a folder on this server).",
                         CHINESE: "<b>{label}</b> 尚未加载：第一次运行时加载（这台服务器上的一个文件夹）。"},
    "state.idle_local_size": {ENGLISH: "<b>{label}</b> is not loaded yet: it loads on the first run (a folder on this "
                                       "server, {size}).",
                              CHINESE: "<b>{label}</b> 尚未加载：第一次运行时加载（这台服务器上的一个文件夹，{size}）。"},
    "state.idle_cached": {ENGLISH: "<b>{label}</b> is not loaded yet: it loads on the first run (in this server's cache).",
                          CHINESE: "<b>{label}</b> 尚未加载：第一次运行时加载（在这台服务器的缓存中）。"},
    "state.idle_cached_size": {ENGLISH: "<b>{label}</b> is not loaded yet: it loads on the first run (in this server's "
                                        "cache, {size}).",
                               CHINESE: "<b>{label}</b> 尚未加载：第一次运行时加载（在这台服务器的缓存中，{size}）。"},
    "state.idle_download": {ENGLISH: "<b>{label}</b> is not loaded yet: it loads on the first run after a download.",
                            CHINESE: "<b>{label}</b> 尚未加载：下载之后，第一次运行时加载。"},
    "state.idle_download_size": {ENGLISH: "<b>{label}</b> is not loaded yet: it loads on the first run after a download "
                                          "of {size}.",
                                 CHINESE: "<b>{label}</b> 尚未加载：下载 {size} 之后，第一次运行时加载。"},
    "state.for_gpu": {ENGLISH: " It is meant for a GPU.", CHINESE: "它是为 GPU 准备的。"},
    # task: the task a request names (models/tasks.py)
    "task.unknown": {ENGLISH: "Unknown task {task}; use one of: {tasks}.",
                     CHINESE: "未知的任务 {task}；请使用以下之一：{tasks}。"},
    # text: a text input, and lists of labels, captions or texts (models/base.py)
    "text.not_a_string": {ENGLISH: "The {what} must be a string, not {kind}.",
                          CHINESE: "{what_zh}必须是字符串，而不是 {kind}。"},
    "text.empty": {ENGLISH: "The {what} is empty; type some text.",
                   CHINESE: "{what_zh}是空的，请输入一些文字。"},
    "text.too_long": {ENGLISH: "The {what} is {length:,} characters long; the limit is {limit:,}.",
                      CHINESE: "{what_zh}有 {length:,} 个字符，上限是 {limit:,} 个。"},
    "text.not_unicode": {ENGLISH: "The {what} holds characters that are not valid Unicode (at position {position}); "
                                  "remove them or send UTF-8 text.",
                         CHINESE: "{what_zh}含有无效的 Unicode 字符（位置 {position}）；请删除这些字符，或发送 UTF-8 "
                                  "文本。"},
    "text.list_type": {ENGLISH: "The {what}s must be a list of strings or one string, not {kind}.",
                       CHINESE: "{what_zh}必须是字符串列表或一个字符串，而不是 {kind}。"},
    "text.list_too_many": {ENGLISH: "There are {count:,} {what}s; the limit is {limit:,}. Remove some.",
                           CHINESE: "共有 {count:,} 个{what_zh}，上限是 {limit:,} 个。请删掉一些。"},
    "text.list_item_type": {ENGLISH: "Each {what} must be a string, not {kind}.",
                            CHINESE: "每个{what_zh}都必须是字符串，而不是 {kind}。"},
    "text.list_item_too_long": {ENGLISH: "The {what} {piece!r}... is {length:,} characters long; the limit is "
                                         "{limit}.",
                                CHINESE: "{what_zh} {piece!r}... 有 {length:,} 个字符，上限是 {limit} 个。"},
    "text.list_empty": {ENGLISH: "No {what}s were given; type at least one, separated by {separator}.",
                        CHINESE: "没有给出{what_zh}；请至少输入一个，用{separator_zh}分隔。"},
    "text.read_beginning": {ENGLISH: "The text is longer than the model reads; only its beginning was classified.",
                            CHINESE: "这段文字超出了模型能读取的长度；只对开头部分做了分类。"},
    # training: fine-tuning's data checks and job (models/training.py, models/training_worker.py)
    "training.tasks": {ENGLISH: "Fine-tuning takes the tasks {tasks}, not {task!r}.",
                       CHINESE: "微调只支持这些任务：{tasks}，不支持 {task!r}。"},
    "training.columns": {ENGLISH: "The file needs columns for {options}; its columns are {found}. Name them so, or "
                                  "choose the mapping.",
                         CHINESE: "文件需要这些列：{options_zh}；它的列是：{found_zh}。请这样命名列，"
                                  "或选择列的映射。"},
    "training.mapping_column": {ENGLISH: "The mapping names a column {column!r} the file does not have.",
                                CHINESE: "映射中的列 {column!r} 在文件中不存在。"},
    "training.row": {ENGLISH: "Row {number}: {problem}",
                     CHINESE: "第 {number} 行：{problem}"},
    "training.too_few_rows": {ENGLISH: "The file has {count} rows; fine-tuning needs at least {minimum}.",
                              CHINESE: "文件有 {count} 行；微调至少需要 {minimum} 行。"},
    "training.one_label": {ENGLISH: "Every row has the same label; a classifier needs at least two.",
                           CHINESE: "每一行的标签都相同；分类器至少需要两种标签。"},
    "training.too_many_labels": {ENGLISH: "The file has {count} labels; the limit is {limit}.",
                                 CHINESE: "文件有 {count} 种标签，上限是 {limit} 种。"},
    "training.format": {ENGLISH: "The file must be CSV, TSV, JSONL or JSON, not {suffix}.",
                        CHINESE: "文件必须是 CSV、TSV、JSONL 或 JSON，而不是 {suffix_zh}。"},
    "training.unreadable": {ENGLISH: "The file could not be read; upload it again.",
                            CHINESE: "无法读取文件；请重新上传。"},
    "training.too_big": {ENGLISH: "The file is {size:.1f} MB; the limit is {limit} MB.",
                         CHINESE: "文件大小为 {size:.1f} MB，上限是 {limit} MB。"},
    "training.not_utf8": {ENGLISH: "The file is not UTF-8 text (byte {byte} is not); save it as UTF-8.",
                          CHINESE: "文件不是 UTF-8 文本（第 {byte} 个字节不符合）；请另存为 UTF-8。"},
    "training.line_not_json": {ENGLISH: "Line {number} is not JSON.",
                               CHINESE: "第 {number} 行不是 JSON。"},
    "training.not_parsable": {ENGLISH: "The file could not be read as {format}: {detail}.",
                              CHINESE: "无法按 {format} 读取文件：{detail}。"},
    "training.not_rows": {ENGLISH: "The file must hold one object (a row with named columns) per row.",
                          CHINESE: "文件的每一行都必须是一个对象（带有列名的一行数据）。"},
    "training.too_many_rows": {ENGLISH: "The file has {count:,} rows; the limit is {limit:,}.",
                               CHINESE: "文件有 {count:,} 行，上限是 {limit:,} 行。"},
    "training.field_not_text": {ENGLISH: "its {what} is not text.",
                                CHINESE: "{what_zh}不是文本。"},
    "training.field_missing": {ENGLISH: "it has no {what}.",
                               CHINESE: "缺少{what_zh}。"},
    "training.field_empty": {ENGLISH: "its {what} is empty.",
                             CHINESE: "{what_zh}是空的。"},
    "training.field_too_long": {ENGLISH: "its {what} is {length:,} characters long; the limit is {limit:,}.",
                                CHINESE: "{what_zh}有 {length:,} 个字符，上限是 {limit:,} 个。"},
    "training.no_label": {ENGLISH: "it has no label.",
                          CHINESE: "缺少标签。"},
    "training.label_type": {ENGLISH: "its label is not a word or a number.",
                            CHINESE: "标签不是一个词或一个数字。"},
    "training.not_a_list": {ENGLISH: "its {what} are not a list.",
                            CHINESE: "{what_zh}不是列表。"},
    "training.no_tokens": {ENGLISH: "it has no tokens.",
                           CHINESE: "没有词（tokens）。"},
    "training.tag_count": {ENGLISH: "it has {tokens} tokens but {tags} tags; give one tag per token.",
                           CHINESE: "有 {tokens} 个词（tokens），却有 {tags} 个标记（tags）；每个词需要一个标记。"},
    "training.bad_tag": {ENGLISH: "its tag {tag!r} is not O or B-/I- followed by a type (B-PER, I-LOC).",
                         CHINESE: "标记 {tag!r} 既不是 O，也不是 B-/I- 加类型（如 B-PER、I-LOC）。"},
    "training.entity_type": {ENGLISH: "an entity is not an object with start, end and label.",
                             CHINESE: "有一个实体不是带有 start、end 和 label 的对象。"},
    "training.entity_offsets": {ENGLISH: "an entity's start and end ({start}, {end}) are not character offsets "
                                         "inside its text of {length} characters.",
                                CHINESE: "有一个实体的 start 和 end（{start}, {end}）不在它那段 {length} "
                                         "个字符的文本之内。"},
    "training.entities_overlap": {ENGLISH: "two of its entities overlap.",
                                  CHINESE: "有两个实体互相重叠。"},
    "training.message_type": {ENGLISH: "a message is not an object with a role (system, user or assistant).",
                              CHINESE: "有一条消息不是带有 role（system、user 或 assistant）的对象。"},
    "training.no_assistant": {ENGLISH: "it has no assistant message to learn from.",
                              CHINESE: "没有可供学习的 assistant 消息。"},
    "training.eval_labels": {ENGLISH: "The evaluation file has labels the training file lacks: {labels}.",
                             CHINESE: "评估文件中有训练文件没有的标签：{labels}。"},
    "training.method": {ENGLISH: "method must be full or lora, not {value!r}.",
                        CHINESE: "参数 method 必须是 full 或 lora，而不是 {value!r}。"},
    "training.number_range": {ENGLISH: "{name} must be a number from {low:g} to {high:g}, not {value!r}.",
                              CHINESE: "参数 {name} 必须是 {low:g} 到 {high:g} 之间的数字，而不是 {value!r}。"},
    "training.time_limit": {ENGLISH: "The training passed its time limit of {seconds:.0f} s while it was loading or "
                                     "evaluating, and was ended; nothing was saved.",
                            CHINESE: "训练在加载或评估时超过了 {seconds:.0f} 秒的时间限制，已被终止；"
                                     "没有保存任何内容。"},
    "training.ended": {ENGLISH: "The training process ended without a result (it ran out of memory, or was killed); "
                                "try a smaller batch size or model.",
                       CHINESE: "训练进程没有给出结果就结束了（内存不足，或被终止）；请尝试更小的 batch size "
                                "或更小的模型。"},
    "training.needs_peft": {ENGLISH: "LoRA needs the peft package: pip install -r requirements-train.txt.",
                            CHINESE: "LoRA 需要 peft 包：pip install -r requirements-train.txt。"},
    "training.lora_targets": {ENGLISH: "LoRA cannot be set on this model: {detail} Name its target modules.",
                              CHINESE: "无法在这个模型上设置 LoRA：{detail} 请指定它的目标模块。"},
    "training.eval_label_unknown": {ENGLISH: "The evaluation rows have a label the training rows lack: {label!r}.",
                                    CHINESE: "评估数据中有训练数据没有的标签：{label!r}。"},
    "training.lora_share": {ENGLISH: "LoRA trains {trainable:,} of {total:,} parameters ({share}%).",
                            CHINESE: "LoRA 训练 {total:,} 个参数中的 {trainable:,} 个（{share}%）。"},
    "training.new_head": {ENGLISH: "The base model's head predicts {had} labels ({have}); it was replaced by a new "
                                   "head for the data's {count} ({labels}).",
                          CHINESE: "基础模型的输出头预测 {had} 个标签（{have}）；它已被换成适合数据中 {count} 个标签"
                                   "（{labels}）的新输出头。"},
    "training.failed": {ENGLISH: "Training failed: {kind}: {detail}",
                        CHINESE: "训练失败：{kind}：{detail}"},
    # zero_shot: zero-shot classification (models/text.py)
    "zero_shot.not_nli": {ENGLISH: "{model} is not a natural-language-inference model: none of its labels is "
                                   "'entailment'; pick a zero-shot model.",
                          CHINESE: "{model} 不是自然语言推理模型：它的标签中没有 'entailment'；"
                                   "请选择零样本分类模型。"},
    "zero_shot.template": {ENGLISH: "The hypothesis template must hold {{}} exactly once, where the label goes, like "
                                    "'This example is {{}}.'",
                           CHINESE: "假设模板必须恰好包含一次 {{}}，标签会填在那里，例如 'This example is {{}}.'"},
    "zero_shot.hypothesis_too_long": {ENGLISH: "A hypothesis (the template with a label) is {tokens} tokens long; "
                                               "keep the template and each label under {limit} tokens together.",
                                      CHINESE: "有一个假设（模板加上一个标签）有 {tokens} 个 token；"
                                               "模板和每个标签合起来请少于 {limit} 个 token。"},
}

# Words a template's values may need in another language (the English word is the value; `_zh` its Chinese).
WORDS_ZH = {
    # what a text input is (check_text, check_unicode, parse_texts, training's columns)
    "text": "文本", "prompt": "提示词", "question": "问题", "context": "上下文", "query": "查询",
    "search text": "搜索文本", "negative prompt": "反向提示词", "template": "模板", "labels": "标签", "label": "标签",
    "captions": "说明文字", "caption": "说明文字", "message": "消息", "messages": "消息",
    "last message": "最后一条消息", "completion": "回答", "tokens": "词（tokens）", "tags": "标记（tags）",
    "entities": "实体", "commas or new lines": "逗号或换行", "new lines": "换行", "none": "无",
    "a file without an ending": "没有扩展名的文件",
    # the tasks' task_label (a model made for another task: model.wrong_kind)
    "text generation": "文本生成", "text classification": "文本分类",
    "token classification (entities)": "命名实体识别", "fill-mask (masked language modelling)": "完形填空（掩码语言模型）",
    "natural-language inference": "自然语言推理", "extractive question answering": "抽取式问答",
    "image classification": "图像分类", "chat on a remote server": "远程服务器上的聊天",
    # why a remote server was not reached (models/remote.py _reason, _error_text)
    "it did not answer in time": "它没有及时应答", "connection refused": "连接被拒绝", "unknown host": "主机名未知",
    "its TLS certificate was not accepted": "它的 TLS 证书未被接受", "it closed the connection": "它关闭了连接",
    "network error": "网络错误", "the stream broke off.": "数据流中断了。",
    # an explanation's baseline (models/explain.py)
    "the pad token in place of every word's token (special tokens kept)": "每个词的 token 都换成填充 token，特殊 token 保留",
    "the all-zero input after the model's normalisation (the mean colour)": "模型归一化之后的全零输入，即平均颜色",
}


class Message(str):
    """A sentence with its key: the English text as a str, rendered in another language on demand."""

    key: str
    values: dict[str, Any]

    def __new__(cls, key: str, **values: Any) -> "Message":
        templates = MESSAGES[key]
        text = templates[ENGLISH].format(**_with_words(values, ENGLISH))
        message = super().__new__(cls, text)
        message.key, message.values = key, values
        return message

    def __reduce__(self) -> tuple:  # pickled as its key and values (an error that crosses to a Ray replica)
        return (_rebuild, (self.key, self.values))

    def render(self, language: str | None) -> str:
        """The sentence in `language` (a key of LANGUAGES); English where the key has no such template."""
        template = MESSAGES[self.key].get(language or ENGLISH) or MESSAGES[self.key][ENGLISH]
        return template.format(**_with_words(self.values, language or ENGLISH))


class Joined(Message):
    """Parts said one after another (Messages or plain text), each in the reader's language, with that language's
    punctuation: `Joined(parts)` a list ("a, b"; "a、b"), "sentences" ("A. B."; "A。B。"), "clauses" one sentence
    ("a; b."; "a；b。"). It can be a value of a Message, or the whole sentence of an error; none is "" (falsy)."""

    KINDS = {"list": {ENGLISH: (", ", ""), CHINESE: ("、", "")},   # language: (between, at the end)
             "sentences": {ENGLISH: (" ", ""), CHINESE: ("", "")},
             "clauses": {ENGLISH: ("; ", "."), CHINESE: ("；", "。")}}

    def __new__(cls, parts: Any, kind: str = "list") -> "Joined":
        parts = tuple(parts)
        joined = str.__new__(cls, cls._join([str(p) for p in parts], cls.KINDS[kind][ENGLISH]))
        joined.key, joined.values, joined.parts, joined.kind = "", {}, parts, kind
        return joined

    @staticmethod
    def _join(texts: list[str], punctuation: tuple[str, str]) -> str:
        return punctuation[0].join(texts) + punctuation[1] if texts else ""

    def render(self, language: str | None) -> str:
        kind = self.KINDS[self.kind]
        return self._join([render(p, language) for p in self.parts], kind.get(language or ENGLISH, kind[ENGLISH]))

    def __reduce__(self) -> tuple:
        return (Joined, (self.parts, self.kind))


def _rebuild(key: str, values: dict[str, Any]) -> Message:
    return Message(key, **values)


def _with_words(values: dict[str, Any], language: str) -> dict[str, Any]:
    """The values (a Message among them rendered in `language`), plus `<name>_zh` for each that was not given
    one: the value's Chinese word where WORDS_ZH has one, else the value."""
    out = {name: value.render(language) if isinstance(value, Message) else value for name, value in values.items()}
    for name, value in list(out.items()):
        out.setdefault(f"{name}_zh", WORDS_ZH.get(value, value) if isinstance(value, str) else value)
    return out


def say(key: str, **values: Any) -> Message:
    """The message `key` with its values: raise it inside an error (`InvalidInput(say(...), field=...)`)."""
    return Message(key, **values)


def render(text: Any, language: str | None) -> str:
    """A sentence in `language` when it was written with a key (a Message), else as it is."""
    return text.render(language) if isinstance(text, Message) else str(text)
