package clip

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A cached hash is reused for unchanged files and recomputed when a file changes.
func TestModelHashCache(t *testing.T) {
	dir, m := copyFixtureModel(t)
	plain, _ := m.Hash()
	m.HashCache = filepath.Join(t.TempDir(), "hashes.json")
	first, _ := m.Hash()
	second, _ := m.Hash()
	if first != plain || second != plain {
		t.Fatalf("hashes differ: %s %s %s", plain, first, second)
	}
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"model_type": "clip", "projection_dim": 32, "x": 1}`), 0o644)
	os.Chtimes(cfg, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	changed, _ := m.Hash()
	m.HashCache = ""
	want, _ := m.Hash()
	if changed == plain || changed != want {
		t.Fatalf("a changed file must be rehashed: %s vs %s", changed, want)
	}
}

// The tokenizer file the model loads (vocab.txt here) and
// tokenizer_config.json are part of the content hash.
func TestModelHashCoversTokenizerFiles(t *testing.T) {
	t.Parallel()
	dir, m := copyFixtureModel(t)
	before, _ := m.Hash()
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n"), 0o644)
	withVocab, _ := m.Hash()
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"model_max_length": 16}`), 0o644)
	withConfig, _ := m.Hash()
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n"), 0o644)
	changed, _ := m.Hash()
	if before == withVocab || withVocab == withConfig || withConfig == changed {
		t.Fatalf("hashes %s %s %s %s", before, withVocab, withConfig, changed)
	}
}

// copyFixtureModel copies testdata/fixture-model into a temporary folder and
// opens it.
func copyFixtureModel(t *testing.T) (string, *ModelDir) {
	t.Helper()
	src := "../../testdata/fixture-model"
	dir := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json", "onnx/vision_model.onnx", "onnx/text_model.onnx"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	m, err := OpenModelDir(dir, "fp32")
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}
