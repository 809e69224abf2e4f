package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/evaluate"
	"github.com/convis/convis/internal/faithfulness"
	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

type evalFaithOptions struct {
	evalSampleOptions
	Methods []string
	Maps    []string
	Steps   int
	Fill    string
	Score   string
}

func newEvalFaithfulnessCmd(g *globalOptions) *cobra.Command {
	opts := &evalFaithOptions{}
	cmd := &cobra.Command{
		Use:   "faithfulness DATASET",
		Short: "Deletion and insertion curves, ROAD and average drop: does the map show what the model uses?",
		Long: `For each image and concept and each method, remove the image's pixels in
the map's order (most salient first; ties in a seeded random order) and
score the image after each of --steps equal steps (deletion), and restore
them in the same order to the fully removed image (insertion). A faithful
map makes the deletion curve fall fast (low deletion_auc) and the insertion
curve rise fast (high insertion_auc). Removed pixels take --fill: noise (the
canvas's seeded noise), blur, gray, or road (ROAD's noisy linear imputation:
each removed pixel the weighted mean of its neighbours, plus noise, so the
image stays in distribution). Average drop and increase in confidence
(Grad-CAM++) score the image seen through the map (each pixel blended toward
the fill by one minus its saliency).

The score is the concept's presence score on the whole image (CLIP's own
preprocessing, one encoder pass per image): --score rank (default, ConVis's
score: 1 − ln(1+r)/ln(1+|T|) for the best rank r of the concept's
subtree among all |T| prompts), hierarchy (the best cosine over the subtree) or naive (the cosine
with the concept's own prompt).

Methods: grid (explain's default, refined map), grid-unrefined (Algorithm 1,
--refine=false), stochastic, occlusion, center (the centre prior), random (a
seeded uniform map), and every method of the --maps folders (as eval
localization reads them). Each method's mean with a 95% bootstrap interval
(1,000 resamples of the samples, seeded by --seed).

DATASET is a manifest of eval localization (samples per --concept-level as
there), or a folder of images with -c (every image for every concept).
Cost: each (image, concept, method) needs 2·(steps+1)+1 encoder passes
(those of the same image recurring once), besides the maps' own.`,
		Example: `  convis eval faithfulness testdata/scenes --limit 100 --concept-level object,parent --steps 16
  convis eval faithfulness photos/ -c dog --method grid,random,center --fill road --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dataset = args[0]
			return runEvalFaithfulness(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	opts.evalSampleOptions.addFlags(f, "seed of the canvases, the random map, tie-breaking, noise fills and bootstrap", "images per encoder pass")
	f.StringSliceVar(&opts.Methods, "method", faithfulness.BuiltinMethods, "methods: "+strings.Join(faithfulness.BuiltinMethods, ", ")+" (comma-separated)")
	f.StringArrayVar(&opts.Maps, "maps", nil, "also measure maps made elsewhere: a folder of sidecars and .npy maps as eval localization reads them (repeatable)")
	f.IntVar(&opts.Steps, "steps", 20, "steps of each curve (each step one encoder pass per curve)")
	f.StringVar(&opts.Fill, "fill", string(faithfulness.FillNoise), "what removed pixels become: noise, blur, gray or road")
	f.StringVar(&opts.Score, "score", string(faithfulness.ScoreRank), "the concept's score the curves follow: rank, hierarchy or naive")
	return cmd
}

// faithSample is an image with the concepts measured on it.
type faithSample struct {
	file     string // as the dataset names it (the --maps key)
	path     string
	concepts []*wordnet.Synset
	levels   []string
}

// faithSamples reads DATASET: a manifest's samples per level, or a folder's
// images for every -c concept (level "concept").
func faithSamples(g *globalOptions, db *wordnet.DB, h *wordnet.Hierarchy, dataset string, concepts, levels []string, limit int) ([]faithSample, error) {
	if st, err := os.Stat(dataset); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(dataset, "manifest.json")); err != nil {
			if len(concepts) == 0 {
				return nil, usageErrorf("%s: a folder of images needs -c CONCEPT (or a manifest.json)", dataset)
			}
			res, err := resolveConcepts(g, db, h, concepts)
			if err != nil {
				return nil, err
			}
			jobs, _, err := pipeline.Expand([]string{dataset}, pipeline.InputOptions{Recursive: true})
			if err != nil {
				return nil, err
			}
			if len(jobs) == 0 {
				return nil, fmt.Errorf("%s: no images", dataset)
			}
			if limit > 0 && limit < len(jobs) {
				jobs = jobs[:limit]
			}
			var out []faithSample
			for _, j := range jobs {
				s := faithSample{file: j.Rel, path: j.Path}
				for _, r := range res {
					s.concepts, s.levels = append(s.concepts, r.Synset), append(s.levels, "concept")
				}
				out = append(out, s)
			}
			return out, nil
		}
	}
	if len(concepts) > 0 {
		return nil, usageErrorf("-c: %s is a manifest, whose objects name the concepts (use --concept-level)", dataset)
	}
	man, base, err := loadManifest(dataset)
	if err != nil {
		return nil, err
	}
	images := man.Images
	if limit > 0 && limit < len(images) {
		images = images[:limit]
	}
	samples, err := levelSamples(db, h, images, levels)
	if err != nil {
		return nil, err
	}
	out := make([]faithSample, len(images))
	for i, im := range images {
		out[i] = faithSample{file: im.File, path: filepath.Join(base, im.File)}
	}
	for _, l := range levels {
		for _, s := range samples[l] {
			out[s.Image].concepts = append(out[s.Image].concepts, s.Concept)
			out[s.Image].levels = append(out[s.Image].levels, l)
		}
	}
	return out, nil
}

func runEvalFaithfulness(ctx context.Context, g *globalOptions, opts *evalFaithOptions) error {
	decode, err := opts.Decode.singleFrame("eval faithfulness")
	if err != nil {
		return err
	}
	fill, err := faithfulness.ParseFill(opts.Fill)
	if err != nil {
		return usageErrorf("--fill: %v", err)
	}
	kind, err := faithfulness.ParseScoreKind(opts.Score)
	if err != nil {
		return usageErrorf("--score: %v", err)
	}
	if opts.Steps < 1 || opts.Steps > 1000 {
		return usageErrorf("--steps %d: want 1 to 1000", opts.Steps)
	}
	var builtin []string // --method= measures only the --maps
	for _, m := range opts.Methods {
		if m == "" {
			continue
		}
		if !faithfulness.IsBuiltin(m) {
			return usageErrorf("--method %q: want %s (maps made elsewhere come with --maps)", m, strings.Join(faithfulness.BuiltinMethods, ", "))
		}
		builtin = append(builtin, m)
	}
	if len(builtin) == 0 && len(opts.Maps) == 0 {
		return usageErrorf("no method: give --method or --maps")
	}
	db, h, err := loadHierarchy(g, opts.Index.Vocab)
	if err != nil {
		return err
	}
	samples, err := opts.samples(g, db, h)
	if err != nil {
		return err
	}
	methods := append([]string(nil), builtin...)
	var ext *evaluate.ExternalMaps
	if len(opts.Maps) > 0 {
		if ext, err = evaluate.LoadExternalMaps(opts.Maps); err != nil {
			return err
		}
		methods = append(methods, ext.Methods...)
	}
	model, ix, ex, err := loadEvalExplainer(ctx, g, h, opts.Index)
	if err != nil {
		return err
	}
	defer model.Close()
	params, err := evalMapParams(opts.Batch, opts.Seed)
	if err != nil {
		return err
	}
	emb := &faithfulness.Embedder{Ex: ex, Batch: opts.Batch}
	results := map[string][]faithfulness.Result{} // method \x00 level
	key := func(m, l string) string { return m + "\x00" + l }
	var levels []string
	seenLevel := map[string]bool{}
	measured, mapPasses := 0, 0
	t0 := time.Now()
	failed, err := eachSample(ctx, g, decode, samples, func(ctx context.Context, i int, img *clip.RGB) error {
		s := samples[i]
		var concepts []saliency.Concept
		for _, c := range s.concepts {
			cc, err := ix.Concept(c.Name, c)
			if err != nil {
				return err
			}
			concepts = append(concepts, cc)
		}
		maps, err := faithfulness.MakeMaps(ctx, ex, img, concepts, builtin, params, opts.Seed+uint64(i)*1000)
		if err != nil {
			return err
		}
		for _, c := range s.concepts {
			if ext != nil {
				for _, m := range ext.Methods {
					em, err := ext.Load(s.file, c.Name, m, img.W, img.H)
					if err != nil {
						return err
					}
					maps.ByMethod[m] = append(maps.ByMethod[m], em) // concept k's
				}
			}
		}
		pert, err := faithfulness.NewPerturber(img, fill, opts.Seed+uint64(i))
		if err != nil {
			return err
		}
		emb.Reset()
		mine := map[string][]faithfulness.Result{} // kept only when the whole image was measured
		for k, c := range concepts {
			score := emb.Scorer(c, kind)
			for _, m := range methods {
				r, err := faithfulness.Measure(ctx, pert, maps.ByMethod[m][k].V, opts.Steps, score)
				if err != nil {
					return fmt.Errorf("%s: %w", m, err)
				}
				mine[key(m, s.levels[k])] = append(mine[key(m, s.levels[k])], r)
			}
		}
		for k := range concepts {
			for _, m := range methods {
				if r, ok := mine[key(m, s.levels[k])]; ok {
					results[key(m, s.levels[k])] = append(results[key(m, s.levels[k])], r...)
					delete(mine, key(m, s.levels[k]))
				}
			}
			if !seenLevel[s.levels[k]] {
				seenLevel[s.levels[k]] = true
				levels = append(levels, s.levels[k])
			}
		}
		mapPasses += maps.Encoded
		measured++
		return nil
	})
	if err != nil {
		return err
	}
	elapsed := time.Since(t0).Seconds()
	var rows []faithfulness.Summary
	for _, l := range levels {
		for _, m := range methods {
			rows = append(rows, faithfulness.Summarize(m, l, results[key(m, l)], opts.Steps, opts.Seed))
		}
	}
	cost := map[string]float64{}
	if measured > 0 {
		cost = map[string]float64{"seconds_per_image": elapsed / float64(measured),
			"map_passes_per_image": float64(mapPasses) / float64(measured), "curve_passes_per_image": float64(emb.Passes) / float64(measured)}
	}
	if opts.JSON {
		if err := writeJSON(g.Stdout, map[string]any{"dataset": opts.Dataset, "images": measured, "failed": failed, "seed": opts.Seed,
			"steps": opts.Steps, "fill": string(fill), "score": string(kind), "road_noise": faithfulness.RoadNoise, "cost": cost, "results": rows}); err != nil {
			return err
		}
	} else {
		w := g.Stdout
		fmt.Fprintf(w, "%d images from %s (seed %d, %d steps, fill %s, score %s); mean [95%% bootstrap interval]\n", measured, opts.Dataset, opts.Seed, opts.Steps, fill, kind)
		fmt.Fprintf(w, "%-8s %-24s %7s  %-21s %-21s %-21s %-21s\n", "level", "method", "samples", "deletion AUC (↓)", "insertion AUC (↑)", "average drop (↓)", "increase in conf. (↑)")
		for _, r := range rows {
			f := func(v, lo, hi float64) string { return fmt.Sprintf("%.3f [%.3f, %.3f]", v, lo, hi) }
			fmt.Fprintf(w, "%-8s %-24s %7d  %-21s %-21s %-21s %-21s\n", r.Level, r.Method, r.Samples,
				f(r.DeletionAUC.Value, r.DeletionAUC.Lo, r.DeletionAUC.Hi), f(r.InsertionAUC.Value, r.InsertionAUC.Lo, r.InsertionAUC.Hi),
				f(r.AverageDrop.Value, r.AverageDrop.Lo, r.AverageDrop.Hi), f(r.IncreaseInConfidence.Value, r.IncreaseInConfidence.Lo, r.IncreaseInConfidence.Hi))
		}
		if measured > 0 {
			fmt.Fprintf(w, "cost per image: %.2f s, %.0f encoder passes for the maps, %.0f for the curves\n", cost["seconds_per_image"], cost["map_passes_per_image"], cost["curve_passes_per_image"])
		}
	}
	return batchFailed(g, failed, len(samples))
}

// loadEvalExplainer loads the model, its prompt index and an explainer:
// what eval faithfulness and eval sanity measure maps with.
func loadEvalExplainer(ctx context.Context, g *globalOptions, h *wordnet.Hierarchy, index indexOptions) (*clip.Model, *saliency.ConceptIndex, *saliency.Explainer, error) {
	model, err := loadModelLazily(g)
	if err != nil {
		return nil, nil, nil, err
	}
	ix, err := loadIndex(ctx, g, model, h, index, newProgress(g.Stderr))
	if err == nil {
		var ex *saliency.Explainer
		if ex, err = newExplainer(g, model, ix, index); err == nil {
			return model, ix, ex, nil
		}
	}
	model.Close()
	return nil, nil, nil, err
}

// evalMapParams are explain's default map settings (the refined grid) with
// an evaluation's batch and seed.
func evalMapParams(batch int, seed uint64) (saliency.Params, error) {
	p := saliency.DefaultParams()
	p.Batch = batch
	p.Canvas.Seed, p.Stochastic.Seed = seed, seed
	var err error
	p.Refine, err = refineParams(true, saliency.RefineImage, saliency.MethodGrid, false)
	return p, err
}

// batchFailed is the error of a batch in which failed of total images
// failed (each already reported): exit status 1, after the results.
func batchFailed(g *globalOptions, failed, total int) error {
	if failed == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d images failed", failed, total)
	fmt.Fprintf(g.Stderr, "convis: %s\n", msg)
	return silentError{errors.New(msg)}
}
