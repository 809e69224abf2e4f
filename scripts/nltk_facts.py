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

# NLTK-style names that are not a synset's own: wn.synset("trumpet.n.01")
# is sense 1 of the lemma trumpet, cornet.n.01. Datasets use such names.
rng2 = random.Random(7)
sense_names = ["trumpet.n.01", "dog.n.02", "dog.n.03", "horn.n.01", "cat.n.02", "car.n.02", "seal.n.09"]
lemmas = sorted({l.name().lower() for s in nouns for l in s.lemmas()})
while len(sense_names) < 60:
    lemma = rng2.choice(lemmas)
    ss = wn.synsets(lemma, pos="n")
    ss = [s for s in wn._lemma_pos_offset_map[lemma]["n"]] if lemma in wn._lemma_pos_offset_map else []
    for i in range(len(ss)):
        name = "%s.n.%02d" % (lemma, i + 1)
        if wn.synset(name).name() != name and name not in sense_names:
            sense_names.append(name)
            break
sense = [{"name": n, "synset": wn.synset(n).name()} for n in sense_names]

with open("internal/wordnet/testdata/nltk_facts.json", "w") as f:
    json.dump({"source": "NLTK %s WordNet 3.0 reader" % __import__("nltk").__version__,
               "synsets": synsets, "lookups": lookups, "sense_names": sense}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(len(synsets), "synsets,", len(lookups), "lookups,", len(sense), "sense names")
