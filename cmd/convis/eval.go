package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/evaluate"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

func newEvalCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "eval", Short: "Measure saliency maps against ground truth"}
	cmd.AddCommand(newEvalLocalizationCmd(g), newEvalOODCmd(g), newEvalFaithfulnessCmd(g), newEvalSanityCmd(g))
	return cmd
}

type evalOptions struct {
	evalDatasetOptions
	Methods  []string
	Seeds    int
	Batch    int
	Fill     string
	Crop     string
	Maps     []string
	List     bool
	BoxRules []string
	Sizes    []int
	Stride   int
	Refine   bool
	flags    *pflag.FlagSet
	Canvas   saliency.CanvasOptions // size, image size and padding (--canvas, --image-size, --padding)
	RefineP  saliency.RefineParams
	Budget   string
	// FineWindows is --fine-windows (coarse-to-fine grid windows).
	FineWindows int
	Fidelity    bool
}

func newEvalLocalizationCmd(g *globalOptions) *cobra.Command {
	opts := &evalOptions{}
	cmd := &cobra.Command{
		Use:   "localization DATASET",
		Short: "Pointing game, energy pointing, IoU and MaxBoxAcc of maps on a dataset with boxes",
		Long: `Run saliency methods on every image of a dataset for every object's concept
(or a hypernym of it) and report, per method, the pointing game (peak in the
box, 15 px tolerance at 224), energy-based pointing (share of the map in the
box), IoU of the box at threshold 0.7, MaxBoxAcc (best accuracy over
thresholds 0.00–0.99 of the largest-component box with IoU > 0.5), the
share of boxes with IoU > 0.5 at the default settings (box_iou50_default:
the box explain draws on the method's map, rule default_box_rule) and per
--box-rule (by default the reference's 0.7 and rel:0.8), each with a 95%
bootstrap interval, passes per map and images per second.

Grid maps are made as explain makes them: refined (--refine, on by
default; --refine=false for Algorithm 1's map, --refine-region box for the
per-concept stage, and the --refine-* numbers for measuring the stage).
--budget fast|default|full takes a window plan by cost (docs/budget.md);
--fidelity also makes every sample's default map and reports the grid
map's fidelity to it (fidelity_pearson: Pearson over the image;
fidelity_peak_distance: between the peaks, pixels of the 224 square).

DATASET is a JSON manifest or a directory holding manifest.json:
  {"images": [{"file": "a.png", "objects": [{"concept": "dog.n.01", "box": [x, y, w, h]}]}]}
File paths are relative to the manifest; boxes are in pixels of the image.

--concept-level object explains each object's own synset; parent its first
hypernym in T; ancestor:N the N-th. At every level, objects whose concept
covers more than one object of the scene are left out (two dogs, or a dog
and a cat for "animal"): one box cannot be the answer for them. Methods sharing windows
(grid, occlusion) share the encoder passes.`,
		Example: `  convis eval localization testdata/scenes --limit 50
  convis eval localization testdata/scenes --method grid,occlusion,stochastic,center --concept-level object,parent --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dataset, opts.flags = args[0], cmd.Flags()
			return runEvalLocalization(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	opts.evalDatasetOptions.addFlags(f, "concept levels: object, parent, ancestor:N (comma-separated)", "seed of noise, sampler and bootstrap")
	f.StringSliceVar(&opts.Methods, "method", []string{"grid"}, "methods: grid, stochastic, occlusion, center (comma-separated)")
	f.IntVar(&opts.Seeds, "seeds", 1, "maps are the mean over canvases of seeds seed … seed+N−1, as explain --seeds makes them")
	boundedIntVar(f, &opts.Batch, "batch", 32, 1, maxBatch, "crops per encoder pass")
	f.StringVar(&opts.Fill, "fill", "noise", "canvas fill: noise, gray or blur")
	f.StringVar(&opts.Crop, "crop", "pad", "pad or center")
	f.IntSliceVar(&opts.Sizes, "sizes", saliency.DefaultParams().Sizes, "window sizes of grid, occlusion and stochastic, in canvas pixels")
	boundedIntVar(f, &opts.Stride, "stride", saliency.DefaultParams().Stride, 1, maxCanvas, "grid stride")
	dc := saliency.DefaultCanvas()
	boundedIntVar(f, &opts.Canvas.Size, "canvas", dc.Size, 1, maxCanvas, fmt.Sprintf("canvas side (at most %d)", maxCanvas))
	boundedIntVar(f, &opts.Canvas.ImageSize, "image-size", dc.ImageSize, 1, maxCanvas, "side of the image's square on the canvas (the scale of the image)")
	boundedIntVar(f, &opts.Canvas.Offset, "padding", dc.Offset, 0, maxCanvas, "offset of the image's square on the canvas")
	addRefineFlags(f, &opts.Refine, &opts.RefineP.Region)
	// The stage's own numbers, for measuring it; not given, they are the
	// chosen region's (saliency.DefaultRefine, saliency.BoxRefine).
	dr, br := saliency.DefaultRefine(), saliency.BoxRefine()
	boundedIntVar(f, &opts.RefineP.Size, "refine-size", dr.Size, 1, maxCanvas, "refinement window side, canvas pixels")
	boundedIntVar(f, &opts.RefineP.Stride, "refine-stride", dr.Stride, 1, maxCanvas, fmt.Sprintf("refinement window step (box: %d)", br.Stride))
	boundedIntVar(f, &opts.RefineP.Margin, "refine-margin", br.Margin, 0, maxCanvas, "box: pixels around the coarse box that the refinement covers")
	f.Float64Var(&opts.RefineP.Weight, "refine-weight", dr.Weight, fmt.Sprintf("β: map = coarse × (1 − β + β·fine) (box: %g)", br.Weight))
	f.Float64Var(&opts.RefineP.Quantile, "refine-quantile", dr.Quantile, "re-aggregate the coarse grid map with this quantile of the covering windows' ranks before refining (0: their sum, Algorithm 1)")
	f.BoolVar(&opts.RefineP.LogRanks, "refine-log-ranks", dr.LogRanks, "maps take log(1 + rank) instead of the rank (box: false)")
	boundedIntVar(f, &opts.RefineP.MaxPasses, "refine-max-passes", br.MaxPasses, 0, maxPasses, "box: bound on refinement windows per concept")
	boundedIntVar(f, &opts.RefineP.Smooth, "refine-smooth", dr.Smooth, 0, 224, "radius, in pixels of the image square (224), of the box filter over the refined map (0: none; box: 0)")
	addFineWindowsFlag(f, &opts.FineWindows)
	addBudgetFlag(f, &opts.Budget)
	f.BoolVar(&opts.Fidelity, "fidelity", false, "also make each sample's default map (--budget default) and report the grid map's fidelity to it: Pearson over the image and the distance between the peaks, in pixels of the image square (224)")
	f.StringArrayVar(&opts.Maps, "maps", nil, "also score maps made elsewhere (other saliency methods): a folder of sidecars and .npy maps whose relative_path is the dataset's file and whose method names the row; always read, never computed, even when named grid, occlusion…: such rows say (maps) (repeatable)")
	f.StringSliceVar(&opts.BoxRules, "box-rule", []string{saliency.ReferenceBoxRule.String(), "rel:0.8"}, "box rules to score besides the default box (box IoU > 0.5 rate of each rule's box): a threshold (largest region, the reference's 0.7), rel:A, otsu or otsu:T")
	f.BoolVar(&opts.List, "list-samples", false, "print the samples (file, level, concept, box) as JSON and stop: what --maps folders must hold")
	return cmd
}

// evalSampleJSON is a sample of --list-samples.
type evalSampleJSON struct {
	File    string `json:"file"`
	Level   string `json:"level"`
	Concept string `json:"concept"`
	Box     [4]int `json:"box"`
}

func loadManifest(path string) (*evaluate.Manifest, string, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "manifest.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("dataset %s: %w", path, errtext.UnwrapPath(err))
	}
	var m evaluate.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, "", fmt.Errorf("dataset %s: not a manifest: %v", path, err)
	}
	if len(m.Images) == 0 {
		return nil, "", fmt.Errorf("dataset %s: no images", path)
	}
	for i, im := range m.Images {
		if im.File == "" {
			return nil, "", fmt.Errorf("dataset %s: image %d has no file", path, i)
		}
		for _, o := range im.Objects {
			if o.Box[2] <= 0 || o.Box[3] <= 0 {
				return nil, "", fmt.Errorf("dataset %s: %s: box %v has no area", path, im.File, o.Box)
			}
		}
	}
	return &m, filepath.Dir(path), nil
}

func runEvalLocalization(ctx context.Context, g *globalOptions, opts *evalOptions) error {
	for _, m := range opts.Methods {
		switch m {
		case "grid", "stochastic", "occlusion", "center":
		default:
			return usageErrorf("--method %q: want grid, stochastic, occlusion or center", m)
		}
	}
	var boxRules []saliency.BoxRule
	for _, b := range opts.BoxRules {
		rule, err := saliency.ParseBoxRule(b)
		if err != nil {
			return usageErrorf("--box-rule: %v", err)
		}
		boxRules = append(boxRules, rule)
	}
	// The map settings are checked as explain checks them, before the
	// dataset or the model is read.
	canvas := saliency.CanvasOptions{Size: opts.Canvas.Size, ImageSize: opts.Canvas.ImageSize, Offset: opts.Canvas.Offset, Fill: saliency.Fill(opts.Fill), Crop: saliency.CropMode(opts.Crop), Seed: opts.Seed}
	if err := (mapSettings{Canvas: canvas, Sizes: opts.Sizes, Stride: opts.Stride, Batch: opts.Batch}).check(); err != nil {
		return err
	}
	man, base, err := loadManifest(opts.Dataset)
	if err != nil {
		return err
	}
	db, h, err := loadHierarchy(g, opts.Index.Vocab)
	if err != nil {
		return err
	}
	images := man.Images
	if opts.Limit > 0 && opts.Limit < len(images) {
		images = images[:opts.Limit]
	}
	samples, err := levelSamples(db, h, images, opts.Levels)
	if err != nil {
		return err
	}
	if opts.List {
		var list []evalSampleJSON
		for _, l := range opts.Levels {
			for _, smp := range samples[l] {
				b := smp.Box
				list = append(list, evalSampleJSON{File: images[smp.Image].File, Level: l, Concept: smp.Concept.Name, Box: [4]int{b.X, b.Y, b.W, b.H}})
			}
		}
		return writeJSON(g.Stdout, list)
	}
	// The rows: the computed methods, then the methods of the --maps
	// folders, which are read whatever their names.
	var methods []evaluate.Method
	for _, m := range opts.Methods {
		methods = append(methods, evaluate.Method{Name: m})
	}
	var ext *evaluate.ExternalMaps
	if len(opts.Maps) > 0 {
		if ext, err = evaluate.LoadExternalMaps(opts.Maps); err != nil {
			return err
		}
		for _, m := range ext.Methods {
			methods = append(methods, evaluate.Method{Name: m, Maps: true})
		}
	}
	needModel := false
	for _, m := range opts.Methods {
		needModel = needModel || m == "grid" || m == "stochastic" || m == "occlusion"
	}
	var ex *saliency.Explainer
	if needModel {
		model, err := loadModelLazily(g)
		if err != nil {
			return err
		}
		defer model.Close()
		prog := newProgress(g.Stderr)
		ix, err := loadIndex(ctx, g, model, h, opts.Index, prog)
		if err != nil {
			return err
		}
		defer ix.Close()
		if ex, err = newExplainer(g, model, ix, opts.Index); err != nil {
			return err
		}
	}
	params := saliency.DefaultParams()
	params.Batch = opts.Batch
	params.Canvas.Size, params.Canvas.ImageSize, params.Canvas.Offset = opts.Canvas.Size, opts.Canvas.ImageSize, opts.Canvas.Offset
	params.Canvas.Fill, params.Canvas.Crop, params.Canvas.Seed = saliency.Fill(opts.Fill), saliency.CropMode(opts.Crop), opts.Seed
	if c := params.Canvas; c.ImageSize < 1 || c.Offset < 0 || c.Offset+c.ImageSize > c.Size {
		return usageErrorf("--canvas %d, --image-size %d, --padding %d: the image's square must fit the canvas", c.Size, c.ImageSize, c.Offset)
	}
	params.Stochastic.Seed = opts.Seed
	if opts.Seeds < 1 || opts.Seeds > 64 {
		return usageErrorf("--seeds must be in [1, 64], got %d", opts.Seeds)
	}
	if opts.Seeds > 1 {
		params.Seeds = opts.Seeds
	}
	params.Sizes, params.Stochastic.Sizes, params.Stride = opts.Sizes, opts.Sizes, opts.Stride
	if params.FineWindows, err = fineWindows(opts.FineWindows, params.Stride); err != nil {
		return err
	}
	if params.Refine, err = refineParams(opts.Refine, opts.RefineP.Region, saliency.MethodGrid, false); err != nil {
		return err
	}
	if rp := params.Refine; rp != nil {
		// The stage's flags that were given replace the region's numbers.
		given := opts.RefineP
		for name, set := range map[string]func(){
			"refine-size":   func() { rp.Size = given.Size },
			"refine-stride": func() { rp.Stride = given.Stride }, "refine-margin": func() { rp.Margin = given.Margin },
			"refine-weight": func() { rp.Weight = given.Weight }, "refine-quantile": func() { rp.Quantile = given.Quantile },
			"refine-log-ranks": func() { rp.LogRanks = given.LogRanks }, "refine-max-passes": func() { rp.MaxPasses = given.MaxPasses },
			"refine-smooth": func() { rp.Smooth = given.Smooth },
		} {
			if opts.flags != nil && opts.flags.Changed(name) {
				set()
			}
		}
		if rp.Size < 1 || rp.Size > params.Canvas.Size || rp.Stride < 1 || rp.Margin < 0 || rp.MaxPasses < 0 || rp.Smooth < 0 || !(rp.Weight >= 0 && rp.Weight <= 1) || !(rp.Quantile >= 0 && rp.Quantile < 1) {
			return usageErrorf("--refine-size, --refine-stride, --refine-margin, --refine-max-passes and --refine-weight: want a size that fits the canvas, stride ≥ 1, margin and bound ≥ 0, weight in [0, 1]")
		}
	}
	if err := applyBudget(opts.flags, opts.Budget, saliency.MethodGrid, &params); err != nil {
		return err
	}
	// --fidelity's reference: the default plan on the same canvas.
	reference := params
	if err := saliency.BudgetDefault.Apply(&reference); err != nil {
		return err
	}
	if opts.Fidelity && !slices.Contains(opts.Methods, "grid") {
		return usageErrorf("--fidelity measures the grid method's maps: add --method grid")
	}
	for _, sz := range params.Sizes {
		if sz < 1 || sz > params.Canvas.Size {
			return usageErrorf("--sizes: %d does not fit the canvas of %d", sz, params.Canvas.Size)
		}
	}
	do, err := opts.Decode.singleFrame("eval")
	if err != nil {
		return err
	}
	loc := &evaluate.Localization{Methods: methods, Levels: opts.Levels, BoxRules: boxRules, Params: params,
		Fidelity: opts.Fidelity, Reference: reference, Seed: opts.Seed, Explainer: ex, Maps: ext}
	prog := newBatchProgress(g, len(images))
	rows, failed, err := loc.Run(ctx, images, base, samples, eachOptions(g, prog, do))
	prog.Done()
	if err != nil {
		return err
	}
	if opts.JSON {
		if err := writeJSON(g.Stdout, map[string]any{"dataset": opts.Dataset, "images": len(images), "failed": failed, "seed": opts.Seed, "seeds": opts.Seeds,
			"budget": opts.Budget, "fidelity": opts.Fidelity, "sizes": params.Sizes, "stride": params.Stride, "fine_windows": params.FineWindows, "refine": params.Refine != nil, "refine_params": refineJSON(params.Refine), "fill": string(params.Canvas.Fill), "crop": string(params.Canvas.Crop),
			"canvas": params.Canvas.Size, "image_size": params.Canvas.ImageSize, "padding": params.Canvas.Offset, "results": rows}); err != nil {
			return err
		}
		return batchFailed(g, failed, len(images))
	}
	w := g.Stdout
	fmt.Fprintf(w, "%d images from %s (seed %d%s); mean [95%% bootstrap interval]\n", len(images), opts.Dataset, opts.Seed, failedNote(failed))
	head := fmt.Sprintf("%-8s %-22s %7s  %-21s %-21s %-21s %-21s %-21s", "level", "method", "samples", "pointing game", "energy pointing", "IoU@0.7", "MaxBoxAcc", "box IoU>0.5 (default)")
	for _, rule := range boxRules {
		head += fmt.Sprintf(" %-21s", "box IoU>0.5 ("+rule.String()+")")
	}
	head += fmt.Sprintf(" %11s %8s", "passes/map", "img/s")
	if opts.Fidelity {
		head += fmt.Sprintf(" %-21s %-21s", "Pearson (default map)", "peak distance (px)")
	}
	fmt.Fprintln(w, head)
	for _, r := range rows {
		ci := func(iv saliency.Interval) string { return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Mean, iv.Lo, iv.Hi) }
		label := evaluate.Method{Name: r.Method, Maps: r.Source == "maps"}.Label()
		line := fmt.Sprintf("%-8s %-22s %7d  %-21s %-21s %-21s %-21s %-21s", r.Level, label, r.Samples, ci(r.Pointing), ci(r.Energy), ci(r.IoU), ci(r.MaxBoxAcc), ci(r.DefaultBox))
		for _, rule := range boxRules {
			line += fmt.Sprintf(" %-21s", ci(r.BoxAcc[rule.String()]))
		}
		line += fmt.Sprintf(" %11.0f %8.2f", r.PassesPerMap, r.ImagesPerSec)
		if r.FidelityPearson != nil {
			line += fmt.Sprintf(" %-21s %-21s", ci(*r.FidelityPearson), ci(*r.FidelityPeak))
		}
		fmt.Fprintln(w, line)
	}
	return batchFailed(g, failed, len(images))
}

// levelSamples are evaluate.LevelSamples, the levels checked as flags
// (eval localization and eval faithfulness measure the same samples).
func levelSamples(db *wordnet.DB, h *wordnet.Hierarchy, images []evaluate.ManifestImage, levels []string) (map[string][]evaluate.Sample, error) {
	for _, l := range levels {
		if err := evaluate.CheckLevel(l); err != nil {
			return nil, usageError{err}
		}
	}
	return evaluate.LevelSamples(db, h, images, levels)
}

// refineJSON is the refinement stage's settings as an evaluation echoes
// them (nil without --refine).
func refineJSON(r *saliency.RefineParams) map[string]any {
	if r == nil {
		return nil
	}
	out := map[string]any{"region": r.Region, "size": r.Size, "stride": r.Stride, "weight": r.Weight, "quantile": r.Quantile, "log_ranks": r.LogRanks, "smooth": r.Smooth}
	if r.Region == saliency.RefineBox {
		out["margin"], out["max_passes"], out["box_rule"] = r.Margin, r.MaxPasses, r.Rule.String()
	}
	return out
}
