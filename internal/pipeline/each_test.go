package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
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
	}, func(ctx context.Context, _ int, j Job, img *clip.RGB) error {
		seen = append(seen, j.Path)
		return nil
	})
	if err != nil || failed != 1 || len(reported) != 1 || reported[0] != bad || len(seen) != 1 || seen[0] != goodPath {
		t.Fatalf("failed=%d err=%v reported=%v seen=%v", failed, err, reported, seen)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Each(ctx, []Job{{Path: goodPath}}, EachOptions{}, func(context.Context, int, Job, *clip.RGB) error { return nil }); err == nil {
		t.Fatal("cancelled context: want an error")
	}
}

// tinyPNGs writes n 16×16 PNGs (the smallest the decoder takes) (image i filled with gray level i) and
// returns their jobs.
func tinyPNGs(t *testing.T, n int) []Job {
	t.Helper()
	dir := t.TempDir()
	var jobs []Job
	for i := 0; i < n; i++ {
		im := image.NewGray(image.Rect(0, 0, 16, 16))
		for k := range im.Pix {
			im.Pix[k] = uint8(10 * i)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, im); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("%02d.png", i))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, Job{Path: p, Rel: filepath.Base(p)})
	}
	return jobs
}

// With prefetch, fn still sees every image once, in job order, each with
// its own pixels; a bad image in the middle is reported, counted and
// skipped, and the progress events count every image.
func TestEachPrefetchKeepsOrderPastBadImage(t *testing.T) {
	t.Parallel()
	for _, ahead := range []int{0, 1, 3, 20} {
		jobs := tinyPNGs(t, 7)
		if err := os.WriteFile(jobs[3].Path, []byte("not a png"), 0o644); err != nil {
			t.Fatal(err)
		}
		var seen, reported []string
		var levels []uint8
		var events []Event
		failed, err := Each(context.Background(), jobs, EachOptions{
			Prefetch: ahead,
			Failed:   func(j Job, err error) { reported = append(reported, j.Rel) },
			Progress: func(e Event) { events = append(events, e) },
		}, func(ctx context.Context, i int, j Job, img *clip.RGB) error {
			if jobs[i] != j {
				t.Errorf("prefetch %d: index %d given with job %s", ahead, i, j.Rel)
			}
			seen = append(seen, j.Rel)
			levels = append(levels, img.Pix[0])
			return nil
		})
		want := []string{"00.png", "01.png", "02.png", "04.png", "05.png", "06.png"}
		if err != nil || failed != 1 || !slices.Equal(reported, []string{"03.png"}) || !slices.Equal(seen, want) {
			t.Fatalf("prefetch %d: failed=%d err=%v reported=%v seen=%v", ahead, failed, err, reported, seen)
		}
		if !slices.Equal(levels, []uint8{0, 10, 20, 40, 50, 60}) {
			t.Errorf("prefetch %d: images out of step with their jobs: %v", ahead, levels)
		}
		if len(events) != 7 || events[6].Done != 7 || events[6].Total != 7 || events[6].Failed != 1 || events[3].Failed != 1 || events[2].Failed != 0 {
			t.Errorf("prefetch %d: progress %+v", ahead, events)
		}
	}
}

// An error of fn counts as a failed image, as a bad decode does.
func TestEachCountsWorkErrors(t *testing.T) {
	t.Parallel()
	jobs := tinyPNGs(t, 3)
	var reported []string
	failed, err := Each(context.Background(), jobs, EachOptions{Prefetch: 1,
		Failed: func(j Job, err error) { reported = append(reported, j.Rel+": "+err.Error()) },
	}, func(ctx context.Context, _ int, j Job, img *clip.RGB) error {
		if j.Rel == "01.png" {
			return errors.New("no luck")
		}
		return nil
	})
	if err != nil || failed != 1 || !slices.Equal(reported, []string{"01.png: no luck"}) {
		t.Fatalf("failed=%d err=%v reported=%v", failed, err, reported)
	}
}

// Cancelling mid-way stops the loop at once, prefetch or not: no image
// after the cancel reaches fn, the error is the context's, and a
// cancellation inside fn is not counted as a failed image.
func TestEachCancelMidway(t *testing.T) {
	t.Parallel()
	for _, ahead := range []int{0, 2} {
		jobs := tinyPNGs(t, 6)
		ctx, cancel := context.WithCancel(context.Background())
		var seen []string
		var reported []string
		failed, err := Each(ctx, jobs, EachOptions{Prefetch: ahead,
			Failed: func(j Job, err error) { reported = append(reported, j.Rel) },
		}, func(ctx context.Context, _ int, j Job, img *clip.RGB) error {
			seen = append(seen, j.Rel)
			if j.Rel == "02.png" {
				cancel()
				return ctx.Err() // as an encoder interrupted mid-image returns
			}
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) || failed != 0 || len(reported) != 0 || !slices.Equal(seen, []string{"00.png", "01.png", "02.png"}) {
			t.Fatalf("prefetch %d: failed=%d err=%v reported=%v seen=%v", ahead, failed, err, reported, seen)
		}
	}
}

// A model that cannot be opened ends the loop: no image can succeed.
func TestEachStopsWhenTheModelCannotOpen(t *testing.T) {
	t.Parallel()
	jobs := tinyPNGs(t, 3)
	calls := 0
	failed, err := Each(context.Background(), jobs, EachOptions{Prefetch: 1}, func(ctx context.Context, _ int, j Job, img *clip.RGB) error {
		calls++
		return fmt.Errorf("%s: %w", j.Path, &clip.OpenError{Err: errors.New("vision_model.onnx: bad")})
	})
	var oe *clip.OpenError
	if !errors.As(err, &oe) || calls != 1 || failed != 0 {
		t.Fatalf("calls %d, failed %d, err %v", calls, failed, err)
	}
}
