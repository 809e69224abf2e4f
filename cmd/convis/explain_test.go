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

	"github.com/convis/convis/internal/saliency"
)

// Same inputs and seed give byte-identical outputs, sidecars included
// (timings live in the run log), wherever the output folder is. Both runs
// compute their maps: the second runs without the window cache
// (--cache-size 0; regression, issue 29.17: it was a cache hit of 0
// passes, comparing the cache with itself), so its sidecars differ only
// in saying so (window_cache).
func TestExplainIsDeterministic(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := t.TempDir()
	run := func(out string, extra ...string) map[string][]byte {
		var stderr bytes.Buffer
		args := []string{"explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", cache,
			"../../testdata/images/landscape.png", "--concept", "dog", "--concept", "food", "--seed", "11",
			"--method", "stochastic", "--seeds", "2", "--format", "overlay,npy,png16,json,canvas", "-o", out}
		args = append(args, extra...)
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
				if p, _ := v["forward_passes"].(float64); p <= 0 {
					t.Fatalf("%s: %v forward passes: the run computed nothing (a cache hit)", e.Name(), v["forward_passes"])
				}
				data = withoutCacheState(t, data)
			}
			files[e.Name()] = data
		}
		return files
	}
	a := run(filepath.Join(t.TempDir(), "a"))
	b := run(filepath.Join(t.TempDir(), "b"), "--cache-size", "0")
	if len(a) != 11 {
		t.Fatalf("%d files, want 11 (5 per concept, the spread among them, and the canvas)", len(a))
	}
	for name := range a {
		if !reflect.DeepEqual(a[name], b[name]) {
			t.Errorf("%s differs between runs", name)
		}
	}
}

// A second concept on an explained image, in a new process, encodes
// nothing; maps are the same bytes with the cache off, on a miss, on a hit
// and after a corrupt entry (ranked by ONNX Runtime's product).
func TestExplainWindowCache(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := t.TempDir()
	type result struct {
		npy   map[string][]byte
		cache string
		pass  float64
	}
	run := func(name string, extra ...string) result {
		out := filepath.Join(t.TempDir(), name)
		args := append([]string{"explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", cache,
			"../../testdata/images/landscape.png", "--seeds", "1", "--stride", "48", "--format", "npy,json", "-o", out}, extra...)
		cmd := convisCmd(t, nil, args...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		r := result{npy: map[string][]byte{}}
		files, _ := filepath.Glob(filepath.Join(out, "*.json"))
		for _, f := range files {
			var sc map[string]any
			data, _ := os.ReadFile(f)
			if err := json.Unmarshal(data, &sc); err != nil {
				t.Fatal(err)
			}
			r.cache, r.pass = sc["window_cache"].(string), sc["forward_passes"].(float64)
		}
		npys, _ := filepath.Glob(filepath.Join(out, "*.npy"))
		for _, f := range npys {
			r.npy[filepath.Base(f)], _ = os.ReadFile(f)
		}
		return r
	}
	off := run("off", "-c", "dog", "--no-cache")
	miss := run("miss", "-c", "dog")
	hit := run("hit", "-c", "dog")
	other := run("other", "-c", "food") // another concept: still a hit
	if off.cache != "off" || miss.cache != "miss" || hit.cache != "hit" || other.cache != "hit" {
		t.Fatalf("window_cache: off %q, miss %q, hit %q, other concept %q", off.cache, miss.cache, hit.cache, other.cache)
	}
	// 400×300: windows on the padding alone are not encoded, and the
	// default refinement's 154 windows tile the image. The image is
	// 224×168 at (128, 156) on the canvas; corners every 48 (a coarse grid
	// keeps the four computed runs short: the cache is the subject) that
	// overlap it are 7×6 of 128 (x in 48…336, y in 48…288) and 6×5 of 64
	// (x in 96…336, y in 96…288): 72. (Every 16, the default: 399 + 255 = 654.)
	if miss.pass != 72+154 || hit.pass != 0 || other.pass != 0 {
		t.Fatalf("forward_passes: miss %v, hit %v, other concept %v", miss.pass, hit.pass, other.pass)
	}
	if !reflect.DeepEqual(off.npy, miss.npy) || !reflect.DeepEqual(off.npy, hit.npy) || len(off.npy) != 2 { // the map and its (zero) spread
		t.Fatal("maps differ between cache off, miss and hit")
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "embeddings", "*.emb"))
	for _, e := range entries {
		data, _ := os.ReadFile(e)
		data[len(data)-100] ^= 1
		os.WriteFile(e, data, 0o644)
	}
	fixed := run("fixed", "-c", "dog")
	if fixed.cache != "miss" || !reflect.DeepEqual(off.npy, fixed.npy) {
		t.Fatalf("after corrupting the cache: %q, maps equal %v", fixed.cache, reflect.DeepEqual(off.npy, fixed.npy))
	}
	var stdout bytes.Buffer
	if code := Main(context.Background(), []string{"--cache-dir", cache, "cache", "clear"}, nil, &stdout, &bytes.Buffer{}); code != 0 || !strings.Contains(stdout.String(), "removed 5 embedding entries") { // the grid's and the refinement's windows inside the image and the others, and the whole image's
		t.Fatalf("cache clear: exit %d, %q", code, stdout.String())
	}
	if again := run("again", "-c", "dog"); again.cache != "miss" {
		t.Fatalf("after cache clear: %q", again.cache)
	}
}

// --preset reference sets every published setting, flags given as well
// win, and the sidecar records the preset and the values; --boxes all
// lists every box (the first is box); --threshold and --box-rule conflict.
func TestExplainPresetAndBoxes(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	run := func(extra ...string) (map[string]any, int, string) {
		out := filepath.Join(t.TempDir(), "out")
		args := append([]string{"explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", sharedCache,
			"../../testdata/images/landscape.png", "-c", "dog", "--format", "json", "-o", out}, extra...)
		var stderr bytes.Buffer
		code := Main(context.Background(), args, nil, &bytes.Buffer{}, &stderr)
		var sc map[string]any
		if code == 0 {
			files, _ := filepath.Glob(filepath.Join(out, "*.json"))
			data, _ := os.ReadFile(files[0])
			json.Unmarshal(data, &sc)
		}
		return sc, code, stderr.String()
	}
	ref, code, errs := run("--preset", "reference")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	params := ref["params"].(map[string]any)
	for k, want := range map[string]any{"preset": "reference", "crop": "center", "fill": "noise", "box_rule": "0.7", "threshold": 0.7,
		"style": "fade", "stride": 16.0, "canvas": 480.0, "padding": 128.0, "image_size": 224.0, "boxes": "best", "seeds": 1.0} {
		if params[k] != want {
			t.Errorf("--preset reference: %s = %v, want %v", k, params[k], want)
		}
	}
	if ref["method"] != "grid" || ref["prompts"] != "definitions" || ref["vocab"] != "paper" {
		t.Errorf("--preset reference: method %v, prompts %v, vocab %v", ref["method"], ref["prompts"], ref["vocab"])
	}
	mixed, code, errs := run("--preset", "reference", "--crop", "pad", "--threshold", "0.6")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if p := mixed["params"].(map[string]any); p["crop"] != "pad" || p["box_rule"] != "0.6" || p["preset"] != "reference" {
		t.Errorf("flags given with the preset: crop %v, box_rule %v", p["crop"], p["box_rule"])
	}
	def, code, errs := run("--boxes", "all")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if p := def["params"].(map[string]any); p["box_rule"] != "rel:0.4" || p["preset"] != "none" || p["boxes"] != "all" {
		t.Errorf("defaults: box_rule %v, preset %v, boxes %v", p["box_rule"], p["preset"], p["boxes"])
	}
	// The default map is refined over the whole image: 196 windows more
	// on the square (the landscape's 224 × 168 content: 14 × 11 = 154), on
	// each of the default's canvases (saliency.DefaultSeeds).
	dw, _ := def["refine_windows"].(float64)
	if p := def["params"].(map[string]any); p["refine"] != true || p["refine_region"] != "image" || p["refine_log_ranks"] != true || p["refine_weight"] != 0.5 || p["refine_smooth"] != 0.0 ||
		p["refine_stride"] != 16.0 || p["refine_margin"] != nil || p["seeds"] != float64(saliency.DefaultSeeds) || dw != float64(saliency.DefaultSeeds*154) {
		t.Errorf("default refinement: params %v, refine_windows %v", p, def["refine_windows"])
	}
	if p := ref["params"].(map[string]any); p["refine"] != false || p["refine_region"] != nil {
		t.Errorf("refine under the preset: %v", p)
	}
	if p, code, errs := run("--refine=false"); code != 0 || p["params"].(map[string]any)["refine"] != false || p["params"].(map[string]any)["box_rule"] != "rel:0.8" {
		t.Fatalf("--refine=false: exit %d, %s, params %v", code, errs, p["params"])
	}
	if p, code, errs := run("--method", "occlusion"); code != 0 || p["params"].(map[string]any)["refine"] != false || p["params"].(map[string]any)["box_rule"] != "rel:0.8" {
		t.Fatalf("--method occlusion (no --refine): exit %d, %s, params %v", code, errs, p["params"])
	}
	if p, code, errs := run("--refine-smooth", "8"); code != 0 || p["params"].(map[string]any)["refine_smooth"] != 8.0 {
		t.Errorf("--refine-smooth 8: exit %d, %s", code, errs)
	}
	if _, code, errs := run("--refine-smooth", "-1"); code != 2 || !strings.Contains(errs, "refine-smooth") {
		t.Errorf("--refine-smooth -1: exit %d, %q", code, errs)
	}
	if _, code, errs := run("--refine-region", "sharp"); code != 2 || !strings.Contains(errs, "want image or box") {
		t.Errorf("--refine-region sharp: exit %d, %q", code, errs)
	}
	refined, code, errs := run("--refine-region", "box", "--no-cache", "--seeds", "1", "--stride", "48") // one canvas and a coarse grid: its passes bounded and cheap
	if code != 0 {
		t.Fatalf("--refine-region box: exit %d: %s", code, errs)
	}
	rw, _ := refined["refine_windows"].(float64)
	if p := refined["params"].(map[string]any); p["refine"] != true || p["refine_region"] != "box" || p["box_rule"] != "rel:0.8" || p["refine_size"] != 32.0 || p["refine_max_passes"] != 365.0 || p["refine_quantile"] != 0.75 ||
		rw < 1 || rw > 365 || refined["forward_passes"].(float64) <= rw {
		t.Errorf("--refine-region box: params %v, refine_windows %v, forward_passes %v", p, refined["refine_windows"], refined["forward_passes"])
	}
	if _, code, errs := run("--refine", "--method", "stochastic"); code != 2 || !strings.Contains(errs, "refines grid maps") {
		t.Errorf("--refine --method stochastic: exit %d, %q", code, errs)
	}
	if p, code, errs := run("--method", "stochastic", "--seeds", "1"); code != 0 || p["params"].(map[string]any)["refine"] != false { // one canvas: the record is the subject
		t.Errorf("--method stochastic without --refine: exit %d, %q", code, errs)
	}
	boxes, _ := def["boxes"].([]any)
	if def["box"] == nil || len(boxes) == 0 || !reflect.DeepEqual(boxes[0], def["box"]) {
		t.Errorf("--boxes all: box %v, boxes %v", def["box"], def["boxes"])
	}
	if _, code, errs := run("--threshold", "0.5", "--box-rule", "otsu"); code != 2 || !strings.Contains(errs, "give one") {
		t.Errorf("--threshold with --box-rule: exit %d, %q", code, errs)
	}
	if _, code, errs := run("--preset", "paper"); code != 2 || !strings.Contains(errs, "want reference") {
		t.Errorf("--preset paper: exit %d, %q", code, errs)
	}
	if _, code, errs := run("--box-rule", "rel:2"); code != 2 || !strings.Contains(errs, "rel:A") {
		t.Errorf("--box-rule rel:2: exit %d, %q", code, errs)
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"2GB": 2 << 30, "500MB": 500 << 20, "1.5GiB": 3 << 29, "1048576": 1 << 20, "0": 0, "64k": 64 << 10} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "GB", "-1GB", "2XB", "1e400"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// --cache-size 0: no window cache (the index cache stays); a cheap
	// map (one canvas, --budget fast) says so as well as the default.
	lib := ortLibForTest(t)
	out := filepath.Join(t.TempDir(), "out")
	var stderr bytes.Buffer
	args := []string{"explain", "--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", sharedCache, "--cache-size", "0",
		"--seeds", "1", "--budget", "fast", "../../testdata/images/landscape.png", "-c", "dog", "--format", "json", "-o", out}
	if code := Main(context.Background(), args, nil, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, _ := os.ReadFile(filepath.Join(out, "landscape.dog.n.01.json"))
	if !strings.Contains(string(data), `"window_cache": "off"`) {
		t.Fatalf("--cache-size 0: window cache not off")
	}
}
