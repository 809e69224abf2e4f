package clip

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// The parity vectors of scripts/tokenizer_parity.py: strings (accents, CJK,
// punctuation, digits, emoji, whitespace, long texts past the context,
// WordNet glosses) and the ids of reference implementations nobody here
// wrote: google-research/bert's tokenization.py (WordPiece), the
// sentencepiece library (Unigram), openai/gpt-2's encoder.py (byte-level
// BPE with a vocabulary learnt from WordNet, not OpenAI's).
type parityCases struct {
	Strings   []string  `json:"strings"`
	WordPiece [][]int32 `json:"wordpiece"`
	Unigram   [][]int32 `json:"unigram"`
	BPE       [][]int32 `json:"bpe"`
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
	tok, err := LoadTokenizerJSON("testdata/tokenizers/unigram/tokenizer.json")
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
	var want [][]int32
	for _, ids := range loadParity(t).Unigram {
		n := len(ids)
		for n > 0 && ids[n-1] == 0 {
			n--
		}
		want = append(want, ids[:n])
	}
	checkParity(t, tok, want)
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
