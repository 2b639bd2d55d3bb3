"""Writes the three example datasets of the Fine-tune tab (python assets/datasets/make.py): short sentences
from templates, written for this project (CC0), seeded, so every run writes the same files."""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
THINGS = ["this film", "the soundtrack", "the ending", "the main actor", "this book", "the plot", "the camera work",
          "this restaurant", "the service", "the coffee", "this phone", "the battery", "the screen", "the update"]
GOOD = ["I loved {t}.", "{T} was wonderful.", "What a delight {t} was!", "I would gladly recommend {t}.",
        "{T} made my day.", "Honestly, {t} is brilliant."]
BAD = ["I hated {t}.", "{T} was a disappointment.", "What a waste {t} was.", "I would not recommend {t}.",
       "{T} ruined my evening.", "Honestly, {t} is terrible."]
PEOPLE = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Marie Curie", "Lin Wei", "Amara Okafor", "Sofia Rossi",
          "Kenji Sato", "Priya Nair", "Lucas Martin"]
PLACES = ["London", "Paris", "Nairobi", "Tokyo", "Lima", "Oslo", "Cairo", "Toronto", "Mumbai", "Berlin"]
ORGS = ["the Royal Society", "Acme Labs", "the City Library", "Northwind", "the Open University"]
NER = ["{P} lives in {L}.", "{P} moved to {L} last year.", "{P} works for {O} in {L}.", "In {L}, {P} met a friend.",
       "{O} opened an office in {L}.", "{P} joined {O}."]
QUESTIONS = [("What is the capital of France?", "Paris."), ("How many legs does a spider have?", "Eight."),
             ("What colour is the sky on a clear day?", "Blue."), ("What do bees make?", "Honey."),
             ("Which planet is closest to the Sun?", "Mercury."), ("How many days are in a week?", "Seven."),
             ("What is water made of?", "Hydrogen and oxygen."), ("What do you call a baby cat?", "A kitten."),
             ("What is two plus three?", "Five."), ("Which animal says moo?", "A cow."),
             ("What is the opposite of hot?", "Cold."), ("What season comes after winter?", "Spring.")]


def sentiment(rng: random.Random) -> None:
    rows = []
    for _ in range(60):
        label = rng.choice(["positive", "negative"])
        t = rng.choice(THINGS)
        text = rng.choice(GOOD if label == "positive" else BAD).format(t=t, T=t[0].upper() + t[1:])
        rows.append({"text": text, "label": label})
    with open(HERE / "sentiment.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(rows)


def ner(rng: random.Random) -> None:
    with open(HERE / "ner.jsonl", "w", encoding="utf-8") as f:
        for _ in range(40):
            template = rng.choice(NER)
            values = {"P": (rng.choice(PEOPLE), "PER"), "L": (rng.choice(PLACES), "LOC"), "O": (rng.choice(ORGS), "ORG")}
            text, spans, at = "", [], 0
            while at < len(template):
                if template[at] == "{":
                    key = template[at + 1]
                    value, label = values[key]
                    spans.append({"start": len(text), "end": len(text) + len(value), "label": label})
                    text += value
                    at += 3
                else:
                    text += template[at]
                    at += 1
            f.write(json.dumps({"text": text, "entities": spans}, ensure_ascii=False) + "\n")


def chat() -> None:
    with open(HERE / "chat.jsonl", "w", encoding="utf-8") as f:
        for question, answer in QUESTIONS:
            f.write(json.dumps({"messages": [{"role": "user", "content": question},
                                             {"role": "assistant", "content": answer}]}) + "\n")


if __name__ == "__main__":
    rng = random.Random(0)
    sentiment(rng)
    ner(rng)
    chat()
