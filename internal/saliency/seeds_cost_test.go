package saliency

import (
	"testing"

	"github.com/convis/convis/internal/clip"
)

// What a second seed could save (docs/trust.md, "What N seeds cost"): the
// windows of the default map that lie wholly inside the image's own pixels
// see no fill, so their crops are the same on every seed's canvas. Counted
// here for the default plan (grid and image-region refinement) on a square
// and on a 4:3 image; go test -v -run TestInteriorWindowsOfTheDefaultMap
// prints them.
func TestInteriorWindowsOfTheDefaultMap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		w, h                       int
		grid, fine, gridIn, fineIn int
	}{
		{224, 224, 730, 196, 170, 144},
		{400, 300, 654, 154, 98, 108},
	} {
		p := DefaultParams()
		c, err := NewCanvas(clip.NewRGB(tc.w, tc.h), p.Canvas)
		if err != nil {
			t.Fatal(err)
		}
		windows, err := GridPlan(c, p.Sizes, p.Stride, true)
		if err != nil {
			t.Fatal(err)
		}
		x0, y0, x1, y1 := c.ContentRect()
		inside := func(b Box) bool { return b.Inside(x0, y0, x1, y1) }
		grid, gridIn, fineIn := 0, 0, 0
		for _, b := range windows {
			if b.Overlaps(x0, y0, x1, y1) { // the windows a map encodes
				grid++
				if inside(b) {
					gridIn++
				}
			}
		}
		fine := FineWindows(c, DefaultRefine())
		for _, b := range fine {
			if inside(b) {
				fineIn++
			}
		}
		if grid != tc.grid || len(fine) != tc.fine || gridIn != tc.gridIn || fineIn != tc.fineIn {
			t.Errorf("%d×%d: grid %d (%d inside), refinement %d (%d inside); want %d (%d), %d (%d)",
				tc.w, tc.h, grid, gridIn, len(fine), fineIn, tc.grid, tc.gridIn, tc.fine, tc.fineIn)
		}
		per, in := grid+len(fine), gridIn+fineIn
		n := DefaultSeeds
		t.Logf("%d×%d: %d passes a seed, %d of them wholly inside the image; --seeds %d: %d passes, %d if those were encoded once (%.0f%% fewer)",
			tc.w, tc.h, per, in, n, n*per, per+(n-1)*(per-in), 100*float64((n-1)*in)/float64(n*per))
	}
}
