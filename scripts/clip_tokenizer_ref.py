#!/usr/bin/env python3
"""Reference CLIP tokenizer and the tokenizer test set.

Writes internal/clip/testdata/tokenizer_cases.json: strings and the ids that
OpenAI's CLIP tokenizer algorithm (simple_tokenizer.py: byte-level BPE over
bpe_simple_vocab_16e6, the `regex` pre-tokenizer, html.unescape twice,
whitespace clean, lower case) gives them, with start/end tokens and
truncation to 77. ftfy is not packaged by Debian, so ftfy.fix_text is stood in
for by what it does to well-formed text (curly quotes, Latin ligatures,
control characters, NFC); the test set has no mojibake.

    NLTK_DATA=/tmp/nltk_data /usr/bin/python3 scripts/clip_tokenizer_ref.py
"""
import gzip
import html
import json
import random
import unicodedata

import regex as re


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
          "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
          "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}


def fix_text(text):
    for k, v in QUOTES.items():
        text = text.replace(k, v)
    text = "".join(c for c in text if not (unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v\x1c\x1d\x1e\x1f\x85"))
    return unicodedata.normalize("NFC", text)


class SimpleTokenizer:
    def __init__(self, bpe_path):
        self.byte_encoder = bytes_to_unicode()
        merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
        merges = merges[1:49152 - 256 - 2 + 1]
        merges = [tuple(m.split()) for m in merges]
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + "</w>" for v in vocab]
        vocab += ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.encoder = {v: i for i, v in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)

    def bpe(self, token):
        if token in ("<|startoftext|>", "<|endoftext|>"):
            return [token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = [(word[i], word[i + 1]) for i in range(len(word) - 1)]
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            new, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                    new.append(best[0] + best[1])
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = new
        return word

    def encode(self, text):
        text = html.unescape(html.unescape(fix_text(text))).strip()
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for tok in re.findall(self.pat, text):
            tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(tok))
        return ids

    def tokenize(self, text, context=77):
        ids = [self.encoder["<|startoftext|>"]] + self.encode(text) + [self.encoder["<|endoftext|>"]]
        if len(ids) > context:
            ids = ids[:context]
            ids[-1] = self.encoder["<|endoftext|>"]
        return ids


def test_strings():
    from nltk.corpus import wordnet as wn
    rng = random.Random(7)
    nouns = list(wn.all_synsets("n"))
    out = ["a photo of a dog", "A Photo Of A DOG", "a photo of a {}.", ""]
    out += [s.definition() for s in rng.sample(nouns, 190)]
    out += [s.name() for s in rng.sample(nouns, 30)]
    out += ["dog's bone", "it's", "they're here", "we've got", "I'm", "you'll", "he'd", "DON'T", "y'all", "rock'n'roll",
            "Hello!!! What?!?", "...", "--- *** ###", "a,b;c:d", "(parenthesised) [bracketed] {braced}", "e.g. i.e. etc.",
            "café", "naïve résumé", "Ångström", "façade", "Zürich", "São Paulo", "crème brûlée", "e\u0301cole", "ǅemal",
            "東京タワー", "猫と犬", "你好，世界", "한국어 텍스트", "ภาษาไทย", "Ελληνικά", "русский текст", "עברית", "العربية",
            "🐶 dog", "🐱🐶🐭", "👨‍👩‍👧", "🇫🇷 flag", "I ❤ NY", "☕ coffee", "🍕🍔🍟",
            "123", "3.14159", "1,000,000", "2024-06-11", "24/7", "100%", "$5.99", "#1 fan", "x²", "½ cup", "Ⅻ",
            "  leading and trailing  ", "tabs\tand\nnewlines", "multiple     spaces", "\u00a0non-breaking\u00a0space",
            "zero\u200bwidth", "ideographic\u3000space", "line\u2028separator", "\x1cfile separator",
            "&amp; &lt; &gt;", "&quot;quoted&quot;", "&#39;apos&#39;", "&#x41;&#66;", "&amp;amp;", "Tom &amp; Jerry",
            "it\u2019s curly", "\u201cdouble\u201d", "ﬁne ﬂour", "ALL CAPS SENTENCE", "camelCaseWord", "snake_case_word",
            "kebab-case-word", "URL http://example.com/path?q=1", "email me@example.com", "C++ and C#",
            "<|startoftext|>", "<|endoftext|>", "text <|endoftext|> more", "a" * 100, "ab " * 60,
            "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis"]
    long_defs = [s.definition() for s in nouns if len(s.definition()) > 300]
    out += long_defs[:10]
    out += [" ".join(rng.sample(out[4:150], 8)) for _ in range(10)]
    return out


if __name__ == "__main__":
    tok = SimpleTokenizer("internal/clip/bpe/bpe_simple_vocab_16e6.txt.gz")
    cases = [{"text": t, "ids": tok.tokenize(t)} for t in test_strings()]
    assert cases[0]["ids"] == [49406, 320, 1125, 539, 320, 1929, 49407], cases[0]
    with open("internal/clip/testdata/tokenizer_cases.json", "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(len(cases), "cases,", sum(len(c["ids"]) == 77 for c in cases), "truncated")
