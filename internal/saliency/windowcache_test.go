package saliency

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
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
			if off.WindowCache != CacheOff {
				t.Fatalf("no cache: window_cache %q", off.WindowCache)
			}
			var warned []error
			ex.Cache = NewEmbeddingCache(t.TempDir(), 0)
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
			if miss.WindowCache != CacheMiss || hit.WindowCache != CacheHit {
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
			entries, _ := filepath.Glob(filepath.Join(ex.Cache.Dir, "*"+embExt))
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
			if again.WindowCache != CacheMiss || len(warned) != 1 || !reflect.DeepEqual(mapBits(again), want) {
				t.Fatalf("after corruption: %q, warnings %v, maps equal %v", again.WindowCache, warned, reflect.DeepEqual(mapBits(again), want))
			}
			if third, _ := ex.Explain(context.Background(), img, concepts, p, nil); third.WindowCache != CacheHit {
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

func rowsOf(n, dim int, v float32) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, dim)
		for k := range out[i] {
			out[i][k] = v + float32(i*dim+k)
		}
	}
	return out
}

// Past MaxBytes the least recently used entries go; a hit counts as a use.
func TestEmbeddingCacheEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	entry := int64(len(embMagic)) + 4*100*16 + 200 // header ≈ 200 bytes
	c := NewEmbeddingCache(dir, 3*entry)
	old := time.Now().Add(-time.Hour)
	for i, k := range []string{"a", "b", "c"} {
		if err := c.Put(k, rowsOf(100, 16, float32(i))); err != nil {
			t.Fatal(err)
		}
		at := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(c.path(k), at, at)
	}
	if _, ok := c.Get("a", 100); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	if err := c.Put("d", rowsOf(100, 16, 9)); err != nil {
		t.Fatal(err)
	}
	info, _ := c.Info()
	if info.Bytes > 3*entry {
		t.Fatalf("cache holds %d bytes, bound %d", info.Bytes, 3*entry)
	}
	_, okA := c.Get("a", 100)
	_, okB := c.Get("b", 100)
	_, okD := c.Get("d", 100)
	if !okA || okB || !okD {
		t.Fatalf("after eviction: a %v (want kept), b %v (want evicted), d %v (want kept)", okA, okB, okD)
	}
	n, _, err := c.Clear()
	if err != nil || n != info.Entries {
		t.Fatalf("clear removed %d of %d: %v", n, info.Entries, err)
	}
	if info, _ := c.Info(); info.Entries != 0 {
		t.Fatalf("%d entries after clear", info.Entries)
	}
}

// A truncated entry, one of another key or row count, and garbage are
// misses; the rows read back are the rows written.
func TestEmbeddingCacheChecksEntries(t *testing.T) {
	c := NewEmbeddingCache(t.TempDir(), 0)
	var warned int
	c.Warn = func(error) { warned++ }
	rows := rowsOf(5, 3, 0.5)
	if err := c.Put("k", rows); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Get("k", 5)
	if !ok || !reflect.DeepEqual(got, rows) {
		t.Fatalf("read back %v %v", got, ok)
	}
	if _, ok := c.Get("k", 4); ok {
		t.Fatal("a row count other than the stored one was a hit")
	}
	c.Put("k", rows)
	data, _ := os.ReadFile(c.path("k"))
	os.WriteFile(c.path("k"), data[:len(data)-4], 0o644)
	if _, ok := c.Get("k", 5); ok {
		t.Fatal("a truncated entry was a hit")
	}
	os.WriteFile(c.path("g"), []byte("garbage"), 0o644)
	if _, ok := c.Get("g", 5); ok {
		t.Fatal("garbage was a hit")
	}
	if warned != 3 {
		t.Fatalf("%d warnings, want 3 (wrong rows, truncated, garbage)", warned)
	}
}

// Processes (here goroutines with their own cache values) share a folder:
// readers see a whole entry or none.
func TestEmbeddingCacheSharedFolder(t *testing.T) {
	dir := t.TempDir()
	rows := rowsOf(200, 32, 1)
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewEmbeddingCache(dir, 0)
			c.Warn = func(err error) { errs <- err.Error() }
			for i := 0; i < 20; i++ {
				if err := c.Put("shared", rows); err != nil {
					errs <- err.Error()
				}
				if got, ok := c.Get("shared", 200); ok && !reflect.DeepEqual(got, rows) {
					errs <- "rows differ"
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
