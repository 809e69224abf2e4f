package clip

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A cached hash is reused for unchanged files and recomputed when a file changes.
func TestModelHashCache(t *testing.T) {
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
