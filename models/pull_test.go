package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/convis/convis/models/hubtest"
)

func newHub(t *testing.T) *hubtest.Hub {
	t.Helper()
	h, err := hubtest.New("acme/tiny-clip", "../testdata/fixture-model")
	if err != nil {
		t.Fatal(err)
	}
	delete(h.Files, "reference.json")
	t.Cleanup(h.Close)
	return h
}

var ref = Ref{Name: "acme--tiny-clip", Repo: "acme/tiny-clip", Revision: "main"}

// noModel asserts that nothing in the store looks like an installed model.
func noModel(t *testing.T, store string) {
	t.Helper()
	if got, _ := List(store); len(got) != 0 {
		t.Fatalf("store holds %v after a failed pull", got)
	}
	if _, err := InstalledDir(store, "hf:acme/tiny-clip"); err == nil {
		t.Fatal("a failed pull left a usable model")
	}
}

func TestPullSucceedsAndVerifies(t *testing.T) {
	h := newHub(t)
	store := t.TempDir()
	in, err := Pull(context.Background(), ref, PullOptions{Store: store, Endpoint: h.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if in.Revision != h.Commit || len(in.Files) != 4 {
		t.Fatalf("revision %s, %d files", in.Revision, len(in.Files))
	}
	for name, data := range h.Files {
		got, err := os.ReadFile(filepath.Join(store, "acme--tiny-clip", name))
		if err != nil || string(got) != string(data) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	dir, err := InstalledDir(store, "hf:acme/tiny-clip")
	if err != nil || dir != filepath.Join(store, "acme--tiny-clip") {
		t.Fatal(dir, err)
	}
	list, _ := List(store)
	if len(list) != 1 || list[0].Revision != h.Commit || list[0].Variant != "fp32" {
		t.Fatalf("%+v", list)
	}
	if err := Remove(store, "hf:acme/tiny-clip"); err != nil {
		t.Fatal(err)
	}
	noModel(t, store)
}

func TestPullFailures(t *testing.T) {
	cases := []struct {
		name  string
		setup func(h *hubtest.Hub, o *PullOptions, r *Ref)
		want  string
	}{
		{"hash mismatch", func(h *hubtest.Hub, o *PullOptions, r *Ref) { h.WrongSHA["onnx/vision_model.onnx"] = true }, "checksum mismatch"},
		{"not found", func(h *hubtest.Hub, o *PullOptions, r *Ref) { r.Repo = "acme/nothing" }, "not found (404)"},
		{"unauthorized", func(h *hubtest.Hub, o *PullOptions, r *Ref) { h.Token = "secret" }, "set HF_TOKEN"},
		{"redirect loop", func(h *hubtest.Hub, o *PullOptions, r *Ref) { h.RedirectLoop = true }, "too many redirects"},
		{"path escape", func(h *hubtest.Hub, o *PullOptions, r *Ref) { h.ExtraSiblings = []string{"../../evil.onnx"} }, "outside the model folder"},
		{"offline", func(h *hubtest.Hub, o *PullOptions, r *Ref) { o.Offline = true }, "offline"},
		{"no such variant", func(h *hubtest.Hub, o *PullOptions, r *Ref) { o.Variant = "fp16" }, "no onnx/vision_model_fp16.onnx"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHub(t)
			store := t.TempDir()
			o := PullOptions{Store: store, Endpoint: h.URL()}
			r := ref
			c.setup(h, &o, &r)
			_, err := Pull(context.Background(), r, o)
			var pe *PullError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want a one-line PullError with %q", err, c.want)
			}
			noModel(t, store)
		})
	}
}

// A connection cut mid-file fails the pull, leaves no model, and the next
// pull asks only for the missing bytes.
func TestPullResumesAfterACut(t *testing.T) {
	h := newHub(t)
	store := t.TempDir()
	const name = "onnx/vision_model.onnx"
	total := int64(len(h.Files[name]))
	h.CutAfter[name] = int(total / 3)
	_, err := Pull(context.Background(), ref, PullOptions{Store: store, Endpoint: h.URL()})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("got %v", err)
	}
	noModel(t, store)
	first := h.Sent[name]
	if _, err := Pull(context.Background(), ref, PullOptions{Store: store, Endpoint: h.URL()}); err != nil {
		t.Fatal(err)
	}
	second := h.Sent[name] - first
	if h.Ranges[name] != "bytes="+itoa(first)+"-" || second != total-first {
		t.Fatalf("resumed with Range %q and %d bytes; want bytes=%d- and %d", h.Ranges[name], second, first, total-first)
	}
	if _, err := InstalledDir(store, "hf:acme/tiny-clip"); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestParseRef(t *testing.T) {
	r, err := ParseRef("hf:openai/clip@abc")
	if err != nil || r.Repo != "openai/clip" || r.Revision != "abc" || r.Name != "openai--clip" {
		t.Fatal(r, err)
	}
	r, err = ParseRef("clip-vit-base-patch32")
	if err != nil || r.Repo == "" || r.Revision != "main" {
		t.Fatal(r, err)
	}
	if _, err := ParseRef("nope"); err == nil || !strings.Contains(err.Error(), "clip-vit-base-patch32") {
		t.Fatal(err)
	}
}

// Regression (issue 20.13): extractions of the built-in model racing on a
// fresh store (with an incomplete earlier copy) all end with a complete
// folder, and none removes a folder another has returned.
func TestExtractBuiltinConcurrently(t *testing.T) {
	store := t.TempDir()
	dir, _, err := ExtractBuiltin(store)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "config.json")) // incomplete
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			d, _, err := ExtractBuiltin(store)
			if err == nil && !verifyExtracted(d) {
				err = fmt.Errorf("returned an incomplete folder")
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if !verifyExtracted(dir) {
		t.Fatal("the folder is incomplete after the races")
	}
}
