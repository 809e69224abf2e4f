package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/render"
)

// explain --top 5 makes five records whose concepts are the five that
// classify --top 5 lists for the image, in its order: one ranking rule for
// both commands. The maps come from the windows classify cached.
func TestExplainTopIsClassifyTop(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := t.TempDir()
	convis := func(args ...string) []byte {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", cache}, args...)
		if code := Main(context.Background(), args, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("convis %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		return stdout.Bytes()
	}
	img := "../../testdata/images/landscape.png"
	var listed []classifyEntry
	if err := json.Unmarshal(convis("classify", img, "--top", "5", "--json"), &listed); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range listed {
		want = append(want, e.Synset)
	}
	var recs []struct {
		Concept string `json:"concept"`
		TopRank int    `json:"top_rank"`
		Status  string `json:"status"`
		Passes  int    `json:"forward_passes"`
	}
	if err := json.Unmarshal(convis("explain", img, "--top", "5", "--seeds", "1", "--format", "json", "-o", t.TempDir(), "--json"), &recs); err != nil {
		t.Fatal(err)
	}
	sort.Slice(recs, func(a, b int) bool { return recs[a].TopRank < recs[b].TopRank })
	var got []string
	passes := 0
	for i, r := range recs {
		if r.Status != "ok" || r.TopRank != i+1 {
			t.Errorf("record %d: %+v", i, r)
		}
		got = append(got, r.Concept)
		passes += r.Passes
	}
	if len(want) != 5 || !reflect.DeepEqual(got, want) {
		t.Fatalf("explain --top 5 explained %v, classify --top 5 lists %v", got, want)
	}
	// classify encoded the 98 grid windows wholly inside the 400×300
	// image (224×168 on the canvas), the ones that vote; the maps take
	// them from the cache and encode the other 556 of the 654 grid windows
	// that touch the image and the refinement's 154: 710. (--seeds 1: the
	// default's further canvases would add their outside windows.)
	if passes != 654-98+154 {
		t.Errorf("explain --top 5 encoded %d windows after classify, want %d (the map's, less the 98 inside windows classify cached)", passes, 654-98+154)
	}
}

// --versus cat on the demo scene (a dog, a cat and a bus; built-in model):
// the dog-versus-cat map is positive on the dog and negative on the cat,
// within [−1, 1], and costs no pass more than the dog's map.
func TestVersusIsPositiveOnTheDogNegativeOnTheCat(t *testing.T) {
	if testing.Short() {
		t.Skip("computes a grid map with the built-in model")
	}
	lib := ortLibForTest(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"explain", "../../testdata/demo/scene.png", "-c", "dog", "--versus", "cat", "--format", "npy,json",
		"-o", out, "--ort-lib", lib, "--cache-dir", sharedCache, "--refine=false"}
	if code := Main(context.Background(), args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	v, w, h, err := render.ReadNPY(filepath.Join(out, "scene.dog.n.01.vs.cat.n.01.map.npy"))
	if err != nil {
		t.Fatal(err)
	}
	mean := func(x, y, bw, bh int) float64 {
		s := 0.0
		for j := y; j < y+bh; j++ {
			for i := x; i < x+bw; i++ {
				s += float64(v[j*w+i])
			}
		}
		return s / float64(bw*bh)
	}
	for _, x := range v {
		if x < -1 || x > 1 {
			t.Fatalf("value %v outside [−1, 1]", x)
		}
	}
	// Boxes from testdata/demo/scene.json.
	dog, cat := mean(20, 90, 113, 120), mean(250, 20, 71, 80)
	if w != 360 || h != 240 || dog <= 0 || cat >= 0 {
		t.Errorf("%dx%d map: mean %.3f on the dog (want > 0), %.3f on the cat (want < 0)", w, h, dog, cat)
	}
	sc, err := record.ReadSidecar(filepath.Join(out, "scene.dog.n.01.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Versus) != 1 || sc.Versus[0].Concept != "cat.n.01" || sc.Versus[0].Outputs["npy"] != "scene.dog.n.01.vs.cat.n.01.map.npy" {
		t.Errorf("sidecar versus %+v", sc.Versus)
	}
}
