package evaluate

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

// An image that cannot be read, and one whose measurement fails after
// some of its maps were scored, are reported once each, counted, and add
// nothing to any row; the other images are measured as without them.
func TestLocalizationGoesOnPastBadImages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const side = 32
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, side, side))); err != nil {
		t.Fatal(err)
	}
	files := []string{"a.png", "b.png", "c.png", "d.png"}
	for _, f := range files {
		data := buf.Bytes()
		if f == "b.png" {
			data = []byte("not a png")
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// --maps of method x for a and c only: d fails after its center map.
	maps := &ExternalMaps{entries: map[string]*compare.Entry{}, Methods: []string{"x"}, Seconds: map[string]float64{}}
	for _, f := range []string{"a.png", "c.png"} {
		npy := filepath.Join(dir, f+".npy")
		v := make([]float32, side*side)
		v[side*side/2+side/2] = 1 // the peak in the box
		if err := render.WriteNPY(npy, v, side, side); err != nil {
			t.Fatal(err)
		}
		maps.entries[f+"\x00dog.n.01\x00x"] = &compare.Entry{Rel: f, Concept: "dog.n.01", Method: "x", NPY: npy}
	}
	dog := &wordnet.Synset{Name: "dog.n.01"}
	var images []ManifestImage
	var samples []Sample
	for i, f := range files {
		images = append(images, ManifestImage{File: f})
		samples = append(samples, Sample{Image: i, Concept: dog, Box: saliency.Rect{X: 8, Y: 8, W: 16, H: 16}})
	}
	loc := &Localization{Methods: []Method{{Name: "center"}, {Name: "x", Maps: true}}, Levels: []string{"object"},
		BoxRules: []saliency.BoxRule{saliency.ReferenceBoxRule}, Params: saliency.DefaultParams(), Maps: maps}
	var reported []string
	rows, failed, err := loc.Run(context.Background(), images, dir, map[string][]Sample{"object": samples}, pipeline.EachOptions{
		Prefetch: 1,
		Failed:   func(j pipeline.Job, err error) { reported = append(reported, err.Error()) },
	})
	if err != nil || failed != 2 || len(reported) != 2 {
		t.Fatalf("failed %d, err %v, reported %q", failed, err, reported)
	}
	if !strings.Contains(reported[0], "b.png") || !strings.Contains(reported[1], filepath.Join(dir, "d.png")+": --maps: no x map of dog.n.01 for d.png") {
		t.Errorf("reported %q: want b.png's decode error and d.png's missing map, each naming the file", reported)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	for _, r := range rows {
		if r.Samples != 2 {
			t.Errorf("%s: %d samples, want 2 (a and c; d's center map must not count)", r.Method, r.Samples)
		}
	}
	if x := rows[1]; x.Method != "x" || x.Source != "maps" || x.Pointing.Mean != 1 {
		t.Errorf("x: %+v, want every peak in its box", x)
	}
}
