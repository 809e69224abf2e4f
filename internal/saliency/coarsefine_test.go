package saliency

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/embedcache"
)

// The candidates are the half-stride grid's windows off the coarse grid:
// on a square, 441 + 289 − 100 − 64 = 566 for 128 and 64 every 32.
func TestFineCandidates(t *testing.T) {
	t.Parallel()
	c, err := NewCanvas(&clip.RGB{W: 224, H: 224, Pix: make([]uint8, 224*224*3)}, DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	cand, err := FineCandidates(c, []int{128, 64}, 32, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cand) != 566 {
		t.Errorf("%d candidates, want 566", len(cand))
	}
	for _, b := range cand {
		if b.X%32 == 0 && b.Y%32 == 0 {
			t.Fatalf("candidate %+v is on the coarse grid", b)
		}
	}
	if _, err := FineCandidates(c, []int{128}, 15, false); err == nil {
		t.Error("an odd stride was accepted")
	}
}

// The window between two coarse windows that differ is chosen before the
// one between two alike; ties keep grid order; the choice is in grid order.
func TestDisagreementChoosesWhereNeighboursDiffer(t *testing.T) {
	t.Parallel()
	windows := []Box{{0, 0, 64, 64}, {32, 0, 64, 64}, {64, 0, 64, 64}, {96, 0, 64, 64}}
	emb := [][]float32{{1, 0}, {1, 0}, {0, 1}, {0, 1}}
	cand := []Box{{16, 0, 64, 64}, {48, 0, 64, 64}, {80, 0, 64, 64}, {112, 0, 64, 64}}
	got := Disagreement(windows, emb, cand, 32)
	want := []float64{0, 1, 0, -1} // the last has one encoded neighbour
	if !slices.Equal(got, want) {
		t.Fatalf("disagreement %v, want %v", got, want)
	}
	if pick := ChooseFine(cand, got, 2); !reflect.DeepEqual(pick, []Box{cand[0], cand[1]}) {
		t.Errorf("chose %v, want the disagreeing window and the first tie, in grid order", pick)
	}
	emb[1] = nil // not encoded: not a neighbour
	if got := Disagreement(windows, emb, cand, 32); got[0] != -1 || got[1] != -1 {
		t.Errorf("windows next to an unencoded one scored %v", got[:2])
	}
}

// A coarse-to-fine map encodes the coarse grid and K more windows; with
// the window cache a second concept encodes nothing and gets the map it
// gets alone (the same windows were chosen); without FineWindows nothing
// changes.
func TestCoarseToFineIsFreeForASecondConcept(t *testing.T) {
	t.Parallel()
	ex, enc, concepts := fixture(t)
	img := testImage(200, 150)
	p := DefaultParams()
	dr := DefaultRefine()
	p.Refine = &dr
	p.Stride, p.FineWindows = 32, 40
	alone, err := ex.Explain(context.Background(), img, concepts[1:], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := p
	plain.FineWindows = 0
	grid, err := ex.Explain(context.Background(), img, concepts[1:], plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if alone.FineWindows != 40 || alone.Encoded != grid.Encoded+40 || alone.Stats.Passes != grid.Stats.Passes+40 || len(alone.Windows) != len(grid.Windows)+40 {
		t.Fatalf("fine %d, encoded %d (grid %d), passes %d (grid %d)", alone.FineWindows, alone.Encoded, grid.Encoded, alone.Stats.Passes, grid.Stats.Passes)
	}
	if reflect.DeepEqual(mapBits(alone), mapBits(grid)) {
		t.Error("the fine windows did not change the map")
	}
	ex.Cache = embedcache.NewEmbeddings(t.TempDir(), 0)
	ex.ModelKey = "fake/fp32"
	if _, err := ex.Explain(context.Background(), img, concepts[:1], p, nil); err != nil {
		t.Fatal(err)
	}
	before := enc.Passes()
	second, err := ex.Explain(context.Background(), img, concepts[1:], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Passes() != before || second.Stats.Passes != 0 || second.WindowCache != embedcache.Hit {
		t.Fatalf("a second concept encoded %d windows (%s)", enc.Passes()-before, second.WindowCache)
	}
	if !reflect.DeepEqual(second.Windows, alone.Windows) || !reflect.DeepEqual(mapBits(second), mapBits(alone)) {
		t.Fatal("the second concept's windows or map differ from its map alone")
	}
}
