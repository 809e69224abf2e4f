package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/saliency"
)

// benchBatch measures explain's batch pipeline on the benchmark scenes:
// images per minute with images prepared ahead of the encoder against one
// after the other (the same model, concepts and scenes, in one run), and
// the peak resident memory after 50 and after all images of a long run.
func benchBatch(ctx context.Context, ex *saliency.Explainer, concept saliency.Concept, hash string, throughputImages, memoryImages, memoryStride int) error {
	scenes, err := filepath.Glob("testdata/scenes/*/*.png")
	if err != nil || len(scenes) == 0 {
		return fmt.Errorf("no benchmark scenes in testdata/scenes (run from the repository root)")
	}
	sort.Strings(scenes)
	jobs, _, err := pipeline.Expand(scenes, pipeline.InputOptions{})
	if err != nil {
		return err
	}
	runner := func(out string, prefetch int, p saliency.Params) *pipeline.Runner {
		return &pipeline.Runner{
			Explainer: ex, Concepts: []saliency.Concept{concept}, Model: record.ModelInfo{Path: "bench", SHA256: hash, Variant: "fp32"},
			Vocab: "paper", VocabSize: ex.Index.H.Len(), Prompts: "definitions", Version: "bench",
			Settings: pipeline.Settings{Params: p, Threshold: 0.7, Formats: pipeline.AllFormats, Style: "heatmap", Colormap: "turbo", Alpha: 0.5, Exponent: 10},
			OutDir:   out, Prefetch: prefetch,
		}
	}
	tmp, err := os.MkdirTemp("", "convis-bench-batch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	n := min(throughputImages, len(jobs))
	p := saliency.DefaultParams()
	// Halves in the order without, with, with, without (ABBA): a machine
	// that speeds up or slows down during the run weighs on both alike.
	spent := map[int]time.Duration{}
	half := n / 2
	for i, prefetch := range []int{0, 2, 2, 0} {
		part := jobs[:half]
		if i == 1 || i == 3 {
			part = jobs[half:n]
		}
		t := time.Now()
		tot, err := runner(filepath.Join(tmp, fmt.Sprint("tp", i)), prefetch, p).Run(ctx, part, nil)
		if err != nil || tot.Failed > 0 {
			return fmt.Errorf("batch run: %v (%d failed)", err, tot.Failed)
		}
		spent[prefetch] += time.Since(t)
	}
	perMin := map[int]float64{0: float64(n) / spent[0].Minutes(), 2: float64(n) / spent[2].Minutes()}
	fmt.Printf("%-52s %10.1f\n", fmt.Sprintf("batch of %d scenes, images/min, prepared ahead", n), perMin[2])
	fmt.Printf("%-52s %10.1f\n", fmt.Sprintf("batch of %d scenes, images/min, one after the other", n), perMin[0])
	fmt.Printf("%-52s %10.3f\n", "batch throughput, pipeline ÷ without", perMin[2]/perMin[0])

	// Memory over a long run: windows every memoryStride pixels keep it
	// short; the images, maps and files per image are those of any run.
	m := min(memoryImages, len(jobs))
	pm := saliency.DefaultParams()
	pm.Stride = memoryStride
	r := runner(filepath.Join(tmp, "mem"), 2, pm)
	resetPeakRSS()
	var at50 int64
	r.Progress = func(ev pipeline.Event) {
		if ev.WindowsTotal == 0 && ev.Done == 50 {
			at50 = peakRSS()
		}
	}
	if tot, err := r.Run(ctx, jobs[:m], nil); err != nil || tot.Failed > 0 {
		return fmt.Errorf("batch run: %v (%d failed)", err, tot.Failed)
	}
	atEnd := peakRSS()
	fmt.Printf("%-52s %10.1f\n", "batch peak RSS after 50 images (MB)", float64(at50)/1e6)
	fmt.Printf("%-52s %10.1f\n", fmt.Sprintf("batch peak RSS after %d images (MB)", m), float64(atEnd)/1e6)
	fmt.Printf("%-52s %10.3f  (target ≤ 1.1)\n", fmt.Sprintf("batch peak RSS, %d images ÷ 50", m), float64(atEnd)/float64(at50))
	return nil
}
