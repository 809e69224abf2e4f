package clip

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// A cached hash is reused for unchanged files and recomputed when a file changes.
func TestModelHashCache(t *testing.T) {
	dir := copyFixture(t)
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

// copyFixture copies the fixture model into a temporary folder.
func copyFixture(t *testing.T) string {
	t.Helper()
	src := "../../testdata/fixture-model"
	dir := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json", "onnx/vision_model.onnx", "onnx/text_model.onnx"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Regression (issue 29.2): three bytes flipped in place, with the size and
// modification time put back, were vouched for by the hash cache.
func TestModelHashCacheSeesEditsThatKeepSizeAndTime(t *testing.T) {
	t.Parallel()
	dir := copyFixture(t)
	m, err := OpenModelDir(dir, "fp32")
	if err != nil {
		t.Fatal(err)
	}
	m.HashCache = filepath.Join(t.TempDir(), "hashes.json")
	before, err := m.Hash()
	if err != nil {
		t.Fatal(err)
	}
	vision := filepath.Join(dir, "onnx/vision_model.onnx")
	fi, _ := os.Stat(vision)
	data, _ := os.ReadFile(vision)
	for _, i := range []int{len(data) / 3, len(data) / 2, 2 * len(data) / 3} {
		data[i] ^= 0xff
	}
	time.Sleep(10 * time.Millisecond) // a later change time, even on coarse clocks
	f, err := os.OpenFile(vision, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(data, 0)
	f.Close()
	os.Chtimes(vision, fi.ModTime(), fi.ModTime())
	after, _ := m.Hash()
	m.HashCache = ""
	want, _ := m.Hash()
	if after == before || after != want {
		t.Fatalf("hash after an edit that kept size and mtime: %s (before %s, content %s)", after, before, want)
	}
}

// onnxWithExternalData is a minimal ONNX ModelProto whose one initializer
// keeps its data in location (TensorProto.external_data).
func onnxWithExternalData(location string) []byte {
	field := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	entry := append(field(1, []byte("location")), field(2, []byte(location))...)
	tensor := append(field(8, []byte("w")), field(13, entry)...)
	tensor = protowire.AppendVarint(protowire.AppendTag(tensor, 14, protowire.VarintType), 1) // data_location EXTERNAL
	graph := append(field(2, []byte("g")), field(5, tensor)...)
	model := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 8)
	return append(model, field(7, graph)...)
}

// Regression (issue 29.21): the content hash ignored *.onnx_data, so a
// model whose weights changed kept its hash (and its caches).
func TestModelHashCoversExternalData(t *testing.T) {
	t.Parallel()
	dir := copyFixture(t)
	if err := os.WriteFile(filepath.Join(dir, "onnx/vision_model.onnx"), onnxWithExternalData("vision_model.onnx_data"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "onnx/vision_model.onnx_data")
	os.WriteFile(data, []byte("weights one"), 0o644)
	m, err := OpenModelDir(dir, "fp32")
	if err != nil {
		t.Fatal(err)
	}
	files, err := m.Files()
	if err != nil || !slices.Contains(files, data) {
		t.Fatalf("files %v (%v), want %s among them", files, err, data)
	}
	one, _ := m.Hash()
	os.WriteFile(data, []byte("weights two"), 0o644)
	two, _ := m.Hash()
	if one == two {
		t.Fatal("changing the external data kept the hash")
	}
	// A location outside the model's folder is refused.
	os.WriteFile(filepath.Join(dir, "onnx/vision_model.onnx"), onnxWithExternalData("../../etc/passwd"), 0o644)
	if _, err := m.Hash(); err == nil {
		t.Error("a location outside the folder was accepted")
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

// copyFixtureModel copies the fixture model into a temporary folder and
// opens it.
func copyFixtureModel(t *testing.T) (string, *ModelDir) {
	t.Helper()
	dir := copyFixture(t)
	m, err := OpenModelDir(dir, "fp32")
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}
