package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convis/convis/internal/evaluate"
	"github.com/convis/convis/internal/render"
)

// Regression (issue 20.6): eval --crop center compared maps on the 224
// square with boxes in image pixels (pointing game 0.17 instead of 1.0 on
// 448×448 scenes). On square scenes the centre crop is the whole image, so
// both modes must score alike.
func TestEvalCenterCropComparesInImagePixels(t *testing.T) {
	if testing.Short() {
		t.Skip("computes 12 grid maps of 448² scenes (make test-long)")
	}
	lib := ortLibForTest(t)
	man := benchmarkManifest(t)
	dir := t.TempDir()
	var big evaluate.Manifest
	for _, im := range man.Images[:6] {
		f, err := os.Open(filepath.Join("../../testdata/scenes", im.File))
		if err != nil {
			t.Fatal(err)
		}
		src, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		// Twice the size, nearest neighbour: the boxes double exactly.
		b := src.Bounds()
		dst := image.NewNRGBA(image.Rect(0, 0, 2*b.Dx(), 2*b.Dy()))
		for y := 0; y < 2*b.Dy(); y++ {
			for x := 0; x < 2*b.Dx(); x++ {
				dst.Set(x, y, src.At(x/2, y/2))
			}
		}
		name := filepath.Base(im.File)
		out, _ := os.Create(filepath.Join(dir, name))
		png.Encode(out, dst)
		out.Close()
		im2 := evaluate.ManifestImage{File: name}
		for _, o := range im.Objects {
			im2.Objects = append(im2.Objects, evaluate.ManifestObject{Concept: o.Concept, Box: [4]int{2 * o.Box[0], 2 * o.Box[1], 2 * o.Box[2], 2 * o.Box[3]}})
		}
		big.Images = append(big.Images, im2)
	}
	data, _ := json.Marshal(big)
	os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644)
	pointing := func(crop string) float64 {
		var stdout, stderr bytes.Buffer
		args := []string{"eval", "localization", dir, "--crop", crop, "--json", "--ort-lib", lib, "--cache-dir", sharedCache}
		if code := Main(t.Context(), args, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("eval --crop %s: exit %d: %s", crop, code, stderr.String())
		}
		var res struct {
			Results []evaluate.Row `json:"results"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res.Results) != 1 {
			t.Fatalf("eval output %s: %v", stdout.String(), err)
		}
		return res.Results[0].Pointing.Mean
	}
	center, pad := pointing("center"), pointing("pad")
	t.Logf("448×448 scenes: pointing game centre crop %.3f, pad %.3f", center, pad)
	if center < 0.5 || center < pad-0.2 {
		t.Errorf("centre crop pointing game %.3f against %.3f for pad: %s", center, pad, fmt.Sprint("maps and boxes in different coordinates?"))
	}
}

// FuzzManifest: eval's dataset manifests of any content load or give an
// error naming the file, never a panic.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"images": [{"file": "a.png", "objects": [{"concept": "dog.n.01", "box": [1, 2, 3, 4]}]}]}`))
	f.Add([]byte(`{"images": [{"file": "", "objects": []}]}`))
	f.Add([]byte(`{"images": [{"file": "a.png", "objects": [{"concept": "dog.n.01", "box": [1, 2, 0, -4]}]}]}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "manifest.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, _, err := loadManifest(p)
		if err != nil {
			return
		}
		for _, im := range m.Images {
			if im.File == "" {
				t.Fatal("an image without a file was accepted")
			}
			for _, o := range im.Objects {
				if o.Box[2] <= 0 || o.Box[3] <= 0 {
					t.Fatal("a box without area was accepted")
				}
			}
		}
	})
}

// eval localization --maps scores maps made elsewhere with the same metric
// code: a map that peaks on the object scores 1 in the pointing game, one
// that peaks in a corner 0; --list-samples says which maps are wanted.
func TestEvalReadsExternalMaps(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.png"), mustRead(t, "../../testdata/scenes/single/0000.png"))
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"images": [{"file": "a.png", "objects": [{"concept": "owl.n.01", "box": [4, 29, 141, 190]}]}]}`), 0o644)
	var out, errb bytes.Buffer
	if code := Main(t.Context(), []string{"eval", "localization", dir, "--list-samples"}, nil, &out, &errb); code != 0 {
		t.Fatalf("list: %s", errb.String())
	}
	if !strings.Contains(out.String(), `"concept": "owl.n.01"`) {
		t.Fatalf("samples %s", out.String())
	}
	maps := filepath.Join(dir, "maps")
	for method, peak := range map[string][2]int{"good": {70, 120}, "bad": {220, 2}} {
		v := make([]float32, 224*224)
		v[peak[1]*224+peak[0]] = 1
		sub := filepath.Join(maps, method)
		if err := render.WriteAtomicMkdir(filepath.Join(sub, "a.owl.n.01.map.npy"), func(w io.Writer) error { return render.EncodeNPY(w, v, 224, 224) }); err != nil {
			t.Fatal(err)
		}
		sc := fmt.Sprintf(`{"schema": 2, "relative_path": "a.png", "concept": {"synset": "owl.n.01"}, "method": %q, "params": {"seconds_per_map": 0.01}, "outputs": {"npy": "a.owl.n.01.map.npy"}}`, method)
		os.WriteFile(filepath.Join(sub, "a.owl.n.01.json"), []byte(sc), 0o644)
	}
	out.Reset()
	if code := Main(t.Context(), []string{"eval", "localization", dir, "--method", "center", "--maps", maps, "--json"}, nil, &out, &errb); code != 0 {
		t.Fatalf("eval --maps: %s", errb.String())
	}
	var res struct {
		Results []evaluate.Row `json:"results"`
	}
	json.Unmarshal(out.Bytes(), &res)
	got := map[string]float64{}
	for _, r := range res.Results {
		got[r.Method] = r.Pointing.Mean
	}
	if got["good"] != 1 || got["bad"] != 0 || len(got) != 3 {
		t.Errorf("pointing game %v", got)
	}
}
