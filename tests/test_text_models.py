"""Every transformers adapter through the manager, with tiny models that make real predictions."""
from __future__ import annotations

import math
import threading

import pytest

from models import InvalidInput, ModelManager, parse_catalog
from tests.launch import assert_plain_sentence, tokenizer_paused


@pytest.fixture(scope="module")
def manager(tiny_catalog_data: dict) -> ModelManager:
    manager = ModelManager(parse_catalog(tiny_catalog_data), device="cpu", max_loaded=10)
    yield manager
    manager.unload_all()


@pytest.fixture(scope="module")
def sentiment(manager, tiny_models):
    return manager.get("sentiment", tiny_models["sentiment"])


@pytest.fixture(scope="module")
def ner(manager, tiny_models):
    return manager.get("ner", tiny_models["ner"])


@pytest.fixture(scope="module")
def qa(manager, tiny_models):
    return manager.get("question-answering", tiny_models["qa"])


@pytest.fixture(scope="module")
def gpt2(manager, tiny_models):
    return manager.get("text-generation", tiny_models["gpt2"])


@pytest.fixture(scope="module")
def chat(manager, tiny_models):
    return manager.get("text-generation", tiny_models["chat-gpt2"])


# -- sentiment ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, first", [
    ("I love this film", "POSITIVE"), ("I hate this film", "NEGATIVE"),
    ("We adore the hotel!", "POSITIVE"), ("Honestly, I cannot stand your idea.", "NEGATIVE"),
])
def test_sentiment_ranks_the_right_label_first(sentiment, text, first):
    result = sentiment.predict(text)
    labels = result["labels"]
    assert labels[0]["label"] == first
    assert labels[0]["score"] > 0.9
    assert {d["label"] for d in labels} == {"POSITIVE", "NEGATIVE"}
    scores = [d["score"] for d in labels]
    assert scores == sorted(scores, reverse=True)
    assert math.isclose(sum(scores), 1.0, abs_tol=1e-5)
    assert result["truncated"] is False


def test_sentiment_batch_equals_one_by_one(sentiment):
    texts = ["I love this film", "I hate this film", "My friends really like the food so much.",
             "Honestly, I loathe the service.", "ok"]
    batch = sentiment.predict_batch(texts)
    assert len(batch) == len(texts)
    for text, together in zip(texts, batch):
        alone = sentiment.predict(text)
        assert [d["label"] for d in together["labels"]] == [d["label"] for d in alone["labels"]]
        for a, b in zip(together["labels"], alone["labels"]):
            assert a["score"] == pytest.approx(b["score"], abs=1e-5)


def test_sentiment_manager_batches_concurrent_requests_like_one_by_one(manager, sentiment, tiny_models):
    texts = [f"I {verb} {thing}." for verb in ("love", "hate", "enjoy", "detest") for thing in ("this book", "the food")]
    expected = [sentiment.predict(t) for t in texts]
    results: list = [None] * len(texts)
    barrier = threading.Barrier(len(texts))

    def ask(i: int) -> None:
        barrier.wait()
        results[i] = manager.predict("sentiment", tiny_models["sentiment"], texts[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for got, want in zip(results, expected):
        assert got is not None
        assert [d["label"] for d in got["labels"]] == [d["label"] for d in want["labels"]]
        assert got["labels"][0]["score"] == pytest.approx(want["labels"][0]["score"], abs=1e-5)


@pytest.mark.parametrize("problem_type", [None, "regression"])
def test_a_classifier_with_one_output_scores_as_the_transformers_pipeline(tiny_models, tmp_path, problem_type):
    """A softmax over one logit is always 1.0: a one-output head gets a sigmoid (a yes/no score), or
    its raw value when it is a regressor, as transformers' text-classification pipeline gives."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification, pipeline

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["sentiment"])
    torch.manual_seed(0)
    one = BertForSequenceClassification.from_pretrained(tiny_models["sentiment"], num_labels=1,
                                                        id2label={0: "SCORE"}, label2id={"SCORE": 0},
                                                        problem_type=problem_type, ignore_mismatched_sizes=True)
    with torch.no_grad():
        one.classifier.weight.normal_(0, 0.5)
        one.classifier.bias.fill_(0.3)
    one.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    reference = pipeline("text-classification", model=str(tmp_path), device="cpu")
    manager = ModelManager(parse_catalog({"sentiment": [str(tmp_path)]}), device="cpu")
    try:
        for text in ("I love this film", "I hate this film", "The train was late again."):
            ours = manager.predict("sentiment", None, text)["labels"]
            expected = reference(text)[0]
            assert [d["label"] for d in ours] == [expected["label"]] == ["SCORE"]
            assert ours[0]["score"] == pytest.approx(expected["score"], abs=1e-6)
            assert ours[0]["score"] < 0.9999 or problem_type == "regression"
    finally:
        manager.unload_all()


def test_sentiment_long_text_is_truncated_and_says_so(sentiment):
    result = sentiment.predict("I love this film. " * 40)
    assert result["truncated"] is True
    assert result["labels"][0]["label"] == "POSITIVE"


@pytest.mark.parametrize("bad", ["", "   ", None, 42, ["I love it"]])
def test_sentiment_rejects_bad_text(sentiment, bad):
    with pytest.raises(InvalidInput, match=r"\w+ .*\."):
        sentiment.predict(bad)


def test_sentiment_rejects_too_long_text(sentiment):
    with pytest.raises(InvalidInput, match="limit"):
        sentiment.predict("a" * 100_001)


# -- named entities ------------------------------------------------------------------------------------

def spans(result: dict) -> list[tuple[str, str]]:
    return [(e["entity"], e["text"]) for e in result["entities"]]


def check_exact(text: str, result: dict) -> None:
    for e in result["entities"]:
        assert text[e["start"]:e["end"]] == e["text"]
        assert 0 < e["score"] <= 1


def test_ner_finds_person_and_city_with_exact_spans(ner):
    text = "José García lives in Bogotá."
    result = ner.predict(text)
    check_exact(text, result)
    assert spans(result) == [("PER", "José García"), ("LOC", "Bogotá")]
    person = result["entities"][0]
    assert (person["start"], person["end"]) == (0, len("José García"))


def test_ner_merges_sub_tokens_of_a_name_into_one_entity(ner):
    name = "Bartholomew Higgins"
    assert len(ner.tokenizer.tokenize(name)) > 3, "the test needs a name split into several sub-tokens"
    text = f"{name} moved to Düsseldorf last year."
    result = ner.predict(text)
    check_exact(text, result)
    assert spans(result) == [("PER", name), ("LOC", "Düsseldorf")]


@pytest.mark.parametrize("prefix", [
    "Renée Dubois moved to Zürich last year. ",      # é, ü earlier: offsets are characters, not bytes
    "🎉 Café au lait, crème brûlée. ",               # an emoji (4 bytes, 2 UTF-16 units) and accents
    "Łódź, Kraków, São Paulo: ",
])
def test_ner_spans_are_characters_after_multibyte_text(ner, prefix):
    text = prefix + "Zoë Kravitz lives in Buenos Aires."
    result = ner.predict(text)
    check_exact(text, result)
    persons = [e for e in result["entities"] if e["text"] == "Zoë Kravitz"]
    assert persons and persons[0]["entity"] == "PER"
    assert persons[0]["start"] == len(prefix)
    cities = [e for e in result["entities"] if e["text"] == "Buenos Aires"]
    assert cities and cities[0]["entity"] == "LOC" and cities[0]["start"] == text.index("Buenos Aires")


def test_ner_long_text_over_several_windows_finds_the_entity_at_the_end(ner):
    text = "The weather was quiet all day. It rained for a while. " * 30 + "Renée Dubois lives in Kraków."
    tokens = len(ner.tokenizer(text)["input_ids"])
    window = ner.model.config.max_position_embeddings
    assert tokens > 4 * window
    result = ner.predict(text)
    check_exact(text, result)
    assert spans(result) == [("PER", "Renée Dubois"), ("LOC", "Kraków")]
    assert result["entities"][0]["start"] == text.index("Renée")


def test_ner_names_cut_by_a_window_edge_stay_whole(ner):
    """Shift the name one token at a time past a window boundary: never split into pieces."""
    filler = "The weather was quiet all day. It rained for a while. The train was late again. " * 3
    name, city = "Bartholomew Higgins", "Reykjavík"
    for k in range(0, 26):
        prefix = filler + " ".join(["Some birds sang outside."] * (k // 4)) + " " + \
            " ".join("noon lunch week day".split()[:k % 4]) + ". "
        text = prefix + f"{name} lives in {city}. " + "The meeting starts at noon. " * 6
        result = ner.predict(text)
        check_exact(text, result)
        assert [(e["entity"], e["text"], e["start"]) for e in result["entities"]] == [
            ("PER", name, len(prefix)), ("LOC", city, text.index(city))], k


def test_ner_batch_equals_one_by_one(ner):
    texts = ["José García lives in Bogotá.", "Yesterday Amélie Poulain visited Wellington.",
             "The weather was quiet all day. " * 20 + "Ask Søren Kierkegaard about Tokyo."]
    batch = ner.predict_batch(texts)
    for text, together in zip(texts, batch):
        alone = ner.predict(text)
        assert spans(together) == spans(alone)
        assert [e["start"] for e in together["entities"]] == [e["start"] for e in alone["entities"]]
        for a, b in zip(together["entities"], alone["entities"]):
            assert a["score"] == pytest.approx(b["score"], abs=1e-5)


def test_ner_text_without_entities(ner):
    assert ner.predict("The meeting starts at noon.")["entities"] == []


# -- question answering --------------------------------------------------------------------------------

@pytest.mark.parametrize("person, city, job", [
    ("José García", "Bogotá", "teacher"), ("Zoë Kravitz", "São Paulo", "pilot"),
    ("Bartholomew Higgins", "Düsseldorf", "nurse"),
])
def test_qa_answers_the_city_and_the_job(qa, person, city, job):
    context = f"{person} lives in {city}. {person} works as a {job}."
    result = qa.predict({"question": f"Where does {person} live?", "context": context})
    assert result["answer"] == city
    assert context[result["start"]:result["end"]] == city
    assert result["start"] == context.index(city)
    assert 0 < result["score"] <= 1 and result["windows"] == 1
    result = qa.predict({"question": f"What does {person} do?", "context": context})
    assert result["answer"] == job and context[result["start"]:result["end"]] == job


def test_qa_offsets_are_characters_after_multibyte_text(qa):
    context = "🎉 Café au lait was served after lunch. Renée Dubois works as a baker. Renée Dubois lives in Zürich."
    result = qa.predict({"question": "Where does Renée Dubois live?", "context": context})
    assert result["answer"] == "Zürich"
    assert context[result["start"]:result["end"]] == "Zürich"


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_qa_long_context_over_several_windows(qa, where):
    filler = "The train was late again. Some birds sang outside. It rained for a while. "
    facts = "Amélie Poulain lives in Nairobi. Amélie Poulain works as a chemist. "
    parts = {"start": facts + filler * 12, "middle": filler * 6 + facts + filler * 6, "end": filler * 12 + facts}
    context = parts[where].strip()
    result = qa.predict({"question": "Where does Amélie Poulain live?", "context": context})
    assert result["windows"] >= 3
    assert result["answer"] == "Nairobi"
    assert context[result["start"]:result["end"]] == "Nairobi"


def test_qa_windows_hold_while_another_request_tokenizes(qa):
    """A fast tokenizer keeps its truncation settings on itself: another request's call in the
    middle of this one's must not leave this one's long context untruncated (one window too long)."""
    filler = "The train was late again. Some birds sang outside. It rained for a while. "
    inputs = {"question": "Where does Amélie Poulain live?",
              "context": (filler * 6 + "Amélie Poulain lives in Nairobi. " + filler * 6).strip()}
    expected = qa.predict(inputs)
    assert expected["windows"] >= 3
    out: dict = {}
    with tokenizer_paused(qa.tokenizer, "runner") as paused:
        runner = threading.Thread(target=lambda: out.update(qa.predict(inputs)), name="runner")
        runner.start()
        assert paused.wait(10), "the request never tokenized its windows"
        with pytest.raises(InvalidInput):  # a question too long: its last tokenizer call truncates nothing
            qa.predict({"question": "Where does Zoë live " * 10 + "?", "context": "Zoë lives in Paris."})
        runner.join(30)
    assert out == expected


def reference_answer(qa, question: str, context: str, max_answer_tokens: int) -> str | None:
    """transformers' QA post-processing (QuestionAnsweringPipeline, align_to_words=True,
    handle_impossible_answer=True) on the same model's logits, for a context that fits one window:
    the best span's tokens, widened to the words they touch through the fast tokenizer's word ids;
    None when the null answer scores higher."""
    import torch

    enc = qa.tokenizer(question, context, truncation="only_second", max_length=64, return_tensors="pt")
    assert enc.encodings[0].overflowing == [], "the reference handles one window"
    with torch.inference_mode():
        out = qa.model(**enc)
    is_context = torch.tensor([s == 1 for s in enc.sequence_ids(0)])
    cls = enc["input_ids"][0].tolist().index(qa.tokenizer.cls_token_id)
    keep = is_context.clone()
    keep[cls] = True
    mask = torch.where(keep, 0.0, float("-inf"))
    p_start, p_end = (out.start_logits[0] + mask).softmax(-1), (out.end_logits[0] + mask).softmax(-1)
    null = float(p_start[cls] * p_end[cls])
    scores = torch.triu((p_start * is_context)[:, None] * (p_end * is_context)[None, :]).tril(max_answer_tokens - 1)
    s, e = divmod(int(scores.argmax()), scores.shape[1])
    if null > float(scores[s, e]):
        return None
    start = enc.word_to_chars(enc.token_to_word(s), sequence_index=1).start
    end = enc.word_to_chars(enc.token_to_word(e), sequence_index=1).end
    return context[start:end]


@pytest.mark.parametrize("question, context", [
    ("Where does Zoë live?", "Zoë lives in Reykjavík."),
    ("Where does Olúwaseun Adébáyọ̀ live?", "Olúwaseun Adébáyọ̀ lives in Reykjavík."),
    ("Who lives in Zürich?", "🎉 Łukasz Nowak lives in Zürich."),
    ("What does Bartholomew Higgins do?", "Bartholomew Higgins works as a carpenter. He lives in Málaga."),
])
@pytest.mark.parametrize("max_answer_tokens", [1, 2, 30])
def test_qa_answers_are_whole_words_as_the_reference_reads_them(qa, question, context, max_answer_tokens):
    """A span ending inside a word ("M" of "Montréal", "…at h" of "…at home") is widened to the
    words it touches, in every window, as transformers' QA post-processing does; max_answer_tokens=1
    makes the model's best span one sub-token of a word split into several."""
    result = qa.predict({"question": question, "context": context}, max_answer_tokens=max_answer_tokens)
    assert result["answer"] == reference_answer(qa, question, context, max_answer_tokens)
    if result["answer"] is None:
        return
    assert context[result["start"]:result["end"]] == result["answer"]
    words = context.replace(".", " ").split()
    assert all(word in words for word in result["answer"].split()), f"{result['answer']!r} cuts a word"


def test_qa_a_city_split_into_sub_tokens_comes_back_whole(qa):
    assert len(qa.tokenizer.tokenize("Reykjavík")) > 3, "the test needs a city split into several sub-tokens"
    context = "🎉 Café au lait was served after lunch. Renée Dubois lives in Reykjavík."
    for max_answer_tokens in (1, 2, 3):
        result = qa.predict({"question": "Where does Renée Dubois live?", "context": context},
                            max_answer_tokens=max_answer_tokens)
        assert (result["answer"], result["start"]) == ("Reykjavík", context.index("Reykjavík"))


class _Encoding(dict):
    """What whole_words reads of a fast tokenizer's encoding: word ids and character offsets."""

    def __init__(self, words: list, offsets: list) -> None:
        super().__init__(offset_mapping=offsets)
        self.words = words

    def word_ids(self) -> list:
        return self.words


def test_qa_widening_trims_the_space_a_sentencepiece_word_carries_in_front() -> None:
    from models.question_answering import whole_words

    context = "She lives in Montréal, today."
    # SentencePiece (DeBERTa-v3, XLM-R): "▁Montréal" is one word whose offsets take the space before it
    encoding = _Encoding([0, 1, 2, 3, 3, 3, 4, 5, 5],
                         [(0, 3), (3, 9), (9, 12), (12, 15), (15, 18), (18, 21), (21, 22), (22, 28), (28, 29)])
    start = context.index("ntr")
    assert context[slice(*whole_words(encoding, start, start + 3, context))] == "Montréal"
    assert context[slice(*whole_words(encoding, 12, 21, context))] == "Montréal"


def test_qa_widening_stops_within_a_long_word_without_spaces(qa) -> None:
    """In a script written without spaces (Thai, kana) a "word" can be a whole sentence: a side grows
    by at most 20 characters."""
    from models.question_answering import MAX_WIDENING, whole_words

    long_word = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"
    context = f"Zoë lives in {long_word}."
    encoding = qa.tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
    middle = context.index(long_word) + 28
    start, end = whole_words(encoding, middle, middle + 2, context)
    assert middle - MAX_WIDENING <= start <= middle and middle + 2 <= end <= middle + 2 + MAX_WIDENING
    start, end = whole_words(encoding, context.index(long_word) + 1, context.index(long_word) + 3, context)
    assert start == context.index(long_word)  # a short reach to the word's edge is still taken


def test_qa_reads_the_null_answer_at_the_cls_token_of_a_left_padding_tokenizer(qa, tmp_path, tiny_models):
    """The windows are padded to the longest; a left-padding tokenizer moves the last window's CLS
    away from index 0 (where a pad then sits), and the null answer must still be read at the CLS."""
    import json
    import shutil

    import torch

    folder = shutil.copytree(tiny_models["qa"], tmp_path / "left-padding-qa")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "padding_side": "left"}))
    manager = ModelManager(parse_catalog({"question-answering": [str(folder)]}), device="cpu")
    try:
        left = manager.get("question-answering", str(folder))
        assert left.tokenizer.padding_side == "left"
        question, context = "Where does José García live?", "The weather was quiet all day. " * 20
        result = left.predict({"question": question, "context": context})
        enc = left.tokenizer(question, context, truncation="only_second", max_length=64, stride=16,
                             return_overflowing_tokens=True, padding="longest", return_tensors="pt")
        assert result["windows"] == enc["input_ids"].shape[0] >= 2
        assert enc["input_ids"][-1, 0] == left.tokenizer.pad_token_id, "the last window is not left-padded"
        with torch.inference_mode():
            out = left.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                             token_type_ids=enc["token_type_ids"])
        null = []
        for w in range(enc["input_ids"].shape[0]):
            cls = enc["input_ids"][w].tolist().index(left.tokenizer.cls_token_id)
            keep = torch.tensor([s == 1 for s in enc.sequence_ids(w)])
            keep[cls] = True
            mask = torch.where(keep, 0.0, float("-inf"))
            null.append(float((out.start_logits[w] + mask).softmax(-1)[cls] * (out.end_logits[w] + mask).softmax(-1)[cls]))
        assert result["answer"] is None
        assert result["score"] == pytest.approx(min(null), rel=1e-5)
    finally:
        manager.unload_all()


@pytest.mark.parametrize("context", [
    "The weather was quiet all day. It rained for a while.",
    "José García works as a teacher.",
    "The weather was quiet all day. " * 20,
])
def test_qa_says_no_answer_when_the_context_has_none(qa, context):
    result = qa.predict({"question": "Where does José García live?", "context": context})
    assert result["answer"] is None and result["start"] is None and result["end"] is None
    assert 0 < result["score"] <= 1


@pytest.mark.parametrize("inputs", [
    {"question": "", "context": "Zoë lives in Paris."}, {"question": "Where?", "context": ""},
    {"context": "Zoë lives in Paris."}, None, {"question": "x " * 2000, "context": "Zoë lives in Paris."},
])
def test_qa_rejects_bad_inputs(qa, inputs):
    with pytest.raises(InvalidInput):
        qa.predict(inputs)


def test_qa_rejects_a_question_longer_than_half_the_window(qa):
    with pytest.raises(InvalidInput, match="question"):
        qa.predict({"question": "Where does Zoë live " * 10 + "?", "context": "Zoë lives in Paris."})


# -- text generation ------------------------------------------------------------------------------------

def test_generation_streams_growing_updates_then_done(gpt2):
    updates = list(gpt2.stream("I love this film", max_new_tokens=60, seed=1))
    partial, final = updates[:-1], updates[-1]
    assert len(partial) >= 3
    assert all(not u["done"] for u in partial)
    for before, after in zip(partial, partial[1:]):
        assert after["text"].startswith(before["text"]) and len(after["text"]) > len(before["text"])
        assert after["new_tokens"] >= before["new_tokens"]
    assert final["done"] is True and final["stopped"] is False
    assert final["text"].startswith(partial[-1]["text"])
    assert 0 < final["new_tokens"] <= 60
    assert final["seed"] == 1
    assert final["first_token_seconds"] is not None and final["seconds"] >= final["first_token_seconds"]


def test_generation_same_seed_same_text_other_seeds_differ(gpt2):
    params = dict(max_new_tokens=30, do_sample=True, temperature=1.0, top_p=0.95, top_k=50)
    first = gpt2.predict("I love this film", seed=123, **params)
    again = gpt2.predict("I love this film", seed=123, **params)
    assert first["text"] == again["text"] and first["seed"] == 123
    others = {gpt2.predict("I love this film", seed=s, **params)["text"] for s in (1, 2, 3)}
    assert len(others | {first["text"]}) >= 3


def test_generation_seed_holds_while_other_requests_sample_at_the_same_time(gpt2):
    params = dict(max_new_tokens=40, do_sample=True, temperature=1.2)
    alone = {seed: gpt2.predict("I love this film", seed=seed, **params)["text"] for seed in (11, 12)}
    seeds = [11, 12, 11, 12]
    results: list = [None] * len(seeds)
    barrier = threading.Barrier(len(seeds))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = gpt2.predict("I love this film", seed=seeds[i], **params)["text"]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(seeds))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [alone[s] for s in seeds]


def test_generation_without_seed_reports_the_seed_it_drew(gpt2):
    result = gpt2.predict("I love this film", max_new_tokens=10)
    assert 0 <= result["seed"] < 2**32
    again = gpt2.predict("I love this film", max_new_tokens=10, seed=result["seed"])
    assert again["text"] == result["text"]


def test_generation_greedy_is_deterministic(gpt2):
    a = gpt2.predict("The weather was", max_new_tokens=20, do_sample=False, seed=1)
    b = gpt2.predict("The weather was", max_new_tokens=20, do_sample=False, seed=2)
    assert a["text"] == b["text"]
    assert a["new_tokens"] == 20


def test_generation_stops_early_when_asked(gpt2):
    stop = threading.Event()
    updates = []
    for update in gpt2.stream("I love this film", max_new_tokens=200, seed=3, stop=stop):
        updates.append(update)
        if len(updates) == 2:
            stop.set()
    final = updates[-1]
    assert final["done"] is True and final["stopped"] is True
    assert final["new_tokens"] < 50
    assert final["text"].startswith(updates[1]["text"])


def test_generation_stop_of_one_request_does_not_stop_another(gpt2):
    """Leaving one stream early must not end a stream running at the same time."""
    stop = threading.Event()
    other: dict = {}

    def run_other() -> None:
        other["result"] = gpt2.predict("The weather was", max_new_tokens=80, seed=5)

    first = gpt2.stream("I love this film", max_new_tokens=200, seed=3, stop=stop)
    next(first)
    worker = threading.Thread(target=run_other)
    worker.start()
    stop.set()
    list(first)
    worker.join(60)
    assert other["result"]["stopped"] is False


def test_chat_model_uses_its_template(chat):
    assert chat.is_chat
    ids, _ = chat.encode("Hello there")
    decoded = chat.tokenizer.decode(ids[0])
    assert "<|user|>" in decoded and "Hello there" in decoded and decoded.rstrip().endswith("<|assistant|>")
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
               {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}]
    decoded = chat.tokenizer.decode(chat.encode(history)[0][0])
    for marker in ("<|system|>Be brief.<|end|>", "<|user|>Hi<|end|>", "<|assistant|>Hello<|end|>", "<|user|>Bye"):
        assert marker in decoded
    result = chat.predict(history, max_new_tokens=12, seed=4)
    assert result["done"] and 0 < result["new_tokens"] <= 12
    assert "<|" not in result["text"]  # special tokens are not shown


def test_plain_model_refuses_a_chat_and_has_no_template(gpt2):
    assert not gpt2.is_chat
    decoded = gpt2.tokenizer.decode(gpt2.encode("Hello there")[0][0])
    assert decoded == "Hello there"
    with pytest.raises(InvalidInput, match="chat template"):
        gpt2.predict([{"role": "user", "content": "Hi"}], max_new_tokens=5)


@pytest.mark.parametrize("messages", [[], [{"role": "user"}], ["hi"], [{"role": "user", "content": 3}]])
def test_chat_rejects_malformed_messages(chat, messages):
    with pytest.raises(InvalidInput):
        chat.predict(messages, max_new_tokens=5)


BAD_PARAMS = [
    {"temperature": 0, "do_sample": True}, {"temperature": -1}, {"temperature": 101},
    {"top_p": 0}, {"top_p": 1.5}, {"top_p": -0.1}, {"top_k": -1}, {"top_k": 2.5},
    {"repetition_penalty": 0}, {"repetition_penalty": -1},
    {"max_new_tokens": 0}, {"max_new_tokens": 100_000}, {"max_new_tokens": 1.5},
    {"seed": -1}, {"seed": 2**32}, {"seed": 1.5},
    {"temperature": float("nan")}, {"top_p": float("nan")}, {"max_new_tokens": float("inf")},
    {"temperature": float("inf")}, {"seed": float("nan")}, {"repetition_penalty": float("-inf")},
    {"temperature": "abc"}, {"top_k": "abc"}, {"max_new_tokens": "abc"}, {"seed": "abc"},
    {"temperature": None}, {"max_new_tokens": [5]},
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=lambda p: ",".join(f"{k}={v!r}" for k, v in p.items()))
def test_generation_rejects_bad_parameters_with_a_sentence(gpt2, params):
    with pytest.raises(InvalidInput) as info:
        gpt2.predict("I love this film", **params)
    message = str(info.value)
    assert message[0].isalpha() and message.endswith(".") and len(message.split()) >= 4
    assert "Traceback" not in message


def test_generation_accepts_greedy_with_zero_temperature_and_numeric_strings(gpt2):
    result = gpt2.predict("I love", max_new_tokens="5", temperature=0, do_sample=False, seed="7")
    assert result["done"] and result["new_tokens"] == 5 and result["seed"] == 7


def test_generation_beyond_the_context_is_refused(gpt2):
    limit = gpt2.model.config.n_positions
    with pytest.raises(InvalidInput, match=r"max_new_tokens to \d+ or less"):
        gpt2.predict("I love this film", max_new_tokens=limit)
    long_prompt = "The weather was quiet all day. " * 200
    with pytest.raises(InvalidInput, match="Shorten"):
        gpt2.predict(long_prompt, max_new_tokens=1)


def test_generation_rejects_empty_prompt(gpt2):
    with pytest.raises(InvalidInput, match="empty"):
        gpt2.predict("  ", max_new_tokens=5)


def test_generation_does_not_stream_for_other_tasks(sentiment):
    with pytest.raises(InvalidInput, match="does not stream"):
        next(iter(sentiment.stream("I love this film")))


# -- generation logprobs ----------------------------------------------------------------------------------

def vocabulary_by_bytes(pipeline) -> dict[bytes, int]:
    """Every token of the pipeline's vocabulary by its bytes (models/text.py token_bytes): a reported
    token's bytes name its id."""
    from models.text import token_bytes

    ids = list(range(len(pipeline.tokenizer)))
    found = dict(zip(token_bytes(pipeline.tokenizer)(ids), ids))
    assert len(found) == len(ids), "two tokens with the same bytes"
    return found


def model_log_softmax(folder: str, prompt_ids: list[int], reply_ids: list[int]):
    """Computed here, apart from the app: the model loaded afresh, one forward pass over prompt + reply, and
    torch.log_softmax of its logits; row j is the distribution that reply token j was drawn from."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    with torch.inference_mode():
        logits = model(torch.tensor([prompt_ids + reply_ids])).logits[0].float()
    return torch.log_softmax(logits, dim=-1)[len(prompt_ids) - 1:-1]


def prompt_ids_of(folder: str, inputs) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if isinstance(inputs, str):
        return tokenizer(inputs)["input_ids"]
    return tokenizer.apply_chat_template(inputs, add_generation_prompt=True, return_dict=True)["input_ids"]


LOGPROB_CASES = {  # name: (tiny model, input, generation parameters)
    "greedy prompt": ("gpt2", "The weather was", dict(do_sample=False, temperature=0, repetition_penalty=1.0)),
    "sampled with penalty": ("gpt2", "I love this film", dict(do_sample=True, temperature=0.7, top_k=20, top_p=0.9,
                                                              repetition_penalty=1.3, seed=4)),
    "sampled chat": ("chat-gpt2", [{"role": "user", "content": "the cat sat"}],
                     dict(do_sample=True, temperature=1.5, top_k=0, top_p=1.0, repetition_penalty=1.1, seed=9)),
}


@pytest.mark.parametrize("case", LOGPROB_CASES)
def test_generation_logprobs_are_the_models_own_log_softmax(manager, tiny_models, case):
    """Each generated token's logprob and its top alternatives equal torch.log_softmax of the model's own
    logits at that step (computed here with a forward pass on the same ids), within 1e-4, whatever the
    sampling settings (temperature, top-k, top-p, repetition penalty only change the draw); their sum is the
    reply's log-likelihood, and the perplexity exp of its mean negative."""
    import torch

    name, inputs, params = LOGPROB_CASES[case]
    folder = tiny_models[name]
    pipeline = manager.get("text-generation", folder)
    result = pipeline.predict(inputs, max_new_tokens=24, logprobs=True, top_logprobs=5, **params)
    assert set(result["logprobs"]) == {"content"}  # no thinking on these models
    entries = result["logprobs"]["content"]
    assert len(entries) == result["new_tokens"] - (result["finish_reason"] == "stop")  # an eos is not text
    assert b"".join(bytes(e["bytes"]) for e in entries).decode("utf-8", errors="replace") == result["text"]
    vocabulary = vocabulary_by_bytes(pipeline)
    reply_ids = [vocabulary[bytes(e["bytes"])] for e in entries]
    prompt_ids = prompt_ids_of(folder, inputs)
    assert len(prompt_ids) == result["prompt_tokens"]
    rows = model_log_softmax(folder, prompt_ids, reply_ids)
    for j, (entry, token) in enumerate(zip(entries, reply_ids)):
        assert entry["logprob"] == pytest.approx(float(rows[j, token]), abs=1e-4), j
        top = entry["top_logprobs"]
        assert len(top) == 5
        assert [a["logprob"] for a in top] == pytest.approx(rows[j].topk(5).values.tolist(), abs=1e-4)
        for alternative in top:  # each alternative is the token it names (ties may swap two of them)
            assert alternative["logprob"] == pytest.approx(float(rows[j, vocabulary[bytes(alternative["bytes"])]]),
                                                           abs=1e-4)
        if not params["do_sample"]:
            assert top[0]["bytes"] == entry["bytes"]  # greedy: the likeliest was taken
    likelihood = float(rows[torch.arange(len(reply_ids)), torch.tensor(reply_ids)].double().sum())
    assert math.fsum(e["logprob"] for e in entries) == pytest.approx(likelihood, abs=1e-3)
    assert result["logprob"] == pytest.approx(likelihood, abs=1e-3)
    assert result["perplexity"] == pytest.approx(math.exp(-likelihood / len(reply_ids)), rel=1e-3)


def test_generation_logprobs_change_nothing_and_cost_nothing_unless_asked(gpt2):
    params = dict(max_new_tokens=30, do_sample=True, temperature=0.9, repetition_penalty=1.2, seed=21)
    plain = gpt2.predict("I love this film", **params)
    assert not {"logprobs", "logprob", "perplexity"} & set(plain)
    asked = gpt2.predict("I love this film", logprobs=True, **params)
    assert asked["text"] == plain["text"]  # the recorder reads the logits, it changes none
    assert all(e["top_logprobs"] == [] for e in asked["logprobs"]["content"])  # top_logprobs 0: none
    updates = list(gpt2.stream("I love this film", logprobs=True, top_logprobs=1, **params))
    for before, after in zip(updates, updates[1:]):  # each update: the tokens of the text it shows, growing
        assert after["logprobs"]["content"][:len(before["logprobs"]["content"])] == before["logprobs"]["content"]
    assert "logprob" in updates[-1] and "logprob" not in updates[0]


MULTIBYTE = "Zoë 猫 🐱 café"


def test_a_tokens_bytes_are_its_own_even_within_a_character(gpt2):
    """Byte-level BPE splits a character's UTF-8 over several tokens: each gets its own bytes (OpenAI's
    `bytes`), which put together are the text, and its text is the tokenizer's own decoding of it alone."""
    from models.text import token_bytes

    tokenizer = gpt2.tokenizer
    ids = tokenizer(MULTIBYTE)["input_ids"]
    pieces = token_bytes(tokenizer)(ids)
    assert b"".join(pieces) == MULTIBYTE.encode("utf-8")
    partial = [p for p in pieces if "\ufffd" in p.decode("utf-8", errors="replace")]
    assert partial, "the tiny tokenizer should split some character here"
    for token_id, piece in zip(ids, pieces):
        token = tokenizer.convert_ids_to_tokens(token_id)
        assert piece.decode("utf-8", errors="replace") == tokenizer.convert_tokens_to_string([token])


def test_a_replys_tokens_are_those_of_the_text_shown(gpt2):
    """An update gives the tokens that begin in the text it shows: every shown character is covered,
    and no token more (a character split over tokens comes with all of them)."""
    from models.text import _TokenLogprobs

    ids = gpt2.tokenizer(MULTIBYTE)["input_ids"]
    tokens = _TokenLogprobs(gpt2, gpt2.tokenizer)
    tokens.add([(i, -1.0, [i], [-1.0]) for i in ids])
    assert tokens.shown(None, 0) == ([], tokens.entries) and len(tokens.entries) == len(ids)
    for k in range(1, len(MULTIBYTE) + 1):
        content = tokens.shown(k, 0)[1]
        text = b"".join(bytes(e["bytes"]) for e in content).decode("utf-8", errors="replace")
        fewer = b"".join(bytes(e["bytes"]) for e in content[:-1]).decode("utf-8", errors="replace")
        assert text.startswith(MULTIBYTE[:k]) and not fewer.startswith(MULTIBYTE[:k]), k
    thinking, answer = tokens.shown(None, MULTIBYTE.index("猫"))
    assert b"".join(bytes(e["bytes"]) for e in answer).decode().lstrip() == MULTIBYTE[MULTIBYTE.index("猫"):]


@pytest.mark.parametrize("params, field", [
    *[({"logprobs": True, "top_logprobs": bad}, "top_logprobs") for bad in (21, -1, 1.5, "3", True)],
    ({"top_logprobs": 3}, "top_logprobs"), ({"logprobs": "yes"}, "logprobs"), ({"logprobs": 1}, "logprobs"),
])
def test_generation_refuses_bad_logprobs_with_a_sentence(gpt2, params, field):
    with pytest.raises(InvalidInput) as info:
        gpt2.predict("I love this film", max_new_tokens=2, **params)
    assert_plain_sentence(str(info.value))
    assert info.value.field == field and field in str(info.value)


# -- image classification --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vit(manager, tiny_models):
    return manager.get("image-classification", tiny_models["vit"])


def test_tiny_vit_returns_top_k_sorted_named_labels(vit):
    from PIL import Image

    image = Image.new("RGB", (50, 40), (200, 120, 30))
    top2 = vit.predict(image, top_k=2)
    assert len(top2) == 2
    names = {"tabby cat", "golden retriever", "space shuttle"}
    assert {d["label"] for d in top2} <= names
    assert top2[0]["score"] >= top2[1]["score"]
    everything = vit.predict(image, top_k=10)  # more than the model has: all of them
    assert {d["label"] for d in everything} == names
    assert sum(d["score"] for d in everything) == pytest.approx(1.0, abs=1e-5)
    scores = [d["score"] for d in everything]
    assert scores == sorted(scores, reverse=True)


def test_tiny_vit_batch_equals_one_by_one_and_reads_paths(vit, tmp_path):
    from PIL import Image

    images = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / "blue.png"
    Image.new("RGB", (64, 20), (0, 0, 255)).save(path)
    inputs = images + [str(path)]
    batch = vit.predict_batch(inputs, top_k=3)
    for x, together in zip(inputs, batch):
        alone = vit.predict(x, top_k=3)
        assert [d["label"] for d in together] == [d["label"] for d in alone]
        for a, b in zip(together, alone):
            assert a["score"] == pytest.approx(b["score"], abs=1e-5)


@pytest.mark.parametrize("top_k", [0, -1, "abc", float("nan"), 1.5])
def test_image_classification_rejects_bad_top_k(vit, top_k):
    from PIL import Image

    with pytest.raises(InvalidInput):
        vit.predict(Image.new("RGB", (8, 8)), top_k=top_k)


def test_image_classification_rejects_a_non_image(vit):
    with pytest.raises(InvalidInput):
        vit.predict(b"not an image")


def test_real_efficientnet_sees_a_cat(manager, efficientnet):
    from pathlib import Path

    cat = Path(__file__).resolve().parent.parent / "assets" / "images" / "cat.jpg"
    if not cat.exists():
        pytest.skip("assets/images/cat.jpg is not here")
    pipeline = manager.get("image-classification", efficientnet)
    top = pipeline.predict(str(cat), top_k=5)
    assert len(top) == 5
    assert "cat" in top[0]["label"].lower()
    assert top[0]["score"] > 0.2
    manager.unload("image-classification", efficientnet)
