package pipeline

import (
	"context"
	"errors"

	"github.com/convis/convis/internal/clip"
)

// DefaultPrefetch is explain's --prefetch default, and the read-ahead of
// the commands that take no such flag (score, eval).
const DefaultPrefetch = 2

// EachOptions says how Each decodes images and reports on them.
type EachOptions struct {
	Decode clip.DecodeOptions
	// Prefetch is how many images are decoded ahead while fn runs on the
	// current one (bounded memory); 0 decodes each only when its turn comes.
	Prefetch int
	// Failed is called once per image that could not be decoded or whose
	// work returned an error (not a cancellation); the loop goes on.
	Failed func(job Job, err error)
	// Progress is called after each image, done or failed.
	Progress func(Event)
}

// decoded is an image read ahead by Each, or why it could not be read.
type decoded struct {
	img *clip.RGB
	err error
}

// Each is the one per-image loop of the batch commands: jobs in their given
// order, each decoded with the shared decoder, fn called on it. A bad image
// is reported through opts.Failed, counted and skipped; cancellation stops
// the loop at once (also while it waits for a prefetched image) and is
// returned as the error. A model that cannot be opened (*clip.OpenError,
// from a lazily opened encoder) ends the loop with that error, as it ends
// Runner.Run: no image can succeed. fn runs on the caller's goroutine, one image at a
// time, in job order (i is the job's index in jobs): only decoding runs
// ahead.
func Each(ctx context.Context, jobs []Job, opts EachOptions, fn func(ctx context.Context, i int, job Job, img *clip.RGB) error) (failed int, err error) {
	pctx, stop := context.WithCancel(ctx)
	defer stop() // ends the prefetcher on an early return
	next := prefetchWith(pctx, opts.Prefetch, jobs, func(j Job) *decoded {
		img, _, err := LoadImage(j.Path, j.decodeOptions(opts.Decode))
		return &decoded{img, err}
	})
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			return failed, err
		}
		d := next(i)
		if d == nil {
			return failed, ctx.Err()
		}
		err := d.err
		if err == nil {
			err = fn(ctx, i, j, d.img)
		}
		if err != nil {
			if ctx.Err() != nil {
				return failed, ctx.Err()
			}
			var oe *clip.OpenError
			if errors.As(err, &oe) {
				return failed, err
			}
			failed++
			if opts.Failed != nil {
				opts.Failed(j, err)
			}
		}
		if opts.Progress != nil {
			opts.Progress(Event{Image: j.Path, Done: i + 1, Total: len(jobs), Failed: failed})
		}
	}
	return failed, nil
}

// prefetchWith prepares jobs in order on one goroutine, at most ahead of
// them waiting (bounded memory), and returns the function that hands out
// the i-th in turn (calls must come in job order). With ahead ≤ 0 each job
// is prepared only when asked. The zero T (nil) means ctx was cancelled:
// waiting for the next job is never deaf to an interrupt. Shared by
// Runner.Run (explain) and Each (the other batch commands).
func prefetchWith[T any](ctx context.Context, ahead int, jobs []Job, plan func(Job) T) func(i int) T {
	if ahead <= 0 {
		return func(i int) T { return plan(jobs[i]) }
	}
	ch := make(chan T, ahead)
	go func() {
		defer close(ch)
		for _, j := range jobs {
			if ctx.Err() != nil {
				return
			}
			pr := plan(j)
			select {
			case ch <- pr:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func(int) T {
		var zero T
		select {
		case pr, ok := <-ch:
			if !ok {
				return zero
			}
			return pr
		case <-ctx.Done():
			return zero
		}
	}
}
