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
	"time"

	"github.com/convis/convis/internal/clip"
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

// A connection cut once in each large file does not fail the pull: each
// file is resumed in the same pull, with exactly the missing bytes asked
// for and sent (issue 16.1).
func TestPullResumesAfterACut(t *testing.T) {
	h := newHub(t)
	store := t.TempDir()
	names := []string{"onnx/vision_model.onnx", "onnx/text_model.onnx"}
	for _, name := range names {
		h.CutAfter[name] = len(h.Files[name]) / 3
	}
	o := PullOptions{Store: store, Endpoint: h.URL(), Backoff: time.Millisecond}
	if _, err := Pull(context.Background(), ref, o); err != nil {
		t.Fatalf("one pull should survive one cut per file: %v", err)
	}
	for _, name := range names {
		total, cutAt := int64(len(h.Files[name])), int64(len(h.Files[name])/3)
		if h.Sent[name] != total || h.Ranges[name] != "bytes="+itoa(cutAt)+"-" || h.Requests[name] != 2 {
			t.Errorf("%s: sent %d of %d bytes in %d requests, last Range %q; want each byte once, Range bytes=%d-", name, h.Sent[name], total, h.Requests[name], h.Ranges[name], cutAt)
		}
	}
	if _, err := InstalledDir(store, "hf:acme/tiny-clip"); err != nil {
		t.Fatal(err)
	}
}

// A server that cuts every transfer fails the pull after the retries, with
// one line, and leaves no model.
func TestPullGivesUpAfterRetries(t *testing.T) {
	h := newHub(t)
	store := t.TempDir()
	const name = "onnx/vision_model.onnx"
	h.CutAlways[name] = 1000
	_, err := Pull(context.Background(), ref, PullOptions{Store: store, Endpoint: h.URL(), Retries: 3, Backoff: time.Millisecond})
	var pe *PullError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "interrupted") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v", err)
	}
	if h.Requests[name] != 4 || h.Sent[name] != 4000 {
		t.Errorf("%d requests, %d bytes; want 4 tries of 1000 new bytes each", h.Requests[name], h.Sent[name])
	}
	noModel(t, store)
}

// Regression (issue 20.2): the server's commit id names folders, so only a
// full 40-hex id is taken; a stalled server, an overlong answer, a 206 that
// starts elsewhere and a file without a published hash all fail cleanly.
func TestPullDistrustsTheServer(t *testing.T) {
	cases := []struct {
		name  string
		setup func(h *hubtest.Hub, o *PullOptions)
		want  string
	}{
		{"commit escaping the store", func(h *hubtest.Hub, o *PullOptions) { h.Commit = "../../../../victim" }, "not a 40-hex git commit id"},
		{"short commit", func(h *hubtest.Hub, o *PullOptions) { h.Commit = "0123456" }, "not a 40-hex git commit id"},
		{"stalled server", func(h *hubtest.Hub, o *PullOptions) {
			h.Stall["onnx/vision_model.onnx"] = true
			o.IdleTimeout, o.Retries = 200*time.Millisecond, -1
		}, "no data for 200ms"},
		{"overlong answer", func(h *hubtest.Hub, o *PullOptions) { h.Extra["config.json"] = 10 }, "more than the"},
		{"no hash", func(h *hubtest.Hub, o *PullOptions) { h.NoHash["config.json"] = true }, "publishes no hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHub(t)
			parent := t.TempDir()
			store := filepath.Join(parent, "store")
			os.MkdirAll(filepath.Join(parent, "victim"), 0o755)
			o := PullOptions{Store: store, Endpoint: h.URL(), Backoff: time.Millisecond}
			c.setup(h, &o)
			_, err := Pull(context.Background(), ref, o)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			noModel(t, store)
			if _, err := os.Stat(filepath.Join(parent, "victim")); err != nil {
				t.Fatal("a folder outside the store was moved")
			}
		})
	}
	// A 206 that starts elsewhere than asked is not appended: the file
	// starts again, and the pull still ends verified.
	h := newHub(t)
	store := t.TempDir()
	const name = "onnx/vision_model.onnx"
	h.CutAfter[name] = 500
	h.BadRange = true
	if _, err := Pull(context.Background(), ref, PullOptions{Store: store, Endpoint: h.URL(), Backoff: time.Millisecond}); err != nil {
		t.Fatalf("after a bad Content-Range: %v", err)
	}
}

// Regression (issue 20.3): pulling another variant keeps the installed one.
func TestPullVariantsCoexist(t *testing.T) {
	h := newHub(t)
	for _, base := range []string{"vision_model", "text_model"} {
		h.Files["onnx/"+base+"_quantized.onnx"] = h.Files["onnx/"+base+".onnx"]
	}
	store := t.TempDir()
	if _, err := Pull(context.Background(), ref, PullOptions{Store: store, Endpoint: h.URL()}); err != nil {
		t.Fatal(err)
	}
	sent := h.Sent["onnx/vision_model.onnx"]
	in, err := Pull(context.Background(), ref, PullOptions{Store: store, Endpoint: h.URL(), Variant: "quantized"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(in.AllVariants(), ","); got != "fp32,quantized" {
		t.Errorf("variants %s", got)
	}
	for _, f := range []string{"onnx/vision_model.onnx", "onnx/text_model.onnx", "onnx/vision_model_quantized.onnx"} {
		if _, err := os.Stat(filepath.Join(store, "acme--tiny-clip", f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if h.Sent["onnx/vision_model.onnx"] != sent {
		t.Error("the installed variant was downloaded again")
	}
	list, _ := List(store)
	if len(list) != 1 || len(list[0].Files) != 6 {
		t.Fatalf("store: %+v", list)
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

// TestPullExternalData: a model whose weights are ONNX external data
// (testdata/fixture-external: onnx/vision_model.onnx_data, and
// onnx/text_weights.bin, a name only the text model's initializers give)
// is pulled whole and verified; one changed byte of the .onnx_data on the
// Hub changes the pulled model's content hash.
func TestPullExternalData(t *testing.T) {
	t.Parallel()
	hashOf := func(h *hubtest.Hub) (string, map[string]FileEntry) {
		store := t.TempDir()
		in, err := Pull(context.Background(), ref, PullOptions{Store: store, Endpoint: h.URL()})
		if err != nil {
			t.Fatal(err)
		}
		dir, err := clip.OpenModelDir(in.Path, "fp32")
		if err != nil {
			t.Fatal(err)
		}
		sum, err := dir.Hash()
		if err != nil {
			t.Fatal(err)
		}
		return sum, in.Files
	}
	h, err := hubtest.New("acme/tiny-clip", "../testdata/fixture-external")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	before, files := hashOf(h)
	for _, name := range []string{"onnx/vision_model.onnx_data", "onnx/text_weights.bin"} {
		if e, ok := files[name]; !ok || e.SHA256 == "" {
			t.Fatalf("%s not pulled with a SHA-256 (%+v); files %v", name, e, files)
		}
	}
	data := h.Files["onnx/vision_model.onnx_data"]
	changed := append([]byte(nil), data...)
	changed[len(changed)/2] ^= 1
	h.Files["onnx/vision_model.onnx_data"] = changed
	after, _ := hashOf(h)
	if after == before {
		t.Fatal("one changed byte of vision_model.onnx_data left the pulled model's hash unchanged")
	}
	// A repository without the file a model names is refused by name.
	delete(h.Files, "onnx/text_weights.bin")
	_, err = Pull(context.Background(), ref, PullOptions{Store: t.TempDir(), Endpoint: h.URL()})
	if err == nil || !strings.Contains(err.Error(), "onnx/text_model.onnx keeps its weights in onnx/text_weights.bin, which the repository does not have") {
		t.Fatalf("missing external data: %v", err)
	}
}

// TestKnownModels: every known name says its family, input size,
// tokenizer, embedding size and licence; SigLIP and MobileCLIP are there.
func TestKnownModels(t *testing.T) {
	t.Parallel()
	known := KnownModels()
	var siglip, mobileclip bool
	for name, k := range known {
		if k.Repo == "" || k.Family == "" || k.InputSize <= 0 || k.Dim <= 0 || k.License == "" ||
			(k.Tokenizer != "BPE" && k.Tokenizer != "WordPiece" && k.Tokenizer != "Unigram") {
			t.Errorf("%s: incomplete entry %+v", name, k)
		}
		siglip = siglip || strings.Contains(name, "siglip") && k.Family == "siglip" && k.Tokenizer == "Unigram"
		mobileclip = mobileclip || strings.Contains(name, "mobileclip") && k.Family == "mobileclip"
		if r, err := ParseRef(name); err != nil || r.Repo != k.Repo {
			t.Errorf("%s: ParseRef %+v, %v", name, r, err)
		}
	}
	if !siglip || !mobileclip {
		t.Fatalf("known models lack a SigLIP (%v) or a MobileCLIP (%v)", siglip, mobileclip)
	}
}

// TestPullTokenizerFiles: pull takes the tokenizer the model folder will
// use (tokenizer.json, else vocab.txt, else spiece.model) and
// tokenizer_config.json, whose limits the tokenizer reads.
func TestPullTokenizerFiles(t *testing.T) {
	t.Parallel()
	h, err := hubtest.New("acme/tiny-clip", "../testdata/families/bertclip224")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	delete(h.Files, "reference.json")
	delete(h.Files, "tokenizer.json") // a BERT export with only vocab.txt
	in, err := Pull(context.Background(), ref, PullOptions{Store: t.TempDir(), Endpoint: h.URL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vocab.txt", "tokenizer_config.json"} {
		if _, ok := in.Files[name]; !ok {
			t.Errorf("%s not pulled (files %v)", name, in.Files)
		}
	}
	tok, err := clip.TokenizerForDir(in.Path)
	if err != nil || tok.Kind() != "WordPiece" {
		t.Fatalf("pulled tokenizer: %v, %v", tok, err)
	}
}

// A repository's tokenizer comes along whichever file holds it.
func TestWantedTakesTheTokenizerFiles(t *testing.T) {
	t.Parallel()
	files := []hubFile{{Path: "config.json"}, {Path: "preprocessor_config.json"}, {Path: "onnx/vision_model.onnx"}, {Path: "onnx/text_model.onnx"},
		{Path: "vocab.txt"}, {Path: "spiece.model"}, {Path: "tokenizer_config.json"}, {Path: "README.md"}}
	got, err := wanted(files, "fp32")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, f.Path)
	}
	want := []string{"config.json", "preprocessor_config.json", "vocab.txt", "spiece.model", "tokenizer_config.json", "onnx/vision_model.onnx", "onnx/text_model.onnx"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", names, want)
	}
}
