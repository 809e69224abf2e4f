package embedcache

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testIndex is a small index of 4 prompts over 3 synsets.
func testIndex() Index {
	return Index{Dim: 2, Owner: []int32{0, 1, 2, 2}, Emb: []float32{1, 0, 0, 1, 0.6, 0.8, 0.8, 0.6}}
}

// The index read back is the index written; a corrupt file, another key
// and owners outside the hierarchy are rebuilt, not trusted.
func TestIndexCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	key := IndexKey{ModelHash: "abc", Vocab: "paper", Mode: "definitions", Synsets: 3}
	builds := 0
	build := func() (Index, error) { builds++; return testIndex(), nil }
	ctx := context.Background()
	if _, cached, err := LoadOrBuildIndex(ctx, dir, key, 3, build); err != nil || cached {
		t.Fatal(err, cached)
	}
	got, cached, err := LoadOrBuildIndex(ctx, dir, key, 3, build)
	if err != nil || !cached || builds != 1 || !reflect.DeepEqual(got, testIndex()) {
		t.Fatalf("read back %v (cached %v, %d builds): %v", got, cached, builds, err)
	}
	if _, cached, _ := LoadOrBuildIndex(ctx, dir, key, 2, build); cached {
		t.Fatal("owners outside a hierarchy of 2 synsets were trusted")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+indexExt))
	if len(files) != 1 {
		t.Fatalf("%d cache files", len(files))
	}
	raw, _ := os.ReadFile(files[0])
	raw[len(raw)-1] ^= 0xff
	os.WriteFile(files[0], raw, 0o644)
	before := builds
	if _, cached, _ := LoadOrBuildIndex(ctx, dir, key, 3, build); cached || builds != before+1 {
		t.Fatal("a corrupt cache must be rebuilt")
	}
	key.Data = "another WordNet"
	if _, cached, _ := LoadOrBuildIndex(ctx, dir, key, 3, build); cached {
		t.Fatal("other WordNet data or tokenizer must not use this cache")
	}
}

// Regression (issue 20.11): a cache that cannot be written cost the whole
// index build (an error after it); now the index is used and a warning says
// why it will be built again.
func TestUnwritableIndexCacheWarns(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o644)
	var warned []error
	ix, cached, err := LoadOrBuildIndex(context.Background(), filepath.Join(file, "index"), IndexKey{ModelHash: "abc"}, 3, func() (Index, error) {
		return testIndex(), nil
	}, IndexOptions{Warn: func(err error) { warned = append(warned, err) }})
	if err != nil || ix.Dim == 0 || cached {
		t.Fatalf("index %v, cached %v, error %v", ix.Dim != 0, cached, err)
	}
	if len(warned) == 0 || !strings.Contains(warned[0].Error(), "concept index cache") {
		t.Fatalf("warnings %v", warned)
	}
}
