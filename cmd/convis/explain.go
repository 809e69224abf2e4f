package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/models"
)

type explainOptions struct {
	Inputs       []string
	Concepts     []string
	Method       string
	Sizes        []int
	Stride       int
	Canvas       int
	ImageSize    int
	Padding      int
	Fill         string
	Crop         string
	Seed         uint64
	Seeds        int
	Index        indexOptions
	Rounds       int
	Samples      int
	Epsilon      float64
	Gamma        float64
	N            int
	Threshold    float64
	BoxRule      string
	Boxes        string
	Preset       string
	box          saliency.BoxRule
	flags        *pflag.FlagSet // which flags were given (--threshold against --box-rule)
	Batch        int
	OutDir       string
	Formats      []string
	Colormap     string
	Alpha        float64
	Style        string
	Exponent     float64
	JSON         bool
	JSONL        bool
	Decode       decodeFlags
	FullPlan     bool
	Refine       bool
	RefineRegion string
	RefineSmooth int
	Recursive    bool
	FromFile     string
	Force        bool
	Shard        string
	FailFast     bool
	Prefetch     int
	AbsentBox    string
	Top          int
	Versus       []string
	Budget       string
	FineWindows  int // --fine-windows: coarse-to-fine grid windows
}

var allFormats = pipeline.AllFormats

func newExplainCmd(g *globalOptions) *cobra.Command {
	opts := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain IMAGE|DIR... --concept CONCEPT...",
		Short: "Show where CLIP sees concepts in images (ConVis saliency maps)",
		Long: `Explain images: for each image and concept, write a heatmap overlay with the
concept's box, the raw map (.npy float32 and 16-bit PNG) and a JSON sidecar
with every parameter, the seed, the box, the peak and timings.

The windows are the ConVis reference's: grid method (Algorithm 1), windows
of 128 and 64 pixels every 16 on a 480-pixel canvas of seeded random noise
with the image, resized to 224, at (128,128); WordNet definitions as
prompts. Unlike the reference, the whole image is explained (padded to a
square with the fill; --crop center is the reference's crop), and the map
is refined for boxes that fit (--refine, on by default): each pixel takes
the 75th percentile of the log ranks of the windows covering it instead of
their sum, sharpened by windows of 32 pixels every 16 over the image (196
more passes on a square, shared by every concept, so a second concept is a
cache hit). The box is the region around the map's peak above the median +
0.4 × (peak − median) (--box-rule auto). On the benchmark the box has IoU >
0.5 with the object for 54% of objects and 47% of parents (11% with the
reference's map and fixed 0.7; docs/localization.md). --refine=false gives
Algorithm 1's map (with --box-rule rel:0.8); --preset reference sets every
published setting at once.

Batches: folders give their images (-r: and their subfolders'; hidden files
and non-images are skipped), --from-file lists one path per line (- for
stdin). Outputs mirror the input tree under -o. Each (image, concept) is a
record: printed as it is written (--jsonl streams JSON lines) and appended
to the run log OUT/convis-run.jsonl. A rerun skips the pairs whose sidecar
shows the same model, settings, seed and input (--force redoes them);
--shard K/N or auto (Slurm arrays, Kubernetes Indexed Jobs) takes a stable
part of the images. A bad image is reported and the others go on; the exit
status is 1 if any failed (2 for usage errors, 130 when interrupted).`,
		Example: `  convis explain photo.jpg --concept dog
  convis explain scans/ -r --concept tumor.n.01 -o out --jsonl
  find data -name '*.png' | convis explain --from-file - -c dog -o out
  convis explain data/ -r -c dog -o /shared/out --shard auto   # in a Slurm array task
  convis explain img.png --concept dog --concept animal --method stochastic --seed 3`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if len(args) == 0 && opts.FromFile == "" {
				return usageErrorf("give images or folders, or --from-file")
			}
			if err := applyPreset(cmd.Flags(), opts); err != nil {
				return err
			}
			opts.flags = cmd.Flags()
			return runExplain(cmd.Context(), g, opts)
		},
	}
	def := saliency.DefaultParams()
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Concepts, "concept", "c", nil, "concept: word, synset name or ImageNet id (repeatable)")
	f.StringVar(&opts.Method, "method", "grid", "grid (Algorithm 1), stochastic or occlusion (baseline)")
	f.IntSliceVar(&opts.Sizes, "sizes", def.Sizes, "grid window sizes, in canvas pixels")
	boundedIntVar(f, &opts.Stride, "stride", def.Stride, 1, maxCanvas, "grid stride")
	boundedIntVar(f, &opts.Canvas, "canvas", def.Canvas.Size, 1, maxCanvas, fmt.Sprintf("canvas side (at most %d)", maxCanvas))
	boundedIntVar(f, &opts.ImageSize, "image-size", def.Canvas.ImageSize, 1, maxCanvas, "side of the image on the canvas")
	boundedIntVar(f, &opts.Padding, "padding", def.Canvas.Offset, 0, maxCanvas, "offset of the image on the canvas")
	f.StringVar(&opts.Fill, "fill", string(def.Canvas.Fill), "canvas fill: noise, gray or blur")
	f.StringVar(&opts.Crop, "crop", string(def.Canvas.Crop), "pad (whole image) or center (the reference's centre crop)")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the noise fill and the stochastic sampler")
	f.IntVar(&opts.Seeds, "seeds", saliency.DefaultSeeds, "the map is the mean of this many maps, on canvases drawn from seeds seed … seed+N−1 (each cached as a single-seed map; N× the passes of one); STEM.SYNSET.spread.npy (with --format npy) and the sidecar's spread hold the per-pixel standard deviation over them; 1 is the map of convis before it averaged canvases by default, 4 the default before 8 (docs/trust.md)")
	addIndexFlags(f, &opts.Index)
	boundedIntVar(f, &opts.Rounds, "iterations", def.Stochastic.Rounds, 1, maxRounds, "stochastic: rounds per window size")
	boundedIntVar(f, &opts.Samples, "samples", def.Stochastic.Samples, 1, maxSamples, "stochastic: windows per round")
	f.Float64Var(&opts.Epsilon, "epsilon", def.Stochastic.Epsilon, "stochastic: multiplicative step ε")
	f.Float64Var(&opts.Gamma, "gamma", def.Stochastic.Gamma, "stochastic: rank decay γ")
	boundedIntVar(f, &opts.N, "n", def.Stochastic.N, 1, maxPasses, "stochastic: ranks ≥ n score −1")
	f.Float64Var(&opts.Threshold, "threshold", 0, "a fixed box threshold T on the map, largest region: the same as --box-rule T; not given, --box-rule decides (default auto: rel:0.4 on the default refined maps; the reference's fixed threshold is 0.7)")
	f.StringVar(&opts.BoxRule, "box-rule", autoBoxRule, "how maps become boxes: auto (the rule measured for the map: rel:0.4 on the default --refine image maps, rel:0.8 on others), rel:A (the peak's region above median + A·(peak − median)), otsu (a threshold per map, the peak's region, no box without a clear region), otsu:T (Otsu, at least T), or a fixed threshold T (largest region; 0.7 is the reference)")
	f.StringVar(&opts.Boxes, "boxes", "best", "best (one box) or all (one per region that stands out: two dogs, two boxes)")
	f.StringVar(&opts.Preset, "preset", "", "reference: every published setting at once (grid, centre crop, noise canvas 480/224/128, windows 128 and 64 every 16, definitions over the paper's T, Algorithm 1's map (--refine=false), threshold 0.7, fade overlay); flags given as well win")
	boundedIntVar(f, &opts.Batch, "batch", def.Batch, 1, maxBatch, "crops per encoder pass")
	f.StringVarP(&opts.OutDir, "output", "o", "convis-out", "output directory")
	f.StringSliceVar(&opts.Formats, "format", allFormats, "outputs: overlay, npy, png16, json, canvas, input (STEM.input.png: the decoded image at its own size, after any DICOM window, before the canvas)")
	f.StringVar(&opts.Colormap, "colormap", "turbo", "heatmap colormap: turbo, viridis, inferno, jet")
	f.Float64Var(&opts.Alpha, "alpha", 0.5, "heatmap opacity")
	f.StringVar(&opts.Style, "style", string(render.StyleHeatmap), "overlay style: heatmap, or fade (the reference's fade to white)")
	f.Float64Var(&opts.Exponent, "exponent", 10, "fade style exponent k (s = map^k)")
	f.BoolVar(&opts.JSON, "json", false, "print one JSON array of the records on stdout at the end")
	f.BoolVar(&opts.JSONL, "jsonl", false, "stream one JSON line per (image, concept) on stdout as it is written")
	addDecodeFlags(f, &opts.Decode)
	f.BoolVarP(&opts.Recursive, "recursive", "r", false, "descend into subfolders")
	f.StringVar(&opts.FromFile, "from-file", "", "read image paths from a file, one per line (- for stdin)")
	f.BoolVar(&opts.Force, "force", false, "redo pairs whose outputs are up to date, and overwrite outputs made with other settings")
	f.StringVar(&opts.Shard, "shard", "", "take part K of N of the images (K/N), or auto from Slurm array or Kubernetes Indexed Job variables")
	f.BoolVar(&opts.FailFast, "fail-fast", false, "stop at the first image that fails")
	// 2 by default: on a quiet two-core machine it measured no gain (0.967,
	// 0.990) and no loss; on a loaded one 1.371 (docs/batch.md).
	boundedIntVar(f, &opts.Prefetch, "prefetch", pipeline.DefaultPrefetch, 0, maxPrefetch, "images decoded and prepared ahead while the encoder runs (0: none; docs/batch.md measures both)")
	addRefineFlags(f, &opts.Refine, &opts.RefineRegion)
	addBudgetFlag(f, &opts.Budget)
	addFineWindowsFlag(f, &opts.FineWindows)
	f.IntVar(&opts.Top, "top", 0, "also explain the K concepts of T the image ranks highest, as classify --top K lists them (the map's windows vote for their closest synset; then the whole image's cosine), each as if named with -c; from the window cache, so K maps cost about one")
	f.StringArrayVar(&opts.Versus, "versus", nil, "also a contrastive map of each concept against this one (repeatable): where the image looks like the concept rather than the other, from the two subtrees' window ranks, no more passes; values in [−1, 1] (STEM.SYNSET.vs.OTHER.map.npy and .overlay.png, a diverging colormap; the sidecar's versus)")
	f.StringVar(&opts.AbsentBox, "box-when-absent", string(render.AbsentBoxDashed), "how the overlay draws the box of a concept that looks absent (its picture says \"looks absent\"): dashed, none or solid")
	f.IntVar(&opts.RefineSmooth, "refine-smooth", 0, "radius, in pixels of the image square (224), of a box filter over the refined map: smoother pictures (8 fits more boxes on the square benchmark, not on the non-square one, and moves fewer peaks onto the object; docs/localization.md)")
	f.BoolVar(&opts.FullPlan, "full-plan", false, "also encode windows that miss the image (slower, same map; for checking)")
	f.MarkHidden("full-plan")
	return cmd
}

// autoBoxRule is explain's default --box-rule: the rule measured for the
// map being made (saliency.DefaultBoxRule; docs/localization.md measures
// it against the reference's fixed 0.7).
const autoBoxRule = "auto"

// addRefineFlags are --refine and --refine-region, as explain and eval
// localization take them.
func addRefineFlags(f *pflag.FlagSet, on *bool, region *string) {
	f.BoolVar(on, "refine", true, "refine grid maps for boxes that fit (docs/localization.md); --refine=false: Algorithm 1's sum of ranks, the reference")
	f.StringVar(region, "refine-region", saliency.RefineImage, "image: the 75th percentile of the grid windows' log ranks per pixel, sharpened by windows of 32 canvas pixels every 16 over the image (196 more passes on a square, shared by every concept); box: windows of 32 every 8 around each concept's box (up to 365 more passes per concept)")
}

// refineParams is the refinement stage of a map made by method; explicit
// says the user gave --refine or --refine-region (a stage that cannot
// apply to the method is then a usage error, not silently dropped).
func refineParams(on bool, region string, method saliency.Method, explicit bool) (*saliency.RefineParams, error) {
	var rp saliency.RefineParams
	switch region {
	case saliency.RefineImage:
		rp = saliency.DefaultRefine()
	case saliency.RefineBox:
		rp = saliency.BoxRefine()
	default:
		return nil, usageErrorf("--refine-region %q: want image or box", region)
	}
	switch {
	case !on:
		return nil, nil
	case method != saliency.MethodGrid && explicit:
		return nil, usageErrorf("--refine refines grid maps (measured in docs/localization.md), not --method %s", method)
	case method != saliency.MethodGrid:
		return nil, nil
	}
	return &rp, nil
}

// referencePreset is every published setting of ConVis, as flag values.
var referencePreset = [][2]string{
	{"method", "grid"}, {"sizes", "128,64"}, {"stride", "16"}, {"canvas", "480"}, {"image-size", "224"}, {"padding", "128"},
	{"fill", "noise"}, {"crop", "center"}, {"prompts", "definitions"}, {"vocab", "paper"}, {"box-rule", "0.7"}, {"boxes", "best"},
	{"style", "fade"}, {"exponent", "10"}, {"refine", "false"}, {"seeds", "1"},
}

// applyPreset sets the preset's values on the flags the user did not give.
func applyPreset(f *pflag.FlagSet, o *explainOptions) error {
	switch o.Preset {
	case "":
		return nil
	case "reference":
	default:
		return usageErrorf("--preset %q: want reference", o.Preset)
	}
	if f.Changed("threshold") {
		f.Set("box-rule", strconv.FormatFloat(o.Threshold, 'g', -1, 64))
	}
	for _, kv := range referencePreset {
		if !f.Changed(kv[0]) {
			if err := f.Set(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// boxRule is --box-rule (auto: the rule measured for p's map), or
// --threshold T as the fixed rule T.
func (o *explainOptions) boxRule(f *pflag.FlagSet, p saliency.Params) (saliency.BoxRule, error) {
	if f != nil && f.Changed("threshold") {
		if f.Changed("box-rule") && o.Preset == "" {
			return saliency.BoxRule{}, usageErrorf("--threshold and --box-rule: give one (--threshold T is --box-rule T)")
		}
		return saliency.BoxRule{Mode: "fixed", Threshold: o.Threshold}, nil
	}
	if o.BoxRule == autoBoxRule {
		return saliency.DefaultBoxRule(p), nil
	}
	r, err := saliency.ParseBoxRule(o.BoxRule)
	if err != nil {
		return r, usageErrorf("--box-rule: %v", err)
	}
	return r, nil
}

// params turns flags into saliency parameters, checking them.
func (o *explainOptions) params() (saliency.Params, error) {
	p := saliency.DefaultParams()
	p.Method = saliency.Method(o.Method)
	switch p.Method {
	case saliency.MethodGrid, saliency.MethodStochastic, saliency.MethodOcclusion:
	default:
		return p, usageErrorf("--method %q: want grid, stochastic or occlusion", o.Method)
	}
	p.Sizes, p.Stride, p.Batch, p.FullPlan = o.Sizes, o.Stride, o.Batch, o.FullPlan
	var err error
	if p.FineWindows, err = fineWindows(o.FineWindows, o.Stride); err != nil {
		return p, err
	}
	explicit := o.flags != nil && o.Refine && (o.flags.Changed("refine") || o.flags.Changed("refine-region"))
	if p.Refine, err = refineParams(o.Refine, o.RefineRegion, p.Method, explicit); err != nil {
		return p, err
	}
	if o.RefineSmooth < 0 || o.RefineSmooth > 224 {
		return p, usageErrorf("--refine-smooth must be in [0, 224], got %d", o.RefineSmooth)
	}
	if err := applyBudget(o.flags, o.Budget, p.Method, &p); err != nil {
		return p, err
	}
	if p.Refine != nil {
		p.Refine.Smooth = o.RefineSmooth
	}
	if o.Seeds < 1 || o.Seeds > 64 {
		return p, usageErrorf("--seeds must be in [1, 64], got %d", o.Seeds)
	}
	p.Seeds = o.Seeds // always recorded; a sidecar without seeds was made with one
	p.Canvas = saliency.CanvasOptions{Size: o.Canvas, ImageSize: o.ImageSize, Offset: o.Padding, Fill: saliency.Fill(o.Fill), Crop: saliency.CropMode(o.Crop), Seed: o.Seed}
	p.Stochastic = saliency.StochasticParams{Sizes: o.Sizes, Rounds: o.Rounds, Samples: o.Samples, Epsilon: o.Epsilon, Gamma: o.Gamma, N: o.N, Seed: o.Seed}
	if err := (mapSettings{Canvas: p.Canvas, Sizes: o.Sizes, Stride: o.Stride, Batch: o.Batch}).check(); err != nil {
		return p, err
	}
	switch {
	case o.Threshold < 0 || o.Threshold > 1:
		return p, usageErrorf("--threshold must be in [0, 1]")
	case o.Alpha < 0 || o.Alpha > 1:
		return p, usageErrorf("--alpha must be in [0, 1]")
	case o.N < 1 || o.Rounds < 1 || o.Samples < 1:
		return p, usageErrorf("--n, --iterations and --samples must be at least 1")
	case !finite(o.Epsilon) || o.Epsilon <= 0 || o.Epsilon >= 1:
		// A window multiplies its region by 1 + ε·s with s in [−1, 1]: ε ≥ 1
		// can zero or flip the sign of the map.
		return p, usageErrorf("--epsilon must be in (0, 1), got %v", o.Epsilon)
	case !finite(o.Gamma) || o.Gamma < 0 || o.Gamma > 100:
		return p, usageErrorf("--gamma must be in [0, 100], got %v (a negative γ makes scores grow with the rank)", o.Gamma)
	case !finite(o.Exponent) || o.Exponent <= 0 || o.Exponent > 1000:
		return p, usageErrorf("--exponent must be in (0, 1000], got %v", o.Exponent)
	case !finite(o.Threshold) || !finite(o.Alpha):
		return p, usageErrorf("--threshold and --alpha must be numbers")
	case o.Prefetch < 0 || o.Prefetch > maxPrefetch:
		return p, usageErrorf("--prefetch must be in [0, %d]", maxPrefetch)
	case o.Decode.MaxPixels < 1 || o.Decode.MaxPixels > maxPixelsCap:
		return p, usageErrorf("--max-pixels must be in [1, %d], got %d", maxPixelsCap, o.Decode.MaxPixels)
	}
	if _, _, err := o.Decode.options(); err != nil {
		return p, err
	}
	m := o.Index.Prompts
	if m != string(saliency.PromptDefinitions) && m != string(saliency.PromptLemmas) && !strings.Contains(m, "{}") {
		return p, usageErrorf("--prompts %q: want definitions, lemmas or a template containing {}", m)
	}
	if _, err := render.LookupColormap(o.Colormap); err != nil {
		return p, usageError{err}
	}
	if o.Style != string(render.StyleHeatmap) && o.Style != string(render.StyleFade) {
		return p, usageErrorf("--style %q: want heatmap or fade", o.Style)
	}
	if len(o.Formats) == 0 {
		return p, usageErrorf("--format: give at least one of overlay, npy, png16, json, canvas")
	}
	for _, f := range o.Formats {
		if f != "canvas" && f != "input" && !slices.Contains(allFormats, f) {
			return p, usageErrorf("--format %q: want some of overlay, npy, png16, json, canvas, input", f)
		}
	}
	switch render.AbsentBox(o.AbsentBox) {
	case render.AbsentBoxDashed, render.AbsentBoxNone, render.AbsentBoxSolid:
	default:
		return p, usageErrorf("--box-when-absent %q: want dashed, none or solid", o.AbsentBox)
	}
	if o.Boxes != "best" && o.Boxes != "all" {
		return p, usageErrorf("--boxes %q: want best or all", o.Boxes)
	}
	return p, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkWritable makes the output directory and proves a file can be
// created in it, before any work is done.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory %s: %w", dir, errtext.UnwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".convis-write-test-*")
	if err != nil {
		return fmt.Errorf("output directory %s is not writable: %w", dir, errtext.UnwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// settings turns flags into the pipeline's settings.
func (o *explainOptions) settings(p saliency.Params, box saliency.BoxRule) pipeline.Settings {
	do, all, _ := o.Decode.options() // checked by params
	return pipeline.Settings{
		Params: p, Threshold: box.Threshold, Box: box, AllBoxes: o.Boxes == "all", Preset: o.Preset, Budget: o.Budget,
		Formats: o.Formats, Style: o.Style, Colormap: o.Colormap, Alpha: o.Alpha, Exponent: o.Exponent,
		Decode: do, FrameAll: all,
		AbsentBox: render.AbsentBox(o.AbsentBox),
	}
}

// explainJobs lists the run's images: arguments and --from-file, then this
// shard's part.
func explainJobs(ctx context.Context, g *globalOptions, opts *explainOptions) ([]pipeline.Job, pipeline.Shard, error) {
	shard, err := pipeline.ParseShard(opts.Shard, os.Getenv)
	if err != nil {
		return nil, shard, usageError{err}
	}
	inputs := append([]string(nil), opts.Inputs...)
	if opts.FromFile != "" {
		listed, err := pipeline.ListFile(ctx, opts.FromFile, g.Stdin)
		if err != nil {
			return nil, shard, err
		}
		inputs = append(inputs, listed...)
	}
	jobs, stats, err := pipeline.Expand(inputs, pipeline.InputOptions{Recursive: opts.Recursive, Output: opts.OutDir})
	if err != nil {
		return nil, shard, err
	}
	if stats.NonImage > 0 || stats.Hidden > 0 {
		g.Log.Info("skipped files that are not images or are hidden", "not_images", stats.NonImage, "hidden", stats.Hidden)
	}
	for _, p := range stats.NotRegularPaths {
		g.Log.Info(fmt.Sprintf("skipped %s: %s", p, clip.NotRegular))
	}
	if n := stats.NotRegular - len(stats.NotRegularPaths); n > 0 {
		g.Log.Info(fmt.Sprintf("skipped %d more entries that are not regular files (FIFOs, sockets, devices)", n))
	}
	if stats.Output > 0 {
		g.Log.Info("skipped the output folder, which is inside the inputs", "output", escapeName(opts.OutDir))
	}
	if err := anyInputExists(jobs); err != nil {
		return nil, shard, err
	}
	if stats.Folders > 0 {
		g.Log.Info(fmt.Sprintf("skipped %d subfolders; pass --recursive to explain their images too", stats.Folders))
	}
	if len(jobs) == 0 {
		hint := ""
		if stats.Folders > 0 {
			hint = fmt.Sprintf(" (%d subfolders were not searched: pass --recursive)", stats.Folders)
		}
		return nil, shard, fmt.Errorf("no images found in %s%s", strings.Join(inputs, ", "), hint)
	}
	all := len(jobs)
	jobs = shard.Select(jobs)
	if shard.Sharded() {
		g.Log.Info("shard", "shard", shard.String(), "images", len(jobs), "of", all)
	}
	if _, frames, _ := opts.Decode.options(); frames {
		jobs = pipeline.ExpandFrames(jobs)
	}
	return jobs, shard, nil
}

// anyInputExists fails, before anything is created, a run none of whose
// named inputs exists (a typo): a batch with some missing inputs goes on
// and reports them.
func anyInputExists(jobs []pipeline.Job) error {
	var first error
	for _, j := range jobs {
		_, err := os.Lstat(j.Path)
		if err == nil {
			return nil
		}
		if first == nil {
			first = fmt.Errorf("%s: %w", j.Path, errtext.UnwrapPath(err))
		}
	}
	if first == nil {
		return nil
	}
	if len(jobs) > 1 {
		return fmt.Errorf("none of the %d inputs exists (%v); nothing was written", len(jobs), first)
	}
	return fmt.Errorf("%v; nothing was written", first)
}

func runExplain(ctx context.Context, g *globalOptions, opts *explainOptions) error {
	if len(opts.Concepts) == 0 && opts.Top <= 0 {
		return usageErrorf("give at least one --concept, or --top K")
	}
	if opts.Top < 0 || opts.Top > 100 {
		return usageErrorf("--top must be in [0, 100], got %d", opts.Top)
	}
	if opts.JSON && opts.JSONL {
		return usageErrorf("--json and --jsonl: choose one")
	}
	if strings.TrimSpace(opts.OutDir) == "" {
		return usageErrorf("--output (-o) is empty: give a folder")
	}
	p, err := opts.params()
	if err != nil {
		return err
	}
	if opts.box, err = opts.boxRule(opts.flags, p); err != nil {
		return err
	}
	db, h, err := loadHierarchy(g, opts.Index.Vocab)
	if err != nil {
		return err
	}
	resolved, err := resolveConcepts(g, db, h, opts.Concepts)
	if err != nil {
		return err
	}
	jobs, shard, err := explainJobs(ctx, g, opts)
	if err != nil {
		return err
	}
	if err := checkWritable(opts.OutDir); err != nil {
		return err
	}
	m, err := loadModelLazily(g)
	if err != nil {
		return err
	}
	defer m.Close()
	prog := newProgress(g.Stderr)
	ix, err := loadIndex(ctx, g, m, h, opts.Index, prog)
	if err != nil {
		return err
	}
	defer ix.Close() // the ranking session, freed now rather than by a finalizer
	explainer, err := newExplainer(g, m, ix, opts.Index)
	if err != nil {
		return err
	}
	var concepts []saliency.Concept
	var names []string
	for _, r := range resolved {
		c, err := ix.Concept(r.Query, r.Synset)
		if err != nil {
			return err
		}
		concepts = append(concepts, c)
		names = append(names, c.Synset.Name)
	}
	var versus []saliency.Concept
	if len(opts.Versus) > 0 {
		vr, err := resolveConcepts(g, db, h, opts.Versus)
		if err != nil {
			return err
		}
		for _, r := range vr {
			c, err := ix.Concept(r.Query, r.Synset)
			if err != nil {
				return err
			}
			versus = append(versus, c)
		}
	}
	hash, err := m.Hash()
	if err != nil {
		return err
	}
	settings := opts.settings(p, opts.box)
	settings.Params.Versus = versus
	runner := &pipeline.Runner{
		Explainer: explainer,
		Concepts:  concepts,
		Model:     record.ModelInfo{Name: modelName(g), Path: m.Dir.Path, SHA256: hash, Variant: m.Dir.Variant, Preprocess: preprocessSummary(m)},
		Vocab:     h.Vocab, VocabSize: h.Len(), Prompts: opts.Index.Prompts, Version: Version(),
		Settings: settings, OutDir: opts.OutDir, Prefetch: opts.Prefetch, Force: opts.Force, FailFast: opts.FailFast,
		Top: opts.Top,
	}
	runLog, err := pipeline.OpenRunLog(opts.OutDir, shard, record.Header{
		Version: Version(), Started: time.Now().UTC().Format(time.RFC3339), Host: hostname(), PID: os.Getpid(),
		Model: runner.Model, Vocab: h.Vocab, Prompts: opts.Index.Prompts, Method: opts.Method, Params: settings.HeaderParams(),
		Seed: opts.Seed, Concepts: names, Shard: shard.String(), Images: len(jobs), Force: opts.Force,
	})
	if err != nil {
		return err
	}
	defer runLog.Close()
	bp := newBatchProgress(g, len(jobs))
	runner.Progress = bp.Update
	var all []record.Record
	enc := json.NewEncoder(g.Stdout)
	enc.SetEscapeHTML(false)
	logFailed := false
	emit := func(rec record.Record) error {
		if err := runLog.Append(rec); err != nil && !logFailed {
			// A full disk fails the pairs too; the batch goes on and says
			// how many failed, as it does for any bad image.
			logFailed = true
			bp.Clear()
			fmt.Fprintln(g.Stderr, "convis: "+escapeName(errtext.OneLine(err.Error()))+"; the records from here on are not logged")
		}
		if rec.Status == record.StatusError {
			bp.Clear()
			fmt.Fprintln(g.Stderr, "convis: "+escapeName(rec.Error))
		}
		switch {
		case opts.JSONL:
			bp.Clear()
			if err := enc.Encode(rec); err != nil {
				return err
			}
		case opts.JSON:
			all = append(all, rec)
		case rec.Status != record.StatusError:
			bp.Clear()
			fmt.Fprintln(g.Stdout, recordLine(rec))
		}
		return nil
	}
	start := time.Now()
	tot, runErr := runner.Run(ctx, jobs, emit)
	bp.Done()
	footer := record.Footer{Type: "footer", Finished: time.Now().UTC().Format(time.RFC3339), Images: tot.Images, Failed: tot.Failed, Skipped: tot.Skipped, Records: tot.Records, Seconds: time.Since(start).Seconds()}
	switch {
	case ctx.Err() != nil:
		footer.Stopped = "interrupted"
	case errors.Is(runErr, pipeline.ErrFailFast):
		footer.Stopped = "fail-fast"
	}
	runLog.Append(footer)
	if ctx.Err() != nil {
		fmt.Fprintf(g.Stderr, "convis: interrupted after %d of %d images; run the same command again to finish (run log: %s)\n", tot.Images, len(jobs), escapeName(runLog.Path))
		return silentError{ctx.Err()}
	}
	if opts.JSON {
		if all == nil {
			all = []record.Record{}
		}
		if err := writeJSON(g.Stdout, all); err != nil && runErr == nil {
			runErr = err
		}
	}
	// The count is the last line whatever stopped the batch.
	var msg string
	switch {
	case errors.Is(runErr, pipeline.ErrFailFast):
		msg = fmt.Sprintf("stopped at the first failure (--fail-fast) after %d of %d images", tot.Images, len(jobs))
	case runErr != nil:
		msg = fmt.Sprintf("stopped after %d of %d images (%s); %d of %d images failed", tot.Images, len(jobs), errtext.OneLine(runErr.Error()), tot.Failed, len(jobs))
	case tot.Failed > 0:
		msg = fmt.Sprintf("%d of %d images failed", tot.Failed, len(jobs))
	default:
		return nil
	}
	bp.Clear()
	fmt.Fprintf(g.Stderr, "convis: %s; run log: %s\n", escapeName(msg), escapeName(runLog.Path))
	return silentError{errors.New(msg)}
}

// recordLine is a record for people: image, concept, box, first output.
func recordLine(r record.Record) string {
	box := "no box"
	if r.Box != nil {
		box = fmt.Sprintf("box %d,%d %dx%d", r.Box.X, r.Box.Y, r.Box.W, r.Box.H)
	}
	note := ""
	if r.Presence != nil && r.Presence.LooksAbsent {
		note += fmt.Sprintf("  (looks absent: whole-image rank %d, best window rank %d)", r.Presence.WholeImageRank, r.Presence.BestWindowRank)
	}
	if r.Status == record.StatusSkipped {
		note += "  (up to date)"
	}
	return escapeName(fmt.Sprintf("%s  %s  %s  → %s%s", r.Image, r.Concept, box, firstOutput(r.Outputs), note))
}

func firstOutput(o map[string]string) string {
	for _, k := range []string{"overlay", "json", "npy", "png16", "canvas", "input"} {
		if v, ok := o[k]; ok {
			return v
		}
	}
	return "(no output)"
}

// modelName is how the user named the model: --model, or the built-in's name.
func modelName(g *globalOptions) string {
	if g.Model == "" {
		return models.BuiltinName
	}
	return strings.TrimSuffix(g.Model, "/")
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// preprocessSummary is the sidecar's record of the model's preprocessing.
func preprocessSummary(m *clip.Model) *clip.PreprocessSummary {
	s := m.Pre.Config.Summary()
	return &s
}
