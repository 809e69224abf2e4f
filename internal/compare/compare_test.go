package compare

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/render"
)

func TestMetricsByHand(t *testing.T) {
	a := []float32{1, 2, 3, 4}
	if p := Pearson(a, []float32{2, 4, 6, 8}); math.Abs(p-1) > 1e-12 {
		t.Errorf("pearson of a line: %v", p)
	}
	if p := Pearson(a, []float32{4, 3, 2, 1}); math.Abs(p+1) > 1e-12 {
		t.Errorf("pearson reversed: %v", p)
	}
	// Ties share their mean rank: ranks of {1,1,2} are {0.5,0.5,2}.
	if r := ranks([]float32{1, 1, 2}); r[0] != 0.5 || r[1] != 0.5 || r[2] != 2 {
		t.Errorf("ranks %v", r)
	}
	if s := Spearman([]float32{1, 2, 3, 100}, []float32{1, 2, 3, 4}); math.Abs(s-1) > 1e-12 {
		t.Errorf("spearman of a monotone map: %v", s)
	}
	if iou := TopIoU([]float32{0, 0, 1, 1}, []float32{0, 1, 1, 0}, 0.5); math.Abs(iou-1.0/3) > 1e-12 {
		t.Errorf("top-50%% IoU %v, want 1/3", iou)
	}
	if iou := BoxIoU(&Box{0, 0, 10, 10}, &Box{5, 0, 10, 10}); math.Abs(iou-50.0/150) > 1e-12 {
		t.Errorf("box IoU %v", iou)
	}
	if BoxIoU(nil, nil) != 1 || BoxIoU(&Box{0, 0, 1, 1}, nil) != 0 {
		t.Error("missing boxes")
	}
	if m := meanAbsDiff(a, []float32{1, 2, 3, 8}); m != 1 {
		t.Errorf("mad %v", m)
	}
}

// writeSide writes maps as explain does: a sidecar and an .npy per image.
func writeSide(t *testing.T, dir string, maps map[string][]float32, w, h int, seed uint64) {
	t.Helper()
	for rel, v := range maps {
		stem := strings.TrimSuffix(rel, ".png")
		npy := filepath.Join(dir, stem+".dog.n.01.map.npy")
		if err := render.WriteAtomicMkdir(npy, func(wr io.Writer) error { return render.EncodeNPY(wr, v, w, h) }); err != nil {
			t.Fatal(err)
		}
		sc := record.Sidecar{Schema: 2, Rel: rel, Image: rel, Concept: record.ConceptInfo{Synset: "dog.n.01"}, Method: "grid", Seed: seed,
			Model: record.ModelInfo{SHA256: "abc", Variant: "fp32"}, MapSize: [2]int{w, h},
			Outputs: map[string]string{"npy": filepath.Base(npy), "json": filepath.Base(stem) + ".dog.n.01.json"}}
		data, _ := json.Marshal(sc)
		if err := os.WriteFile(filepath.Join(dir, stem+".dog.n.01.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// blob is a map with a Gaussian bump at (cx, cy).
func blob(w, h int, cx, cy, sigma float64) []float32 {
	v := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			d := (float64(x)-cx)*(float64(x)-cx) + (float64(y)-cy)*(float64(y)-cy)
			v[y*w+x] = float32(math.Exp(-d / (2 * sigma * sigma)))
		}
	}
	return v
}

func TestCompareFolders(t *testing.T) {
	base, cur := t.TempDir(), t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	same := blob(64, 48, 20, 20, 8)
	noisy := make([]float32, len(same))
	for i, v := range same {
		noisy[i] = v + float32(r.NormFloat64()*0.005)
	}
	writeSide(t, base, map[string][]float32{"a/x.png": same, "b/x.png": same, "gone.png": same}, 64, 48, 0)
	// b/x.png's peak moves by a quarter of the image; a/x.png only jitters.
	writeSide(t, cur, map[string][]float32{"a/x.png": noisy, "b/x.png": blob(64, 48, 36, 32, 8)}, 64, 48, 7)
	res, err := Run(base, cur, Options{Tolerances: DefaultTolerances()})
	if err != nil {
		t.Fatal(err)
	}
	byRel := map[string]*Pair{}
	for _, p := range res.Pairs {
		byRel[p.Rel] = p
	}
	if p := byRel["a/x.png"]; p.Failed() || p.Metrics.Pearson < 0.99 {
		t.Errorf("jitter failed: %+v", p)
	}
	if p := byRel["b/x.png"]; !p.Failed() || !strings.Contains(strings.Join(p.Failures, ";"), "peak_shift") {
		t.Errorf("a map moved by a quarter of the image passed: %+v %+v", p, p.Metrics)
	}
	if p := byRel["gone.png"]; !p.Failed() || p.Missing != "current" {
		t.Errorf("a missing pair passed: %+v", p)
	}
	if res.Failed != 2 || res.Pairs[len(res.Pairs)-1].Rel != "a/x.png" {
		t.Errorf("failed %d, order %v", res.Failed, res.Pairs)
	}
	// The other seed is reported, not silently compared.
	if len(res.Settings) != 1 || res.Settings[0] != "seed 0 → 7" {
		t.Errorf("settings %v", res.Settings)
	}
	// --allow-missing.
	res2, _ := Run(base, cur, Options{Tolerances: DefaultTolerances(), AllowMissing: true})
	if res2.Failed != 1 {
		t.Errorf("allow missing: %d failed", res2.Failed)
	}
	// JUnit names the failing pairs and the broken metrics.
	var buf bytes.Buffer
	if err := res.JUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &suite); err != nil {
		t.Fatal(err)
	}
	failing := map[string]string{}
	for _, c := range suite.Cases {
		if c.Failure != nil {
			failing[c.Name] = c.Failure.Message
		}
	}
	if suite.Tests != 3 || suite.Failures != 2 || !strings.Contains(failing["b/x.png dog.n.01"], "peak_shift") || failing["gone.png dog.n.01"] == "" {
		t.Errorf("junit %+v", suite)
	}
	buf.Reset()
	res.Markdown(&buf, 10)
	if md := buf.String(); !strings.Contains(md, "❌ 2 of 3") || !strings.Contains(md, "`b/x.png`") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestCompareBadInputs(t *testing.T) {
	dir := t.TempDir()
	writeSide(t, dir, map[string][]float32{"x.png": blob(8, 8, 4, 4, 2)}, 8, 8, 0)
	npy := filepath.Join(dir, "x.dog.n.01.map.npy")
	data, _ := os.ReadFile(npy)
	other := t.TempDir()
	writeSide(t, other, map[string][]float32{"x.png": blob(8, 8, 4, 4, 2)}, 8, 8, 0)
	os.WriteFile(filepath.Join(other, "x.dog.n.01.map.npy"), data[:len(data)-10], 0o644)
	_, err := Run(dir, other, Options{Tolerances: DefaultTolerances()})
	var in *InputError
	if !errors.As(err, &in) || !strings.Contains(err.Error(), "x.dog.n.01.map.npy") || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated .npy: %v", err)
	}
	os.WriteFile(filepath.Join(other, "x.dog.n.01.json"), []byte(`{"schema": 2, "conc`), 0o644)
	if _, err := Run(dir, other, Options{Tolerances: DefaultTolerances()}); !errors.As(err, &in) || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("broken sidecar: %v", err)
	}
}

func TestTolerancesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tol.yaml")
	os.WriteFile(p, []byte("default: {min_pearson: 0.9}\nconcepts:\n  dog.n.01: {max_peak_shift: 0.2}\n"), 0o644)
	tol, per, err := LoadTolerances(p, DefaultTolerances())
	if err != nil || tol.MinPearson != 0.9 || per["dog.n.01"].MaxPeakShift != 0.2 || per["dog.n.01"].MinPearson != 0.9 {
		t.Fatalf("%+v %+v %v", tol, per, err)
	}
	os.WriteFile(p, []byte("default: {min_pearsn: 0.9}\n"), 0o644)
	if _, _, err := LoadTolerances(p, DefaultTolerances()); err == nil || !strings.Contains(err.Error(), "unknown bound") {
		t.Fatalf("typo: %v", err)
	}
}

// BenchmarkCompare1000Pairs: the target is 1,000 pairs of 224×224 maps in
// at most 5 s on the 2-core machine (reading, every metric).
func BenchmarkCompare1000Pairs(b *testing.B) {
	base, cur := b.TempDir(), b.TempDir()
	t := &testing.T{}
	a := map[string][]float32{}
	c := map[string][]float32{}
	for i := 0; i < 1000; i++ {
		rel := filepath.Join("d", strings.Repeat("x", 1+i%5)+string(rune('a'+i%26))+itoa(i)+".png")
		a[rel] = blob(224, 224, float64(50+i%100), 100, 30)
		c[rel] = blob(224, 224, float64(52+i%100), 101, 30)
	}
	writeSide(t, base, a, 224, 224, 0)
	writeSide(t, cur, c, 224, 224, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(base, cur, Options{Tolerances: DefaultTolerances()})
		if err != nil || len(res.Pairs) != 1000 {
			b.Fatal(err)
		}
	}
}

func itoa(i int) string {
	return string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func TestKthLargest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(300)
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.IntN(20)) // many ties
		}
		sorted := slices.Clone(v)
		slices.Sort(sorted)
		k := 1 + r.IntN(n)
		if got := kthLargest(slices.Clone(v), k); got != sorted[n-k] {
			t.Fatalf("n %d k %d: got %v want %v", n, k, got, sorted[n-k])
		}
	}
	if r := ranks([]float32{-1, 2, -3, 2}); r[0] != 1 || r[2] != 0 || r[1] != 2.5 || r[3] != 2.5 {
		t.Fatalf("ranks with negatives and ties: %v", r)
	}
}
