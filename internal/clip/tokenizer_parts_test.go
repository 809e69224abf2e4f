package clip

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// loadDoc writes a tokenizer.json (and config.json) into a fresh folder and
// loads the folder's tokenizer.
func loadDoc(t *testing.T, doc map[string]any) (*Tokenizer, error) {
	t.Helper()
	dir := t.TempDir()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "test", "text_config": {"max_position_embeddings": 16}}`), 0o644)
	return TokenizerForDir(dir)
}

func mustLoadDoc(t *testing.T, doc map[string]any) *Tokenizer {
	t.Helper()
	tok, err := loadDoc(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A small SentencePiece-style Unigram file: SigLIP's kind of normaliser
// (punctuation removed, lower case, spaces collapsed), Metaspace, </s>
// appended, padded to 8 with </s>.
func siglipLikeDoc() map[string]any {
	return map[string]any{
		"truncation": map[string]any{"max_length": 8, "direction": "Right"},
		"padding":    map[string]any{"strategy": map[string]any{"Fixed": 8}, "direction": "Right", "pad_id": 1, "pad_token": "</s>"},
		"added_tokens": []any{
			map[string]any{"id": 0, "content": "<pad>", "special": true}, map[string]any{"id": 1, "content": "</s>", "special": true}, map[string]any{"id": 2, "content": "<unk>", "special": true},
		},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]"}, "content": ""},
			map[string]any{"type": "Lowercase"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": "\\s+"}, "content": " "},
			map[string]any{"type": "Strip", "strip_left": true, "strip_right": true},
		}},
		"pre_tokenizer":  map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"post_processor": map[string]any{"type": "TemplateProcessing", "single": []any{map[string]any{"Sequence": map[string]any{"id": "A"}}, map[string]any{"SpecialToken": map[string]any{"id": "</s>"}}}, "special_tokens": map[string]any{"</s>": map[string]any{"id": "</s>", "ids": []int{1}}}},
		"decoder":        map[string]any{"type": "Metaspace"},
		"model": map[string]any{"type": "Unigram", "unk_id": 2, "byte_fallback": false, "vocab": [][]any{
			{"<pad>", 0}, {"</s>", 0}, {"<unk>", 0}, {"▁a", -1.0}, {"▁dog", -2.0}, {"▁d", -3.0}, {"og", -3.0}, {"o", -4.0}, {"g", -4.0}, {"▁", -5.0}, {"d", -4.0}, {"▁do", -2.5},
		}},
	}
}

func TestUnigramSigLIPLike(t *testing.T) {
	t.Parallel()
	tok := mustLoadDoc(t, siglipLikeDoc())
	for _, c := range []struct {
		text string
		ids  []int32
		mask int
	}{
		{"A, dog!", []int32{3, 4, 1, 1, 1, 1, 1, 1}, 3},
		{"  DOG   (a)  ", []int32{4, 3, 1, 1, 1, 1, 1, 1}, 3},
		{"日日 dog", []int32{9, 2, 4, 1, 1, 1, 1, 1}, 4}, // ▁ then one fused unknown
		{"dogo", []int32{4, 7, 1, 1, 1, 1, 1, 1}, 3},
		{"a a a a a a a a a a", []int32{3, 3, 3, 3, 3, 3, 3, 1}, 8}, // truncated, </s> kept last
		{"", []int32{1, 1, 1, 1, 1, 1, 1, 1}, 1},
	} {
		ids, mask := tok.TokenizeMask(c.text)
		n := 0
		for _, m := range mask {
			n += int(m)
		}
		if !slices.Equal(ids, c.ids) || n != c.mask {
			t.Errorf("%q: got %v (mask %v), want %v (%d real)", c.text, ids, mask, c.ids, c.mask)
		}
	}
	doc := siglipLikeDoc()
	doc["model"].(map[string]any)["byte_fallback"] = true
	vocab := doc["model"].(map[string]any)["vocab"].([][]any)
	vocab = append(vocab, []any{"<0xE6>", 0.0}, []any{"<0x97>", 0.0}, []any{"<0xA5>", 0.0})
	doc["model"].(map[string]any)["vocab"] = vocab
	tok = mustLoadDoc(t, doc)
	if got := tok.Tokenize("日"); !slices.Equal(got[:5], []int32{9, 12, 13, 14, 1}) {
		t.Errorf("byte fallback: got %v", got)
	}
}

// NFKC (full-width letters) before the SigLIP-like steps.
func TestUnigramNFKC(t *testing.T) {
	t.Parallel()
	doc := siglipLikeDoc()
	n := doc["normalizer"].(map[string]any)
	n["normalizers"] = append([]any{map[string]any{"type": "NFKC"}}, n["normalizers"].([]any)...)
	tok := mustLoadDoc(t, doc)
	if got := tok.Encode("Ａ　ＤＯＧ！"); !slices.Equal(got, []int32{3, 4}) {
		t.Errorf("got %v", got)
	}
}

// The WordPiece file with BertProcessing in place of TemplateProcessing
// gives the same [CLS] ... [SEP] sequences.
func TestWordPieceBertProcessing(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/tokenizers/wordpiece/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.Unmarshal(data, &doc)
	doc["post_processor"] = map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}}
	checkParity(t, mustLoadDoc(t, doc), loadParity(t).WordPiece)
}

func TestTokenizerJSONErrorsNameThePart(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"normalizer", func(d map[string]any) { d["normalizer"] = map[string]any{"type": "Nmt"} }, `tokenizer.json: normalizer "Nmt" is not supported`},
		{"nested normalizer", func(d map[string]any) {
			d["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFC"}, map[string]any{"type": "Foo"}}}
		}, `tokenizer.json: normalizer "Foo" is not supported`},
		{"charsmap", func(d map[string]any) {
			d["normalizer"] = map[string]any{"type": "Precompiled", "precompiled_charsmap": "AAE="}
		}, `tokenizer.json: normalizer "Precompiled": precompiled charsmap of 2 bytes is too short`},
		{"pre_tokenizer", func(d map[string]any) { d["pre_tokenizer"] = map[string]any{"type": "UnicodeScripts"} }, `tokenizer.json: pre_tokenizer "UnicodeScripts" is not supported`},
		{"look-ahead", func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `a(?=b)`}, "behavior": "Removed"}
		}, `tokenizer.json: pre_tokenizer "Split": regex "a(?=b)" is not supported by Go's regexp`},
		{"behavior", func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"String": "-"}, "behavior": "Sideways"}
		}, `tokenizer.json: pre_tokenizer "Split": behavior "Sideways" is not supported`},
		{"post_processor", func(d map[string]any) { d["post_processor"] = map[string]any{"type": "Magic"} }, `tokenizer.json: post_processor "Magic" is not supported`},
		{"decoder", func(d map[string]any) { d["decoder"] = map[string]any{"type": "Magic"} }, `tokenizer.json: decoder "Magic" is not supported`},
		{"model", func(d map[string]any) {
			d["model"] = map[string]any{"type": "WordLevel", "vocab": map[string]int{"a": 0}}
		}, `tokenizer.json: model "WordLevel" is not supported`},
		{"dropout", func(d map[string]any) {
			d["model"] = map[string]any{"type": "BPE", "dropout": 0.1, "vocab": map[string]int{"a": 0}, "merges": []string{}}
		}, `tokenizer.json: model "BPE": dropout is not supported (it makes tokenization random)`},
		{"padding", func(d map[string]any) { d["padding"] = map[string]any{"strategy": "Longest"} }, `tokenizer.json: padding strategy "Longest" is not supported`},
		{"unk_id", func(d map[string]any) { d["model"].(map[string]any)["unk_id"] = 99 }, `tokenizer.json: model Unigram: unk_id 99 outside the vocabulary of 12`},
	} {
		doc := siglipLikeDoc()
		c.edit(doc)
		_, err := loadDoc(t, doc)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
}

// Without a tokenizer file, only an OpenAI CLIP gets the bundled vocabulary.
func TestTokenizerForDirNeverFallsBackSilently(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ config, want string }{
		{`{"model_type": "clip"}`, ""},
		{`{"model_type": "clip", "text_config": {"vocab_size": 49408}}`, ""},
		{`{"model_type": "siglip"}`, `config.json says model_type "siglip"`},
		{`{"model_type": "clip", "text_config": {"vocab_size": 30522}}`, "config.json says a vocabulary of 30522, not OpenAI's 49408"},
		{`{}`, "config.json has no model_type"},
		{"", "config.json has no model_type"},
	} {
		dir := t.TempDir()
		if c.config != "" {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(c.config), 0o644)
		}
		tok, err := TokenizerForDir(dir)
		switch {
		case c.want == "" && (err != nil || tok.Source() != "bundled OpenAI CLIP vocabulary"):
			t.Errorf("%s: %v", c.config, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.config, err, c.want)
		}
	}
}

// A Precompiled normaliser without a charsmap (null, empty, or an empty
// trie), as files converted from identity-normalised models have, maps
// nothing.
func TestPrecompiledWithoutCharsmap(t *testing.T) {
	t.Parallel()
	for _, cm := range []any{nil, "", "AAAAAA=="} {
		doc := siglipLikeDoc()
		doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "Precompiled", "precompiled_charsmap": cm}, map[string]any{"type": "Lowercase"}}}
		tok := mustLoadDoc(t, doc)
		if got := tok.Encode("A dog"); !slices.Equal(got, []int32{3, 4}) {
			t.Errorf("charsmap %v: %v", cm, got)
		}
	}
}

func TestPaddingAndTruncationSides(t *testing.T) {
	t.Parallel()
	doc := siglipLikeDoc()
	doc["padding"] = map[string]any{"strategy": map[string]any{"Fixed": 5}, "direction": "Left", "pad_id": 0, "pad_to_multiple_of": 4}
	doc["truncation"] = map[string]any{"max_length": 4, "direction": "Left"}
	tok := mustLoadDoc(t, doc)
	ids, mask := tok.TokenizeMask("a dog")
	if !slices.Equal(ids, []int32{0, 0, 0, 0, 0, 3, 4, 1}) || !slices.Equal(mask, []int32{0, 0, 0, 0, 0, 1, 1, 1}) {
		t.Errorf("left padding to a multiple of 4: %v %v", ids, mask)
	}
	if got := tok.Tokenize("a a a dog"); !slices.Equal(got, []int32{0, 0, 0, 0, 3, 3, 4, 1}) {
		t.Errorf("left truncation: %v", got)
	}
}

func TestAddedTokenOptions(t *testing.T) {
	t.Parallel()
	doc := siglipLikeDoc()
	doc["normalizer"] = map[string]any{"type": "Lowercase"}
	doc["added_tokens"] = []any{
		map[string]any{"id": 0, "content": "<pad>", "lstrip": true, "rstrip": true},
		map[string]any{"id": 1, "content": "</s>"},
		map[string]any{"id": 5, "content": "<x>", "normalized": true, "single_word": true},
	}
	tok := mustLoadDoc(t, doc)
	for _, c := range []struct {
		text string
		ids  []int32
	}{
		{"a <pad> dog", []int32{3, 0, 4}},    // the spaces around <pad> go with it
		{"a</s>dog", []int32{3, 1, 4}},       // raw match
		{"a <X> dog", []int32{3, 9, 5, 4}},   // matched after Lowercase
		{"a<X>dog", []int32{3, 2, 10, 6}},    // single_word: not inside a word
		{"A <PAD> dog", []int32{3, 9, 0, 4}}, // not normalized: not an added token after lower-casing, but <pad> is a piece of the lattice
	} {
		got := tok.Encode(c.text)
		if !slices.Equal(got, c.ids) {
			t.Errorf("%q: got %v, want %v", c.text, got, c.ids)
		}
	}
}

func TestMetaspaceSchemes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		scheme string
		split  bool
		want   []string
	}{
		{"always", true, []string{"▁a", "▁b"}},
		{"never", true, []string{"a", "▁b"}},
		{"first", false, []string{"▁a▁b"}},
		{"", true, []string{"a", "▁b"}}, // older files: "add_prefix_space": false
	} {
		part := map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": c.scheme, "split": c.split}
		if c.scheme == "" {
			delete(part, "prepend_scheme")
			part["add_prefix_space"] = false
		}
		raw, _ := json.Marshal(part)
		pt, err := readPreTokenizer(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := pt([]string{"a b"}, true); !slices.Equal(got, c.want) {
			t.Errorf("%s split=%v: %q", c.scheme, c.split, got)
		}
	}
}

func TestSplitBehaviors(t *testing.T) {
	t.Parallel()
	for behavior, want := range map[string][]string{
		"Removed":            {"a", "b", "c"},
		"Isolated":           {"a", "-", "-", "b", "-", "c"},
		"MergedWithPrevious": {"a-", "-", "b-", "c"},
		"MergedWithNext":     {"a", "-", "-b", "-c"},
		"Contiguous":         {"a", "--", "b", "-", "c"},
	} {
		raw, _ := json.Marshal(map[string]any{"type": "Split", "pattern": map[string]any{"String": "-"}, "behavior": behavior})
		pt, err := readPreTokenizer(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := pt([]string{"a--b-c"}, true); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", behavior, got, want)
		}
	}
}

func TestWordPieceMaxCharsAndUnknown(t *testing.T) {
	t.Parallel()
	m, err := newWordPiece(map[string]int32{"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "a": 4}, "[UNK]", "##", 8)
	if err != nil {
		t.Fatal(err)
	}
	for word, want := range map[string][]int32{"unaffable": {0}, "unaff": {1, 2}, "unable": {1, 3}, "unx": {0}, "a": {4}} {
		if got := m.tokenize(word); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", word, got, want)
		}
	}
}

// Byte-level BPE with a Lowercase normaliser equals the same BPE on
// lower-cased text (ASCII strings, where every lower-casing agrees).
func TestBPELowercase(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/tokenizers/bpe/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.Unmarshal(data, &doc)
	plain := mustLoadDoc(t, doc)
	doc["normalizer"] = map[string]any{"type": "Lowercase"}
	lower := mustLoadDoc(t, doc)
	n := 0
	for _, s := range loadParity(t).Strings {
		if strings.IndexFunc(s, func(r rune) bool { return r > 127 }) >= 0 || strings.ToLower(s) == s {
			continue
		}
		n++
		if a, b := lower.Encode(s), plain.Encode(strings.ToLower(s)); !slices.Equal(a, b) {
			t.Errorf("%q: %v, want %v", s, a, b)
		}
		if slices.Equal(lower.Encode(s), plain.Encode(s)) {
			t.Errorf("%q: lower-casing changed nothing", s)
		}
	}
	if n < 200 {
		t.Fatalf("only %d strings with upper case", n)
	}
}

// BPE options Hugging Face files use: a continuing-subword prefix, an
// unknown token (fused), byte fallback.
func TestBPEOptions(t *testing.T) {
	t.Parallel()
	vocab := map[string]int32{"<unk>": 0, "a": 1, "##b": 2, "ab": 3, "<0xC3>": 4, "<0xA9>": 5, "c": 6}
	m, err := newBPEModel(vocab, [][2]string{{"a", "##b"}}, bpeOptions{continuingSubwordPrefix: "##", unk: 0, fuseUnk: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.tokenize("abxyc"); !slices.Equal(got, []int32{3, 0}) {
		// "##x", "##y" and "##c" (only "c" is in the vocabulary) fuse into one <unk>
		t.Errorf("abxyc: %v", got)
	}
	if got := m.tokenize("ab"); !slices.Equal(got, []int32{3}) {
		t.Errorf("ab: %v", got)
	}
	if got := m.tokenize("axy"); !slices.Equal(got, []int32{1, 0}) {
		t.Errorf("fused unknowns: %v", got)
	}
	m, _ = newBPEModel(vocab, nil, bpeOptions{unk: 0, byteFallback: true})
	if got := m.tokenize("é"); !slices.Equal(got, []int32{4, 5}) {
		t.Errorf("byte fallback: %v", got)
	}
}

// A SigLIP (config.json model_type "siglip") is padded to its context length
// with tokenizer_config.json's pad token even when the file has no padding:
// the text tower pools the last position.
func TestSigLIPPadsToContext(t *testing.T) {
	t.Parallel()
	doc := siglipLikeDoc()
	delete(doc, "padding")
	doc["truncation"] = nil
	data, _ := json.Marshal(doc)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "siglip", "text_config": {"max_position_embeddings": 6}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"pad_token": "</s>", "model_max_length": 5}`), 0o644)
	tok, err := TokenizerForDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, mask := tok.TokenizeMask("a dog")
	if !slices.Equal(ids, []int32{3, 4, 1, 1, 1}) || !slices.Equal(mask, []int32{1, 1, 1, 0, 0}) {
		t.Errorf("got %v %v", ids, mask)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "clip", "text_config": {"vocab_size": 12}}`), 0o644)
	if tok, err = TokenizerForDir(dir); err != nil || tok.FixedLength() != 0 || len(tok.Tokenize("a dog")) != 3 {
		t.Errorf("not a SigLIP: fixed length %d, %v", tok.FixedLength(), err)
	}
	os.Remove(filepath.Join(dir, "tokenizer.json"))
	data, _ = os.ReadFile("testdata/tokenizers/unigram/spiece.model")
	os.WriteFile(filepath.Join(dir, "spiece.model"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "siglip"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"model_max_length": 64}`), 0o644)
	if tok, err = TokenizerForDir(dir); err != nil || tok.FixedLength() != 64 || tok.PadID() != 1 {
		t.Errorf("spiece.model SigLIP: fixed %d, pad %d, %v", tok.FixedLength(), tok.PadID(), err)
	}
}

// Without any maximum length the file is refused, naming what was looked for.
func TestNoMaximumLength(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n"), 0o644)
	_, err := TokenizerForDir(dir)
	if err == nil || err.Error() != "vocab.txt: no maximum length: no truncation here, no model_max_length in tokenizer_config.json, no text_config.max_position_embeddings in config.json" {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"model_max_length": 1e30}`), 0o644)
	if _, err := TokenizerForDir(dir); err == nil {
		t.Fatal("model_max_length 1e30 (Hugging Face's 'none') must not count")
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"text_config": {"max_position_embeddings": 8}}`), 0o644)
	tok, err := TokenizerForDir(dir)
	if err != nil || tok.ContextLength() != 8 || !slices.Equal(tok.Tokenize("a a a a a a a a a"), []int32{2, 4, 4, 4, 4, 4, 4, 3}) {
		t.Fatalf("%v", err)
	}
}
