#!/usr/bin/env python3
"""Writes internal/wordnet/testdata/nltk_facts.json: facts about WordNet 3.0
nouns as NLTK's reader reports them, the reference every ConVis user has.
Run once (Debian: python3-nltk, wordnet-base):

    scripts/nltk_wordnet_dir.sh /tmp/nltk_data
    NLTK_DATA=/tmp/nltk_data /usr/bin/python3 scripts/nltk_facts.py
"""
import json
import random

from nltk.corpus import wordnet as wn

rng = random.Random(20240611)
nouns = sorted(wn.all_synsets("n"), key=lambda s: s.offset())
picked = rng.sample(nouns, 250)
for name in ["dog.n.01", "entity.n.01", "mouse.n.01", "mouse.n.04", "cat.n.01",
             "animal.n.01", "tabby.n.01", "ice_cream.n.01", "tow_truck.n.01",
             "einstein.n.01", "person.n.01", "goose.n.01", "t-shirt.n.01"]:
    picked.append(wn.synset(name))


def names(ss):
    return [s.name() for s in ss]


synsets = []
for s in picked:
    synsets.append({
        "name": s.name(),
        "wnid": "n%08d" % s.offset(),
        "offset": s.offset(),
        "lemmas": s.lemma_names(),
        "definition": s.definition(),
        "examples": s.examples(),
        "hypernyms": names(s.hypernyms()),
        "instance_hypernyms": names(s.instance_hypernyms()),
        "hyponyms": names(s.hyponyms()),
        "instance_hyponyms": names(s.instance_hyponyms()),
        # NLTK's closure() can yield a synset twice in a DAG; count distinct ones.
        "hyponym_closure": len(set(s.closure(lambda x: x.hyponyms()))),
    })

words = ["dog", "dogs", "Dogs", "geese", "mice", "MICE", "children", "boxes", "wolves",
         "churches", "dishes", "women", "berries", "buses", "glasses", "t-shirt",
         "ice_cream", "cat", "bank", "bass", "crane", "mouse", "apple", "car", "cars",
         "oxen", "teeth", "feet", "knives", "leaves", "potatoes", "tomatoes", "fish",
         "sheep", "deer", "people", "xyzzy", "qwertyuiop", "entity", "thing", "things"]
words += [rng.choice(s.lemma_names()).lower() for s in rng.sample(nouns, 120)]
words += [w + "s" for w in rng.sample(sorted({l.lower() for s in nouns[:20000] for l in s.lemma_names()}), 60)]
lookups = [{"word": w, "synsets": names(wn.synsets(w, pos="n"))} for w in words]

with open("internal/wordnet/testdata/nltk_facts.json", "w") as f:
    json.dump({"source": "NLTK %s WordNet 3.0 reader" % __import__("nltk").__version__,
               "synsets": synsets, "lookups": lookups}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(len(synsets), "synsets,", len(lookups), "lookups")
