package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/ood"
	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/saliency"
)

type evalOODOptions struct {
	In, OOD string
	Concept string
	Index   indexOptions
	Seed    uint64
	JSON    bool
	Decode  decodeFlags
}

// OODRow is one method's separation of the two sets.
type OODRow struct {
	Method string       `json:"method"`
	AUROC  ood.Interval `json:"auroc"`
	AUPR   ood.Interval `json:"aupr"`
	FPR95  ood.Interval `json:"fpr95"`
	In     int          `json:"in_images"`
	OOD    int          `json:"ood_images"`
}

func newEvalOODCmd(g *globalOptions) *cobra.Command {
	opts := &evalOODOptions{}
	cmd := &cobra.Command{
		Use:   "ood --in DIR|MANIFEST --ood DIR|MANIFEST --concept CONCEPT",
		Short: "How well each score method separates images of a concept from others (the paper's OOD experiment)",
		Long: `Score every image of the in-distribution set (images of the concept's
subtree) and of the out-of-distribution set for the concept with each method
(naive, hierarchy, lemmas, rank; see convis score), and report per method
AUROC (the Mann–Whitney statistic, ties counting one half), AUPR (average
precision, the in-distribution images as positives) and the false-positive
rate at 95% true-positive rate, each with a 95% bootstrap interval (1,000
resamples of each set, seeded by --seed). Sets are folders (searched
recursively) or manifests of convis eval localization.`,
		Example: `  convis eval ood --in scenes/fruit --ood scenes/instruments --concept edible_fruit.n.01
  convis eval ood --in birds/ --ood mammals/ --concept bird --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvalOOD(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.In, "in", "", "in-distribution images: a folder or a manifest")
	f.StringVar(&opts.OOD, "ood", "", "out-of-distribution images: a folder or a manifest")
	f.StringVarP(&opts.Concept, "concept", "c", "", "the in-distribution concept")
	addIndexFlags(f, &opts.Index)
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the bootstrap")
	f.BoolVar(&opts.JSON, "json", false, "print JSON (an object per method)")
	addDecodeFlags(f, &opts.Decode)
	return cmd
}

// imageSet lists a folder's images (recursively) or a manifest's.
func imageSet(path string) ([]string, error) {
	if strings.HasSuffix(path, ".json") {
		m, base, err := loadManifest(path)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, im := range m.Images {
			out = append(out, filepath.Join(base, im.File))
		}
		return out, nil
	}
	jobs, _, err := pipeline.Expand([]string{path}, pipeline.InputOptions{Recursive: true})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, j := range jobs {
		out = append(out, j.Path)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no images", path)
	}
	return out, nil
}

func runEvalOOD(ctx context.Context, g *globalOptions, opts *evalOODOptions) error {
	if opts.In == "" || opts.OOD == "" || opts.Concept == "" {
		return usageErrorf("give --in, --ood and --concept")
	}
	do, err := opts.Decode.singleFrame("eval ood")
	if err != nil {
		return err
	}
	in, err := imageSet(opts.In)
	if err != nil {
		return err
	}
	out, err := imageSet(opts.OOD)
	if err != nil {
		return err
	}
	s, err := newScorer(ctx, g, opts.Index, []string{opts.Concept}, true)
	if err != nil {
		return err
	}
	defer s.Close()
	failed := 0
	scores := func(paths []string) ([]conceptScore, error) {
		var res []conceptScore
		jobs := make([]pipeline.Job, len(paths))
		for i, p := range paths {
			jobs[i] = pipeline.Job{Path: p}
		}
		prog := newBatchProgress(g, len(jobs))
		defer prog.Done()
		n, err := pipeline.Each(ctx, jobs, eachOptions(g, prog, do), func(ctx context.Context, _ int, j pipeline.Job, img *clip.RGB) error {
			sc, err := s.score(ctx, img)
			if err != nil {
				return fmt.Errorf("%s: %w", j.Path, err)
			}
			res = append(res, sc[0])
			return nil
		})
		failed += n
		return res, err
	}
	a, err := scores(in)
	if err != nil {
		return err
	}
	b, err := scores(out)
	if err != nil {
		return err
	}
	var rows []OODRow
	for k, m := range saliency.ScoreMethods {
		pos, neg := make([]float64, len(a)), make([]float64, len(b))
		for i, c := range a {
			pos[i] = c.by(m)
		}
		for i, c := range b {
			neg[i] = c.by(m)
		}
		seed := opts.Seed + uint64(10*k)
		rows = append(rows, OODRow{Method: string(m), In: len(pos), OOD: len(neg),
			AUROC: ood.Bootstrap(pos, neg, seed, ood.AUROC), AUPR: ood.Bootstrap(pos, neg, seed+1, ood.AUPR), FPR95: ood.Bootstrap(pos, neg, seed+2, ood.FPR95)})
	}
	if opts.JSON {
		if err := writeJSON(g.Stdout, map[string]any{"concept": s.resolved[0], "in": opts.In, "ood": opts.OOD, "seed": opts.Seed, "failed": failed, "results": rows}); err != nil {
			return err
		}
		return batchFailed(g, failed, len(in)+len(out))
	}
	ci := func(iv ood.Interval) string {
		if math.IsNaN(iv.Value) {
			return "n/a"
		}
		return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Value, iv.Lo, iv.Hi)
	}
	fmt.Fprintf(g.Stdout, "%s: %d in-distribution (%s), %d out-of-distribution (%s), seed %d%s; value [95%% bootstrap interval]\n", s.resolved[0], len(in), opts.In, len(out), opts.OOD, opts.Seed, failedNote(failed))
	fmt.Fprintf(g.Stdout, "%-10s %-22s %-22s %-22s\n", "method", "AUROC", "AUPR", "FPR@95%TPR")
	for _, r := range rows {
		fmt.Fprintf(g.Stdout, "%-10s %-22s %-22s %-22s\n", r.Method, ci(r.AUROC), ci(r.AUPR), ci(r.FPR95))
	}
	return batchFailed(g, failed, len(in)+len(out))
}
