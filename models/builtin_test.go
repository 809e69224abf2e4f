package models

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Regression (issue 29.2): three bytes flipped in the extracted built-in
// vision model (same size and mtime) were used silently: different maps,
// and sidecars naming the original model's hash. The copy is checked
// against the embedded model and extracted again when it differs.
func TestExtractBuiltinReplacesADamagedCopy(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	dir, _, err := ExtractBuiltin(store)
	if err != nil {
		t.Fatal(err)
	}
	vision := filepath.Join(dir, "onnx", "vision_model.onnx")
	fi, err := os.Stat(vision)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(vision)
	bad := bytes.Clone(good)
	for _, i := range []int{1000, len(bad) / 2, len(bad) - 1000} {
		bad[i] ^= 0x5a
	}
	if err := os.WriteFile(vision, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(vision, time.Now(), fi.ModTime())
	again, fresh, err := ExtractBuiltin(store)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(again, "onnx", "vision_model.onnx"))
	if !fresh || again != dir || !bytes.Equal(got, good) {
		t.Fatalf("fresh %v, same folder %v, content restored %v: want a new extraction of the embedded model", fresh, again == dir, bytes.Equal(got, good))
	}
}
