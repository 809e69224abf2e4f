package main

import (
	"fmt"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/pipeline"
)

// eachOptions are the eval commands' settings of the one per-image loop
// (pipeline.Each): the shared decoder, read-ahead, a progress line that
// label words for each event, and a bad image reported as one line on
// stderr naming it (Each counts it and goes on; batchFailed ends the run).
func eachOptions(g *globalOptions, prog *progressLine, decode clip.DecodeOptions, label func(pipeline.Event) string) pipeline.EachOptions {
	return pipeline.EachOptions{
		Decode:   decode,
		Prefetch: pipeline.DefaultPrefetch,
		Progress: func(e pipeline.Event) { prog.Update(label(e), e.Done, e.Total) },
		Failed: func(j pipeline.Job, err error) {
			prog.Done()
			fmt.Fprintln(g.Stderr, "convis: "+escapeName(oneLine(err.Error())))
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
