package main

import (
	"context"
	"fmt"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/pipeline"
)

// eachOptions are the eval commands' settings of the one per-image loop
// (pipeline.Each): the shared decoder, read-ahead, the batch progress of
// explain and score (images done, rate, ETA, failures), and a bad image
// reported as one line on stderr naming it (Each counts it and goes on;
// batchFailed ends the run).
func eachOptions(g *globalOptions, prog *batchProgress, decode clip.DecodeOptions) pipeline.EachOptions {
	return pipeline.EachOptions{
		Decode:   decode,
		Prefetch: pipeline.DefaultPrefetch,
		Progress: prog.Update,
		Failed: func(j pipeline.Job, err error) {
			prog.Clear()
			fmt.Fprintln(g.Stderr, "convis: "+escapeName(errtext.OneLine(err.Error())))
		},
	}
}

// failedNote is what a report's header adds for images that failed:
// nothing when none did.
func failedNote(failed int) string {
	if failed == 0 {
		return ""
	}
	return fmt.Sprintf(", %d failed", failed)
}

// eachSample runs fn on every sample of eval faithfulness or eval sanity
// that has concepts, on the one per-image loop, i being the sample's index
// in samples (their seeds follow it). An error of fn is reported naming
// the image; fn keeps an image's results only when all were made.
func eachSample(ctx context.Context, g *globalOptions, decode clip.DecodeOptions, samples []faithSample, fn func(ctx context.Context, i int, img *clip.RGB) error) (failed int, err error) {
	var jobs []pipeline.Job
	var index []int
	for i, s := range samples {
		if len(s.concepts) > 0 {
			jobs, index = append(jobs, pipeline.Job{Path: s.path, Rel: s.file}), append(index, i)
		}
	}
	prog := newBatchProgress(g, len(jobs))
	defer prog.Done()
	return pipeline.Each(ctx, jobs, eachOptions(g, prog, decode),
		func(ctx context.Context, k int, job pipeline.Job, img *clip.RGB) error {
			if err := fn(ctx, index[k], img); err != nil {
				return fmt.Errorf("%s: %w", job.Path, err) // a decode error names it already
			}
			return nil
		})
}
