package clip

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestTokenizerMatchesReference compares with the ids of OpenAI's tokenizer
// algorithm (scripts/clip_tokenizer_ref.py) on testdata/tokenizer_cases.json.
func TestTokenizerMatchesReference(t *testing.T) {
	cases := openAICases(t)
	if len(cases) < 300 {
		t.Fatalf("only %d cases", len(cases))
	}
	tok, err := DefaultTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if got := tok.Tokenize(c.Text); !reflect.DeepEqual(got, c.IDs) {
			t.Errorf("%q:\n got %v\nwant %v", c.Text, got, c.IDs)
		}
	}
}

type openAICase struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

// openAICases reads testdata/tokenizer_cases.json.
func openAICases(t *testing.T) []openAICase {
	t.Helper()
	raw, err := os.ReadFile("testdata/tokenizer_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []openAICase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestTokenizeTruncationKeepsEnd(t *testing.T) {
	tok, _ := DefaultTokenizer()
	long := ""
	for i := 0; i < 100; i++ {
		long += "dog "
	}
	ids := tok.Tokenize(long)
	if len(ids) != ContextLength || ids[0] != StartToken || ids[ContextLength-1] != EndToken {
		t.Fatalf("len %d, first %d, last %d", len(ids), ids[0], ids[len(ids)-1])
	}
}

// A model folder's tokenizer.json (Hugging Face BPE: vocab and merges, with
// the normaliser, pre-tokenizer and post-processor of CLIP's files)
// replaces the default vocabulary.
func TestTokenizerJSONOverridesDefault(t *testing.T) {
	dir := t.TempDir()
	doc := `{"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}, {"type": "Lowercase"}]},
	  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
	    {"type": "Split", "pattern": {"Regex": "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"}, "behavior": "Removed", "invert": true},
	    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
	  "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", 1], "cls": ["<|startoftext|>", 0], "trim_offsets": false, "add_prefix_space": false},
	  "decoder": {"type": "ByteLevel"},
	  "added_tokens": [{"id": 0, "content": "<|startoftext|>", "normalized": true, "special": true}, {"id": 1, "content": "<|endoftext|>", "normalized": true, "special": true}],
	  "model": {"type": "BPE", "end_of_word_suffix": "</w>", "continuing_subword_prefix": "", "unk_token": null,
	  "vocab": {"<|startoftext|>": 0, "<|endoftext|>": 1, "d": 2, "o": 3, "g": 4, "g</w>": 5, "do": 6, "dog</w>": 7},
	  "merges": ["d o", "do g</w>"]}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "clip", "text_config": {"max_position_embeddings": 4, "vocab_size": 8}}`), 0o644)
	tok, err := TokenizerForDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Tokenize("Dog"); !reflect.DeepEqual(got, []int32{0, 7, 1}) {
		t.Fatalf("got %v", got)
	}
	if got := tok.Tokenize("DOG  dog\tdog"); !reflect.DeepEqual(got, []int32{0, 7, 7, 1}) {
		t.Fatalf("truncated to 4: got %v", got)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"model": {"type": "WordLevel", "vocab": {"a": 0}}}`), 0o644)
	if _, err := TokenizerForDir(dir); err == nil || err.Error() != `tokenizer.json: model "WordLevel" is not supported` {
		t.Fatalf("a WordLevel tokenizer.json must be refused by name, got %v", err)
	}
}
