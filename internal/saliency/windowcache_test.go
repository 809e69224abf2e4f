package saliency

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/convis/convis/internal/embedcache"
)

func mapBits(res *Explanation) [][]uint32 {
	var out [][]uint32
	for _, cm := range res.Maps {
		b := make([]uint32, len(cm.Map.V))
		for i, v := range cm.Map.V {
			b[i] = math.Float32bits(v)
		}
		out = append(out, b)
	}
	return out
}

// Maps are the same bits with the cache off, on a miss, on a hit and after
// a corrupt entry was found and recomputed; a hit encodes nothing.
func TestWindowCacheMapsAreIdentical(t *testing.T) {
	for _, method := range []Method{MethodGrid, MethodStochastic, MethodOcclusion} {
		t.Run(string(method), func(t *testing.T) {
			ex, enc, concepts := fixture(t)
			p := DefaultParams()
			p.Method, p.Stochastic.Seed = method, 7
			img := testImage(200, 150)
			off, err := ex.Explain(context.Background(), img, concepts, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if off.WindowCache != embedcache.Off {
				t.Fatalf("no cache: window_cache %q", off.WindowCache)
			}
			var warned []error
			ex.Cache = embedcache.NewEmbeddings(t.TempDir(), 0)
			ex.Cache.Warn = func(err error) { warned = append(warned, err) }
			ex.ModelKey = "fake/fp32"
			miss, err := ex.Explain(context.Background(), img, concepts, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			before := enc.Passes()
			hit, err := ex.Explain(context.Background(), img, concepts[1:], p, nil) // another concept
			if err != nil {
				t.Fatal(err)
			}
			if miss.WindowCache != embedcache.Miss || hit.WindowCache != embedcache.Hit {
				t.Fatalf("window_cache %q then %q, want miss then hit", miss.WindowCache, hit.WindowCache)
			}
			if enc.Passes() != before || hit.Stats.Passes != 0 || miss.Stats.Passes == 0 {
				t.Fatalf("a hit encoded %d windows (stats %d); the miss %d", enc.Passes()-before, hit.Stats.Passes, miss.Stats.Passes)
			}
			want := mapBits(off)
			if !reflect.DeepEqual(mapBits(miss), want) || !reflect.DeepEqual(mapBits(hit), want[1:]) {
				t.Fatal("maps differ between cache off, miss and hit")
			}
			if !reflect.DeepEqual(hit.Maps[0].Ranks, off.Maps[1].Ranks) || hit.Maps[0].BestRank != off.Maps[1].BestRank {
				t.Fatal("ranks differ on a hit")
			}
			// Corrupt the window entry: one flipped byte in the middle.
			entries, _ := filepath.Glob(filepath.Join(ex.Cache.Dir, "*.emb"))
			var big string
			for _, e := range entries {
				if fi, _ := os.Stat(e); fi.Size() > 10000 {
					big = e
				}
			}
			data, _ := os.ReadFile(big)
			data[len(data)/2] ^= 0x40
			os.WriteFile(big, data, 0o644)
			again, err := ex.Explain(context.Background(), img, concepts, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if again.WindowCache != embedcache.Miss || len(warned) != 1 || !reflect.DeepEqual(mapBits(again), want) {
				t.Fatalf("after corruption: %q, warnings %v, maps equal %v", again.WindowCache, warned, reflect.DeepEqual(mapBits(again), want))
			}
			if third, _ := ex.Explain(context.Background(), img, concepts, p, nil); third.WindowCache != embedcache.Hit {
				t.Fatalf("the recomputed entry was not stored: %q", third.WindowCache)
			}
		})
	}
}

// Anything that changes the windows is a new key: seed (the noise fill),
// crop mode, fill, stride, sizes, image pixels; the batch size too.
func TestWindowKeyCoversTheWindows(t *testing.T) {
	ex, _, _ := fixture(t)
	key := func(img [2]int, mod func(*Params)) string {
		p := DefaultParams()
		if mod != nil {
			mod(&p)
		}
		pr, err := Prepare(testImage(img[0], img[1]), p)
		if err != nil {
			t.Fatal(err)
		}
		return WindowKey("m", ex.Pre.Config, p.Batch, pr.Canvas, pr.Windows)
	}
	base := key([2]int{200, 150}, nil)
	if key([2]int{200, 150}, nil) != base {
		t.Fatal("the same inputs gave two keys")
	}
	for name, k := range map[string]string{
		"seed":   key([2]int{200, 150}, func(p *Params) { p.Canvas.Seed = 1 }),
		"crop":   key([2]int{200, 150}, func(p *Params) { p.Canvas.Crop = CropCenter }),
		"fill":   key([2]int{200, 150}, func(p *Params) { p.Canvas.Fill = FillGray }),
		"stride": key([2]int{200, 150}, func(p *Params) { p.Stride = 32 }),
		"sizes":  key([2]int{200, 150}, func(p *Params) { p.Sizes = []int{96} }),
		"batch":  key([2]int{200, 150}, func(p *Params) { p.Batch = 8 }),
		"image":  key([2]int{201, 150}, nil),
	} {
		if k == base {
			t.Errorf("changing the %s kept the key", name)
		}
	}
	if WindowKey("other model", ex.Pre.Config, 32, mustCanvas(t), nil) == WindowKey("m", ex.Pre.Config, 32, mustCanvas(t), nil) {
		t.Error("the model is not in the key")
	}
}

func mustCanvas(t *testing.T) *Canvas {
	c, err := NewCanvas(testImage(64, 64), DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
