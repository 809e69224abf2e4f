package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/convis/convis/internal/clip"
)

// A bad image is reported once, counted, and the loop goes on to the next.
func TestEachGoesOnPastBadImage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.png")
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join("..", "..", "testdata", "images")
	ents, _ := os.ReadDir(good)
	var goodPath string
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".png" || filepath.Ext(e.Name()) == ".jpg" {
			goodPath = filepath.Join(good, e.Name())
			break
		}
	}
	if goodPath == "" {
		t.Skip("no test image")
	}
	var seen, reported []string
	failed, err := Each(context.Background(), []Job{{Path: bad}, {Path: goodPath}}, EachOptions{
		Failed: func(j Job, err error) { reported = append(reported, j.Path) },
	}, func(ctx context.Context, j Job, img *clip.RGB) error {
		seen = append(seen, j.Path)
		return nil
	})
	if err != nil || failed != 1 || len(reported) != 1 || reported[0] != bad || len(seen) != 1 || seen[0] != goodPath {
		t.Fatalf("failed=%d err=%v reported=%v seen=%v", failed, err, reported, seen)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Each(ctx, []Job{{Path: goodPath}}, EachOptions{}, func(context.Context, Job, *clip.RGB) error { return nil }); err == nil {
		t.Fatal("cancelled context: want an error")
	}
}
