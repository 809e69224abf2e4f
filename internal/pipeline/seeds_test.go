package pipeline

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convis/convis/internal/embedcache"
	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
)

// --seeds 4 is the mean of the four single-seed maps of seeds 0…3, bit for
// bit, with the window cache off, cold and warm; its spread is their
// per-pixel standard deviation, and --seeds 1's spread is zero.
func TestSeedsAreTheMeanOfSingleSeedMaps(t *testing.T) {
	t.Parallel()
	run, jobs, enc := runnerFixture(t, "dog.n.01")
	jobs = jobs[:1] // 40×30: the padding's noise differs by seed
	rp := saliency.DefaultRefine()
	rp.Size, rp.Stride = 64, 64      // few windows: the test is about the mean
	run.Settings.Params.Refine = &rp // the default map's stages, refinement included
	read := func(dir, file string) []float32 {
		t.Helper()
		v, _, _, err := render.ReadNPY(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	explain := func(seed uint64, seeds int, cache *embedcache.Embeddings) (dir string, recs []record.Record) {
		t.Helper()
		run.OutDir = t.TempDir()
		run.Settings.Params.Canvas.Seed, run.Settings.Params.Stochastic.Seed, run.Settings.Params.Seeds = seed, seed, seeds
		run.Explainer.Cache, run.Explainer.ModelKey = cache, "fake"
		tot, err := run.Run(context.Background(), jobs, func(r record.Record) error { recs = append(recs, r); return nil })
		if err != nil || tot.Failed != 0 {
			t.Fatalf("seed %d seeds %d: %+v %v", seed, seeds, tot, err)
		}
		return run.OutDir, recs
	}
	var singles [][]float32
	for s := uint64(0); s < 4; s++ {
		dir, recs := explain(s, 1, nil)
		singles = append(singles, read(dir, "one.dog.n.01.map.npy"))
		for i, v := range read(dir, "one.dog.n.01.spread.npy") {
			if v != 0 {
				t.Fatalf("--seeds 1: spread %g at pixel %d, want 0", v, i)
			}
		}
		if sp := recs[0].Spread; sp == nil || sp.Seeds != 1 || sp.Mean != 0 || sp.Max != 0 {
			t.Fatalf("--seeds 1: record spread %+v", sp)
		}
	}
	differ := false
	for i := range singles[0] {
		differ = differ || singles[0][i] != singles[1][i]
	}
	if !differ {
		t.Fatal("seeds 0 and 1 gave the same map: the test would not see a wrong mean")
	}
	mean := make([]float32, len(singles[0]))
	std := make([]float32, len(singles[0]))
	for i := range mean {
		sum := 0.0
		for _, m := range singles {
			sum += float64(m[i])
		}
		mu := sum / 4
		d := 0.0
		for _, m := range singles {
			d += (float64(m[i]) - mu) * (float64(m[i]) - mu)
		}
		mean[i], std[i] = float32(mu), float32(math.Sqrt(d/4))
	}
	cache := embedcache.NewEmbeddings(t.TempDir(), 0)
	for _, c := range []struct {
		name  string
		cache *embedcache.Embeddings
		state string
	}{{"no cache", nil, embedcache.Off}, {"cold cache", cache, embedcache.Miss}, {"warm cache", cache, embedcache.Hit}} {
		before := enc.Passes()
		dir, recs := explain(0, 4, c.cache)
		got, spread := read(dir, "one.dog.n.01.map.npy"), read(dir, "one.dog.n.01.spread.npy")
		for i := range mean {
			if math.Float32bits(got[i]) != math.Float32bits(mean[i]) {
				t.Fatalf("%s: --seeds 4 pixel %d = %v, the mean of the four single-seed maps is %v", c.name, i, got[i], mean[i])
			}
			if math.Abs(float64(spread[i]-std[i])) > 1e-7 {
				t.Fatalf("%s: spread pixel %d = %v, want %v", c.name, i, spread[i], std[i])
			}
		}
		rec := recs[0]
		if rec.WindowCache != c.state || (c.state == embedcache.Hit) != (enc.Passes() == before) {
			t.Errorf("%s: window cache %q, %d windows encoded", c.name, rec.WindowCache, enc.Passes()-before)
		}
		if rec.Spread == nil || rec.Spread.Seeds != 4 || !(rec.Spread.Max > 0) {
			t.Errorf("%s: spread %+v, want 4 seeds and a positive max", c.name, rec.Spread)
		}
		sc, err := record.ReadSidecar(filepath.Join(dir, "one.dog.n.01.json"))
		if err != nil {
			t.Fatal(err)
		}
		if sc.Params["seeds"] != float64(4) || sc.Spread == nil || *sc.Spread != *rec.Spread || sc.Outputs["spread"] != "one.dog.n.01.spread.npy" {
			t.Errorf("%s: sidecar seeds %v, spread %+v, outputs %v", c.name, sc.Params["seeds"], sc.Spread, sc.Outputs)
		}
	}
}

// Without --seeds the outputs are as before: no spread file, no seeds or
// spread in the sidecar.
func TestNoSeedsNoSpread(t *testing.T) {
	t.Parallel()
	run, jobs, _ := runnerFixture(t, "dog.n.01")
	var recs []record.Record
	if _, err := run.Run(context.Background(), jobs[:1], func(r record.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	sc, err := record.ReadSidecar(filepath.Join(run.OutDir, "one.dog.n.01.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sc.Params["seeds"]; ok || sc.Spread != nil || recs[0].Spread != nil || sc.Outputs["spread"] != "" {
		t.Errorf("default run reports seeds %v, spread %+v, outputs %v", sc.Params["seeds"], sc.Spread, sc.Outputs)
	}
}

// The overlay's annotation carries the presence: the mark and a dashed box
// by default for an absent-looking concept, none for a present one.
func TestMarkPresence(t *testing.T) {
	t.Parallel()
	var a render.Annotation
	markPresence(&a, &saliency.Presence{WholeImageRank: 595, BestWindowRank: 91, LooksAbsent: true}, "")
	if !a.Absent || a.AbsentBox != render.AbsentBoxDashed || !strings.Contains(a.Presence, "595") {
		t.Errorf("absent: %+v", a)
	}
	a = render.Annotation{}
	markPresence(&a, &saliency.Presence{WholeImageRank: 0, BestWindowRank: 0}, render.AbsentBoxNone)
	if a.Absent || a.Presence == "" {
		t.Errorf("present: %+v", a)
	}
}
