#!/usr/bin/env python3
"""Regenerate the tokenizer parity vectors in internal/clip/testdata/tokenizers/.

Three small tokenizers are learnt here from WordNet 3.0 glosses, and each is
run through a reference implementation that nobody on this project wrote:

  wordpiece/  vocab.txt (a BERT-style WordPiece vocabulary) and the
              tokenizer.json that describes the same tokenizer; reference:
              google-research/bert's tokenization.py (FullTokenizer).
  unigram/    spiece.model (SentencePiece Unigram, nmt_nfkc, byte fallback)
              and the tokenizer.json that describes it (as Hugging Face's
              converters write one: Precompiled charsmap, Metaspace, Unigram,
              </s> appended, padded to 64); reference: the sentencepiece
              library (Debian's python3-sentencepiece).
  unigram-unk/ the same without byte fallback (unknown characters become
              <unk>, runs of them one) and with the identity normalisation.
  bpe/        vocab.json + merges.txt (GPT-2-style byte-level BPE) and the
              tokenizer.json that describes it; reference: openai/gpt-2's
              src/encoder.py.

The references are fetched beside the project and never committed:
  git -C <mirror of github.com/google-research/bert> show HEAD:tokenization.py > /tmp/ref/tokenization.py
  git -C <mirror of github.com/openai/gpt-2> show HEAD:src/encoder.py > /tmp/ref/gpt2_encoder.py
  /usr/bin/python3 scripts/tokenizer_parity.py --ref /tmp/ref

tokenization.py imports tensorflow only for tf.gfile.GFile; a stub module
(open()) is put on the path. Needs python3-sentencepiece, python3-regex,
python3-six and /usr/share/wordnet (wordnet-base). The strings and the ids of
each reference go to cases.json.gz; internal/clip/tokenizer_parity_test.go
compares convis's ids with them exactly.
"""
import argparse
import base64
import collections
import gzip
import io
import json
import os
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "internal", "clip", "testdata", "tokenizers")
MAX_WORDPIECE = 64
MAX_UNIGRAM = 64
MAX_BPE = 77


def glosses(wordnet_dir):
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(wordnet_dir, "data." + pos), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                out.append(line.split("|", 1)[1].strip())
    return out


# Hand-written strings: accents, CJK, punctuation, digits, emoji, whitespace
# and control characters (characters of Unicode 14 or older, which both
# Python 3.11 and Go know).
FRAGMENTS = [
    "café crème brûlée", "Ångström unit", "naïve façade", "Øresund bridge", "São Paulo", "İstanbul", "Straße",
    "résumé of a señor", "Dvořák's Novému světu", "Łódź", "Þórsmörk", "coöperate", "ﬁnancial ﬂow", "Ⅻ o'clock",
    "Οδύσσεια", "Москва", "עברית", "العربية", "हिन्दी", "ภาษาไทย",
    "日本語のテキスト", "中文字符测试", "한국어 문장", "dog 狗 cat 猫", "東京タワー", "漢字かなカナ", "ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ",
    "Hello, world!!!", "(really?) -- yes; no: maybe...", "“curly” ‘quotes’", "«guillemets»", "a/b\\c|d", "#hashtag @user",
    "$100 & 50% off", "&amp; <b>bold</b>", "it's don't WON'T they'll I'd we've", "e-mail, re-enter; co-op.", "¿Qué? ¡Sí!",
    "3.14159", "1,000,000", "2024-06-11", "٣٤٥ digits", "①②③", "x²+y³", "007 agent", "A4 paper 210×297 mm", "½ cup",
    "😀 dog 🐕", "👨‍👩‍👧 family", "🇫🇷 flag", "❤️ heart", "🌍🌎🌏", "☕ coffee", "✈ plane",
    "tab\tseparated", "new\nline", "  leading and trailing  ", "zero\u200bwidth", "\u00a0non-breaking", "ctrl\x01char",
    "many     spaces", "mixed \t\n whitespace", "", " ", "a", "A", "a photo of a dog.", "UPPER CASE TEXT",
]


def build_strings(gl):
    import random
    rng = random.Random(26)
    strings = list(FRAGMENTS)
    sample = rng.sample(gl, 500)
    strings += sample
    # fragments mixed into glosses
    for i in range(150):
        f = FRAGMENTS[i % len(FRAGMENTS)]
        g = rng.choice(gl)
        strings.append(f + " " + g if i % 2 else g + " " + f)
    # long texts past every context length
    for i in range(60):
        strings.append(" ".join(rng.sample(gl, 6 + i % 5)))
    seen, out = set(), []
    for s in strings:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def stub_tensorflow():
    tf = types.ModuleType("tensorflow")
    tf.gfile = types.SimpleNamespace(GFile=lambda path, mode="r": open(path, mode, encoding="utf-8"))
    tf.io = types.SimpleNamespace(gfile=tf.gfile)
    tf.logging = types.SimpleNamespace(info=lambda *a, **k: None)
    sys.modules["tensorflow"] = tf


def load_module(path, name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- WordPiece ----

def make_wordpiece(gl, strings, bert):
    basic = bert.BasicTokenizer(do_lower_case=True)
    words = collections.Counter()
    for g in gl:
        words.update(basic.tokenize(g))
    chars = collections.Counter()
    for s in strings + gl[:5000]:
        for w in basic.tokenize(s):
            chars.update(w)
    suffixes = collections.Counter()
    for w, n in words.items():
        for k in (2, 3, 4):
            if len(w) > k + 2:
                suffixes[w[-k:]] += n
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # most characters, but not all: rare ones stay unknown
    common_chars = [c for c, n in sorted(chars.items(), key=lambda x: (-x[1], x[0]))][: max(1, int(len(chars) * 0.9))]
    vocab += common_chars + ["##" + c for c in common_chars]
    vocab += [w for w, _ in words.most_common(2500) if len(w) > 1]
    vocab += ["##" + s for s, _ in suffixes.most_common(400)]
    seen, out = set(), []
    for v in vocab:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def wordpiece_ids(bert, vocab_path, s):
    tok = bert.FullTokenizer(vocab_file=vocab_path, do_lower_case=True)
    ids = tok.convert_tokens_to_ids(tok.tokenize(s))
    ids = ids[: MAX_WORDPIECE - 2]
    return [tok.vocab["[CLS]"]] + ids + [tok.vocab["[SEP]"]]


def wordpiece_json(vocab):
    v = {p: i for i, p in enumerate(vocab)}
    special = lambda p: {"id": v[p], "content": p, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": MAX_WORDPIECE, "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": [special(p) for p in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                           "special_tokens": {p: {"id": p, "ids": [v[p]], "tokens": [p]} for p in ("[CLS]", "[SEP]")}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": v},
    }


# ---- Unigram ----

def make_unigram(gl, out_dir, vocab_size=2000, byte_fallback=True, rule="nmt_nfkc"):
    import sentencepiece as spm
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(gl[:30000]), model_writer=model, model_type="unigram", vocab_size=vocab_size,
        byte_fallback=byte_fallback, character_coverage=0.995, normalization_rule_name=rule, num_threads=1,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        minloglevel=2)
    data = model.getvalue()
    with open(os.path.join(out_dir, "spiece.model"), "wb") as f:
        f.write(data)
    sp = spm.SentencePieceProcessor(model_proto=data)
    return sp, data


def unigram_ids(sp, s):
    ids = sp.encode(s)[: MAX_UNIGRAM - 1] + [sp.eos_id()]
    return ids + [sp.pad_id()] * (MAX_UNIGRAM - len(ids))


def unigram_json(sp, data, byte_fallback=True):
    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    m.ParseFromString(data)
    special = lambda i: {"id": i, "content": sp.id_to_piece(i), "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": MAX_UNIGRAM, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": MAX_UNIGRAM}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": sp.pad_id(), "pad_type_id": 0, "pad_token": "<pad>"},
        "added_tokens": [special(i) for i in (sp.pad_id(), sp.eos_id(), sp.unk_id())],
        # SentencePiece's normaliser: the charsmap, then runs of spaces made
        # one and spaces at either end removed (remove_extra_whitespaces).
        "normalizer": {"type": "Sequence", "normalizers": ([
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(m.normalizer_spec.precompiled_charsmap).decode()}]
            if m.normalizer_spec.precompiled_charsmap else []) + [
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            {"type": "Replace", "pattern": {"Regex": "^ | $"}, "content": ""}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "special_tokens": {"</s>": {"id": "</s>", "ids": [sp.eos_id()], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": sp.unk_id(), "byte_fallback": byte_fallback,
                  "vocab": [[p.piece, p.score] for p in m.pieces]},
    }


# ---- byte-level BPE ----

def make_bpe(gl, enc_mod, n_merges=700):
    import regex
    pat = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    b2u = enc_mod.bytes_to_unicode()
    counts = collections.Counter()
    for g in gl[:20000]:
        for t in pat.findall(g):
            counts[tuple(b2u[b] for b in t.encode("utf-8"))] += 1
    words = dict(counts)
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best = max(pairs.items(), key=lambda x: (x[1], x[0]))[0]
        merges.append(best)
        new = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + n
        words = new
    vocab = {}
    for b in range(256):
        vocab[b2u[b]] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, merges


def bpe_json(vocab, merges):
    special = lambda p: {"id": vocab[p], "content": p, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": MAX_BPE, "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": [special("<|startoftext|>"), special("<|endoftext|>")],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<|startoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {p: {"id": p, "ids": [vocab[p]], "tokens": [p]} for p in ("<|startoftext|>", "<|endoftext|>")}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


def write_json(path, doc):
    data = (json.dumps(doc, ensure_ascii=False, indent=None, separators=(",", ":")) + "\n").encode("utf-8")
    if path.endswith(".gz"):
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(data)
        return
    with open(path, "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", required=True, help="folder with tokenization.py (google-research/bert) and gpt2_encoder.py (openai/gpt-2 src/encoder.py)")
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    args = ap.parse_args()
    stub_tensorflow()
    bert = load_module(os.path.join(args.ref, "tokenization.py"), "bert_tokenization")
    gpt2 = load_module(os.path.join(args.ref, "gpt2_encoder.py"), "gpt2_encoder")
    gl = glosses(args.wordnet)
    strings = build_strings(gl)
    for d in ("wordpiece", "unigram", "unigram-unk", "bpe"):
        os.makedirs(os.path.join(OUT, d), exist_ok=True)

    vocab = make_wordpiece(gl, strings, bert)
    vpath = os.path.join(OUT, "wordpiece", "vocab.txt")
    with open(vpath, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(OUT, "wordpiece", "tokenizer.json"), wordpiece_json(vocab))
    write_json(os.path.join(OUT, "wordpiece", "tokenizer_config.json"), {"do_lower_case": True, "model_max_length": MAX_WORDPIECE})
    wp = [wordpiece_ids(bert, vpath, s) for s in strings]

    sp, data = make_unigram(gl, os.path.join(OUT, "unigram"))
    # gzipped (the charsmap makes it 370 kB); the tests unpack it
    write_json(os.path.join(OUT, "unigram", "tokenizer.json.gz"), unigram_json(sp, data))
    write_json(os.path.join(OUT, "unigram", "tokenizer_config.json"), {"model_max_length": MAX_UNIGRAM})
    ug = [unigram_ids(sp, s) for s in strings]
    # no byte fallback and no charsmap (identity): unknown characters, fused
    sp2, data2 = make_unigram(gl, os.path.join(OUT, "unigram-unk"), vocab_size=800, byte_fallback=False, rule="identity")
    write_json(os.path.join(OUT, "unigram-unk", "tokenizer.json"), unigram_json(sp2, data2, byte_fallback=False))
    write_json(os.path.join(OUT, "unigram-unk", "tokenizer_config.json"), {"model_max_length": MAX_UNIGRAM})
    ug2 = [unigram_ids(sp2, s) for s in strings]

    bv, merges = make_bpe(gl, gpt2)
    write_json(os.path.join(OUT, "bpe", "vocab.json"), bv)
    with open(os.path.join(OUT, "bpe", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(a + " " + b + "\n" for a, b in merges))
    write_json(os.path.join(OUT, "bpe", "tokenizer.json"), bpe_json(bv, merges))
    enc = gpt2.Encoder(encoder=bv, bpe_merges=merges)
    bp = [[bv["<|startoftext|>"]] + enc.encode(s)[: MAX_BPE - 2] + [bv["<|endoftext|>"]] for s in strings]

    cases = {"strings": strings, "wordpiece": wp, "unigram": ug, "unigram_unk": ug2, "bpe": bp,
             "references": {"wordpiece": "google-research/bert tokenization.py FullTokenizer(do_lower_case=True), [CLS] ids[:62] [SEP]",
                            "unigram": "sentencepiece %s encode, ids[:63] </s>, padded with <pad> to 64" % __import__("sentencepiece").__version__,
                            "unigram_unk": "the same, model without byte fallback and with the identity normalisation",
                            "bpe": "openai/gpt-2 src/encoder.py Encoder.encode, <|startoftext|> ids[:75] <|endoftext|>"}}
    with gzip.GzipFile(os.path.join(OUT, "cases.json.gz"), "wb", mtime=0) as f:
        f.write(json.dumps(cases, ensure_ascii=False).encode("utf-8"))
    print("%d strings; wordpiece vocab %d, unigram vocab %d and %d, bpe vocab %d (%d merges)" % (len(strings), len(vocab), sp.get_piece_size(), sp2.get_piece_size(), len(bv), len(merges)))


if __name__ == "__main__":
    main()
