package embedcache

import (
	"os"
	"reflect"
	"sync"
	"testing"
	"time"
)

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
func TestEmbeddingsEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	entry := int64(len(embMagic)) + 4*100*16 + 200 // header ≈ 200 bytes
	c := NewEmbeddings(dir, 3*entry)
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
func TestEmbeddingsChecksEntries(t *testing.T) {
	c := NewEmbeddings(t.TempDir(), 0)
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
func TestEmbeddingsSharedFolder(t *testing.T) {
	dir := t.TempDir()
	rows := rowsOf(200, 32, 1)
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewEmbeddings(dir, 0)
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
