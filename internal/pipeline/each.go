package pipeline

import (
	"context"

	"github.com/convis/convis/internal/clip"
)

// EachOptions says how Each decodes images and reports on them.
type EachOptions struct {
	Decode clip.DecodeOptions
	// Failed is called once per image that could not be decoded or whose
	// work returned an error (not a cancellation); the loop goes on.
	Failed func(job Job, err error)
	// Progress is called after each image, done or failed.
	Progress func(Event)
}

// Each is the one per-image loop of the batch commands: jobs in their given
// order, each decoded with the shared decoder, fn called on it. A bad image
// is reported through opts.Failed, counted and skipped; cancellation stops
// the loop at once and is returned as the error.
func Each(ctx context.Context, jobs []Job, opts EachOptions, fn func(ctx context.Context, job Job, img *clip.RGB) error) (failed int, err error) {
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			return failed, err
		}
		img, _, err := LoadImage(j.Path, j.decodeOptions(opts.Decode))
		if err == nil {
			err = fn(ctx, j, img)
		}
		if err != nil {
			if ctx.Err() != nil {
				return failed, ctx.Err()
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
