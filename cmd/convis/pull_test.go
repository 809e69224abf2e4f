package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convis/convis/models/hubtest"
)

// The CLI pulls from a local stand-in of the Hub; the pulled model then
// loads with `convis model info --model hf:…`, and rm removes it.
func TestModelPullListInfoRm(t *testing.T) {
	lib, _ := filepath.Abs("../../.ort/libonnxruntime.so.1")
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip("ONNX Runtime missing: run make ort")
	}
	hub, err := hubtest.New("acme/tiny-clip", "../../testdata/fixture-model")
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	t.Setenv("HF_ENDPOINT", hub.URL())
	t.Setenv("HF_HUB_OFFLINE", "")
	cache := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), append([]string{"--cache-dir", cache, "--ort-lib", lib}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	for _, base := range []string{"vision_model", "text_model"} {
		hub.Files["onnx/"+base+"_quantized.onnx"] = hub.Files["onnx/"+base+".onnx"]
	}
	if code, out, errs := run("model", "pull", "hf:acme/tiny-clip"); code != 0 || !strings.Contains(out, "pulled acme--tiny-clip") {
		t.Fatalf("pull: %d %s %s", code, out, errs)
	} else if strings.Contains(errs, "resuming") {
		t.Errorf("a fresh pull says it resumes (issue 16.1): %s", errs)
	}
	// Regression (issue 20.3): another variant is added beside the first,
	// and the hint names the variant.
	code, out, errs := run("model", "pull", "hf:acme/tiny-clip", "--variant", "quantized")
	if code != 0 || !strings.Contains(out, "--model hf:acme/tiny-clip --variant quantized") || !strings.Contains(out, "installed variants: fp32, quantized") {
		t.Fatalf("pull --variant quantized: %d %s %s", code, out, errs)
	}
	if code, _, errs := run("model", "info", "--model", "hf:acme/tiny-clip", "--variant", "quantized"); code != 0 {
		t.Fatalf("info --variant quantized: %d %s", code, errs)
	}
	if code, out, errs := run("model", "info", "--model", "hf:acme/tiny-clip"); code != 0 || !strings.Contains(out, "embedding:  32") {
		t.Fatalf("info: %d %s %s", code, out, errs)
	}
	if code, out, _ := run("model", "list"); code != 0 || !strings.Contains(out, "acme--tiny-clip") || !strings.Contains(out, "clip-vit-base-patch32") {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, _, _ := run("model", "rm", "hf:acme/tiny-clip"); code != 0 {
		t.Fatal("rm failed")
	}
	if code, _, errs := run("model", "info", "--model", "hf:acme/tiny-clip"); code != 1 || !strings.Contains(errs, "convis model pull hf:acme/tiny-clip") {
		t.Fatalf("after rm: %d %s", code, errs)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	if code, _, errs := run("model", "pull", "hf:acme/tiny-clip"); code != 1 || !strings.Contains(errs, "offline") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("offline: %d %q", code, errs)
	}
}
