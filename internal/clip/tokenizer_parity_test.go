package clip

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// The parity vectors of scripts/tokenizer_parity.py: strings (accents, CJK,
// punctuation, digits, emoji, whitespace, long texts past the context,
// WordNet glosses) and the ids of reference implementations nobody here
// wrote: google-research/bert's tokenization.py (WordPiece), the
// sentencepiece library (Unigram), openai/gpt-2's encoder.py (byte-level
// BPE with a vocabulary learnt from WordNet, not OpenAI's).
type parityCases struct {
	Strings    []string  `json:"strings"`
	WordPiece  [][]int32 `json:"wordpiece"`
	Unigram    [][]int32 `json:"unigram"`
	UnigramUnk [][]int32 `json:"unigram_unk"`
	BPE        [][]int32 `json:"bpe"`
}

var (
	parityOnce sync.Once
	parity     parityCases
	parityErr  error
)

func loadParity(t *testing.T) parityCases {
	t.Helper()
	parityOnce.Do(func() {
		f, err := os.Open("testdata/tokenizers/cases.json.gz")
		if err != nil {
			parityErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			parityErr = err
			return
		}
		parityErr = json.NewDecoder(zr).Decode(&parity)
	})
	if parityErr != nil {
		t.Fatal(parityErr)
	}
	return parity
}

func checkParity(t *testing.T, tok *Tokenizer, want [][]int32) {
	t.Helper()
	cases := loadParity(t)
	if len(cases.Strings) < 500 || len(want) != len(cases.Strings) {
		t.Fatalf("%d strings, %d expected id lists", len(cases.Strings), len(want))
	}
	bad := 0
	for i, s := range cases.Strings {
		if got := tok.Tokenize(s); !slices.Equal(got, want[i]) {
			if bad++; bad <= 10 {
				t.Errorf("%q:\n got %v\nwant %v", s, got, want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d strings differ", bad, len(cases.Strings))
	}
}

func TestWordPieceParityJSON(t *testing.T) {
	t.Parallel()
	tok, err := LoadTokenizerJSON("testdata/tokenizers/wordpiece/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind() != KindWordPiece || tok.ContextLength() != 64 {
		t.Fatalf("kind %s, context %d", tok.Kind(), tok.ContextLength())
	}
	checkParity(t, tok, loadParity(t).WordPiece)
}

func TestWordPieceParityVocabTxt(t *testing.T) {
	t.Parallel()
	tok, err := LoadVocabTxt("testdata/tokenizers/wordpiece/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	checkParity(t, tok, loadParity(t).WordPiece)
}

func TestUnigramParityJSON(t *testing.T) {
	t.Parallel()
	tok, err := LoadTokenizerJSON(unigramJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind() != KindUnigram || tok.FixedLength() != 64 || tok.PadID() != 0 || tok.EndToken() != 1 {
		t.Fatalf("kind %s, fixed length %d, pad %d, end %d", tok.Kind(), tok.FixedLength(), tok.PadID(), tok.EndToken())
	}
	checkParity(t, tok, loadParity(t).Unigram)
}

// spiece.model alone (no tokenizer.json): SentencePiece's own pipeline,
// compared unpadded.
func TestUnigramParitySentencePiece(t *testing.T) {
	t.Parallel()
	tok, err := LoadSentencePiece("testdata/tokenizers/unigram/spiece.model")
	if err != nil {
		t.Fatal(err)
	}
	checkParity(t, tok, unpadded(loadParity(t).Unigram))
}

// unpadded drops the trailing <pad> (0) of each sequence.
func unpadded(seqs [][]int32) [][]int32 {
	var out [][]int32
	for _, ids := range seqs {
		n := len(ids)
		for n > 0 && ids[n-1] == 0 {
			n--
		}
		out = append(out, ids[:n])
	}
	return out
}

// unigramJSON unpacks testdata/tokenizers/unigram/tokenizer.json.gz (stored
// gzipped: its charsmap makes it 370 kB) into a temporary folder.
func unigramJSON(tb testing.TB) string {
	tb.Helper()
	f, err := os.Open("testdata/tokenizers/unigram/tokenizer.json.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// Without byte fallback and with the identity normalisation: unknown
// characters become <unk>, a run of them one.
func TestUnigramUnknownParity(t *testing.T) {
	t.Parallel()
	tok, err := LoadTokenizerJSON("testdata/tokenizers/unigram-unk/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	checkParity(t, tok, loadParity(t).UnigramUnk)
	tok, err = LoadSentencePiece("testdata/tokenizers/unigram-unk/spiece.model")
	if err != nil {
		t.Fatal(err)
	}
	checkParity(t, tok, unpadded(loadParity(t).UnigramUnk))
}

func TestBPEParityJSON(t *testing.T) {
	t.Parallel()
	tok, err := LoadTokenizerJSON("testdata/tokenizers/bpe/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	checkParity(t, tok, loadParity(t).BPE)
}

// The model folder picks its tokenizer by the files it has.
func TestTokenizerForDirPicksFile(t *testing.T) {
	t.Parallel()
	copyFile := func(dst, src string) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ file, kind string }{
		{"wordpiece/vocab.txt", KindWordPiece}, {"unigram/spiece.model", KindUnigram}, {"bpe/tokenizer.json", KindBPE},
	} {
		dir := t.TempDir()
		copyFile(filepath.Join(dir, filepath.Base(c.file)), filepath.Join("testdata/tokenizers", c.file))
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "x", "text_config": {"max_position_embeddings": 16}}`), 0o644)
		tok, err := TokenizerForDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Kind() != c.kind || filepath.Base(tok.Source()) != filepath.Base(c.file) {
			t.Errorf("%s: kind %s from %s", c.file, tok.Kind(), tok.Source())
		}
		if got := TokenizerFiles(dir); len(got) != 1 || filepath.Base(got[0]) != filepath.Base(c.file) {
			t.Errorf("%s: TokenizerFiles %v", c.file, got)
		}
	}
}

// A tokenizer.json in the layout of Hugging Face's CLIP exports (NFC,
// whitespace Replace, Lowercase; the CLIP Split pattern and ByteLevel
// without its regex; BPE with "</w>"; RobertaProcessing), holding the
// bundled OpenAI vocabulary, gives the ids of OpenAI's reference tokenizer
// (testdata/tokenizer_cases.json) wherever the two normalisations agree:
// the file's normaliser has no HTML unescaping and no ftfy repairs, and its
// \s (Oniguruma: Unicode White_Space) lacks U+001C–U+001F, which Python's has.
func TestCLIPTokenizerJSONMatchesOpenAI(t *testing.T) {
	t.Parallel()
	def, err := DefaultTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	bpe := def.model.(*openAIBPE).bpe
	merges := make([]string, len(bpe.ranks))
	for p, r := range bpe.ranks {
		merges[r] = p[0] + " " + p[1]
	}
	special := func(id int32, s string) map[string]any {
		return map[string]any{"id": id, "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true}
	}
	doc := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens": []any{special(StartToken, "<|startoftext|>"), special(EndToken, "<|endoftext|>")},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "NFC"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": `\s+`}, "content": " "},
			map[string]any{"type": "Lowercase"}}},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`}, "behavior": "Removed", "invert": true},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}}},
		"post_processor": map[string]any{"type": "RobertaProcessing", "sep": []any{"<|endoftext|>", EndToken}, "cls": []any{"<|startoftext|>", StartToken}, "trim_offsets": false, "add_prefix_space": false},
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "", "end_of_word_suffix": "</w>",
			"fuse_unk": false, "byte_fallback": false, "vocab": bpe.vocab, "merges": merges},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "clip"}`), 0o644)
	tok, err := TokenizerForDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind() != KindBPE || tok.ContextLength() != ContextLength || tok.EndToken() != EndToken {
		t.Fatalf("kind %s, context %d, end %d", tok.Kind(), tok.ContextLength(), tok.EndToken())
	}
	cases := openAICases(t)
	fileNorm := func(s string) string {
		return strings.ToLower(strings.Join(strings.FieldsFunc(norm.NFC.String(s), isUniSpace), " "))
	}
	compared := 0
	for _, c := range cases {
		if Clean(c.Text) != fileNorm(c.Text) {
			continue
		}
		compared++
		if got := tok.Tokenize(c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("%q:\n got %v\nwant %v", c.Text, got, c.IDs)
		}
	}
	if compared < 250 {
		t.Fatalf("only %d of %d cases compared", compared, len(cases))
	}
	t.Logf("%d of %d cases compared", compared, len(cases))
}
