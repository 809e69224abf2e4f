package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/convis/convis/internal/record"
)

// FuzzReaders: sidecars and run logs of any content are read or refused
// with an error, never a panic (compare, report and runs summary read them
// from folders that others write).
func FuzzReaders(f *testing.F) {
	f.Add([]byte(`{"schema":2,"concept":{"synset":"dog.n.01"},"outputs":{"npy":"x.npy"},"box":{"x":1,"y":2,"w":3,"h":4},"peak":[1,2]}`))
	f.Add([]byte("{\"type\":\"header\"}\n{\"type\":\"record\",\"status\":\"ok\",\"relative_path\":\"a.png\",\"concept\":\"dog.n.01\"}\n{\"type\":\"rec"))
	f.Add([]byte("{\"type\":\"footer\",\"records\":{\"ok\":1}}\nnot json\n"))
	f.Add([]byte(`{"schema":"two"}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "convis-run.jsonl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if s, err := record.ReadSidecar(p); err == nil && s.Concept.Synset == "" {
			t.Fatal("a sidecar without a concept was accepted")
		}
		record.ReadRunLog(p)
		record.Summarize([]string{dir})
	})
}
