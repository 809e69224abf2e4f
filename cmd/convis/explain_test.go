package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Same inputs and seed give byte-identical outputs, sidecars included
// (timings live in the run log), wherever the output folder is.
func TestExplainIsDeterministic(t *testing.T) {
	lib := ortLibForTest(t)
	cache := t.TempDir()
	run := func(out string) map[string][]byte {
		var stderr bytes.Buffer
		args := []string{"explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", cache,
			"../../testdata/images/landscape.png", "--concept", "dog", "--concept", "food", "--seed", "11",
			"--method", "stochastic", "--format", "overlay,npy,png16,json,canvas", "-o", out}
		if code := Main(context.Background(), args, nil, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		files := map[string][]byte{}
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			data, _ := os.ReadFile(filepath.Join(out, e.Name()))
			if e.Name() == "convis-run.jsonl" {
				continue
			}
			if strings.HasSuffix(e.Name(), ".json") {
				var v map[string]any
				if err := json.Unmarshal(data, &v); err != nil {
					t.Fatal(err)
				}
				if _, ok := v["timings_ms"]; ok {
					t.Fatalf("%s has timings: sidecars would differ run to run", e.Name())
				}
			}
			files[e.Name()] = data
		}
		return files
	}
	a := run(filepath.Join(t.TempDir(), "a"))
	b := run(filepath.Join(t.TempDir(), "b"))
	if len(a) != 9 {
		t.Fatalf("%d files, want 9 (4 per concept and the canvas)", len(a))
	}
	for name := range a {
		if !reflect.DeepEqual(a[name], b[name]) {
			t.Errorf("%s differs between runs", name)
		}
	}
}
