"""Texts, the hierarchy T and tokenisation shared by training, evaluation
and export. Needs NLTK_DATA pointing at WordNet 3.0 (scripts/nltk_wordnet_dir.sh)."""
import os
import sys

import numpy as np
from nltk.corpus import wordnet as wn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from clip_tokenizer_ref import SimpleTokenizer  # noqa: E402

import scenes  # noqa: E402

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
TEMPLATES = ["a photo of a {}.", "a picture of a {}.", "a {}.", "an image of a {}.", "a drawing of a {}.",
             "a {} on a background.", "a close-up photo of a {}.", "a small {}.", "a big {}.", "there is a {} here."]
BACKGROUND_TEXTS = ["random colored noise", "a plain background", "a background pattern", "an empty background",
                    "noise", "a texture"]
EVAL_TEMPLATE = "a photo of a {}."


def paper_hierarchy():
    """T for the reference word list, as internal/wordnet builds it."""
    words = [w.strip() for w in open(os.path.join(ROOT, "internal/wordnet/vocab/paper.txt")) if w.strip()]
    root = wn.synset("entity.n.01")
    reach = set(root.closure(lambda s: s.hyponyms())) | {root}
    T = set()

    def visit(s):
        if s in T or s not in reach:
            return
        T.add(s)
        for h in s.hypernyms():
            visit(h)
    for w in words:
        for s in wn.synsets(w, pos="n"):
            visit(s)
    return sorted(T, key=lambda s: s.offset())


def lemma_text(lemma):
    return lemma.replace("_", " ")


def article(text, template):
    if template.startswith("a {}") or " a {}" in template:
        if text[:1].lower() in "aeiou":
            return template.replace("a {}", "an {}")
    return template


def prompt(template, lemma):
    return article(lemma_text(lemma), template).format(lemma_text(lemma))


class _CachedTokenizer:
    """The reference tokenizer with a cache: training tokenizes the same
    captions over and over, and Python BPE is slow."""

    def __init__(self, tok):
        self.tok = tok
        self.cache = {}

    def tokenize(self, text):
        ids = self.cache.get(text)
        if ids is None:
            ids = self.cache[text] = self.tok.tokenize(text)
        return list(ids)


TOKENIZER = _CachedTokenizer(SimpleTokenizer(os.path.join(ROOT, "internal/clip/bpe/bpe_simple_vocab_16e6.txt.gz")))


def all_training_texts(T):
    texts = set(BACKGROUND_TEXTS)
    for s in T:
        texts.add(s.definition())
        for l in s.lemma_names():
            for t in TEMPLATES:
                texts.add(prompt(t, l))
    return sorted(texts)


def normalize(img):
    """PIL RGB 224×224 → CHW float32, CLIP mean/std."""
    a = np.asarray(img, dtype=np.float32) / 255.0
    return ((a - MEAN) / STD).transpose(2, 0, 1)
