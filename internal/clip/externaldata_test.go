package clip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies a model folder for a test that changes it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755)
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestExternalDataFiles: the locations the initializers name are found
// (onnx_data and a free name), inline models have none.
func TestExternalDataFiles(t *testing.T) {
	t.Parallel()
	locs, err := ExternalDataLocations("../../testdata/fixture-external/onnx/text_model.onnx")
	if err != nil || len(locs) != 1 || locs[0] != "text_weights.bin" {
		t.Fatalf("text model locations %v, %v; want [text_weights.bin]", locs, err)
	}
	m, err := OpenModelDir("../../testdata/fixture-external", "fp32")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range m.ExternalData {
		names = append(names, filepath.Base(f))
	}
	if strings.Join(names, ",") != "vision_model.onnx_data,text_weights.bin" {
		t.Fatalf("external data %v", names)
	}
	inline, err := OpenModelDir("../../testdata/fixture-model", "fp32")
	if err != nil || len(inline.ExternalData) != 0 {
		t.Fatalf("inline model: external data %v, %v", inline.ExternalData, err)
	}
}

// TestExternalDataHash: one byte of the .onnx_data changes the content
// hash (and so every cache key), with and without the hash cache; a
// missing data file is an error naming it.
func TestExternalDataHash(t *testing.T) {
	t.Parallel()
	dir := copyTree(t, "../../testdata/fixture-external")
	m, err := OpenModelDir(dir, "fp32")
	if err != nil {
		t.Fatal(err)
	}
	m.HashCache = filepath.Join(t.TempDir(), "hashes.json")
	before, _ := m.Hash()
	data := filepath.Join(dir, "onnx/vision_model.onnx_data")
	b, _ := os.ReadFile(data)
	b[len(b)/2] ^= 1
	os.WriteFile(data, b, 0o644)
	after, _ := m.Hash()
	if after == before {
		t.Fatal("changing a byte of vision_model.onnx_data left the model hash unchanged")
	}
	os.Remove(filepath.Join(dir, "onnx/text_weights.bin"))
	_, err = OpenModelDir(dir, "fp32")
	if err == nil || !strings.Contains(err.Error(), "text_weights.bin, which is missing") {
		t.Fatalf("missing external data: %v", err)
	}
}
