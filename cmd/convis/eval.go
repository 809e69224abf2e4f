package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

func newEvalCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "eval", Short: "Measure saliency maps against ground truth"}
	cmd.AddCommand(newEvalLocalizationCmd(g), newEvalOODCmd(g), newEvalFaithfulnessCmd(g), newEvalSanityCmd(g))
	return cmd
}

type evalOptions struct {
	Dataset  string
	Methods  []string
	Levels   []string
	Limit    int
	Seed     uint64
	Seeds    int
	Batch    int
	Fill     string
	Crop     string
	Index    indexOptions
	JSON     bool
	Decode   decodeFlags
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
	f.StringSliceVar(&opts.Methods, "method", []string{"grid"}, "methods: grid, stochastic, occlusion, center (comma-separated)")
	f.StringSliceVar(&opts.Levels, "concept-level", []string{"object"}, "concept levels: object, parent, ancestor:N (comma-separated)")
	f.IntVar(&opts.Limit, "limit", 0, "use only the first N images (0: all)")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of noise, sampler and bootstrap")
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
	addIndexFlags(f, &opts.Index)
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	addDecodeFlags(f, &opts.Decode)
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

// externalMaps indexes --maps folders by image file, concept and method.
type externalMaps struct {
	entries map[string]*compare.Entry // file \x00 synset \x00 method
	methods []string
	seconds map[string]float64 // method → seconds per map its sidecars report
}

func loadExternalMaps(dirs []string) (*externalMaps, error) {
	x := &externalMaps{entries: map[string]*compare.Entry{}, seconds: map[string]float64{}}
	seen := map[string]bool{}
	for _, d := range dirs {
		entries, err := compare.Collect(d)
		if err != nil {
			return nil, err
		}
		// In a fixed order: the first sidecar of a method to give its time
		// per map is the same one every run.
		keys := make([]string, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, ek := range keys {
			e := entries[ek]
			k := e.Rel + "\x00" + e.Concept + "\x00" + e.Method
			if prev, dup := x.entries[k]; dup {
				return nil, &compare.InputError{Path: entryFile(e), Msg: "--maps: the same image, concept and method as " + entryFile(prev)}
			}
			x.entries[k] = e
			if !seen[e.Method] {
				seen[e.Method] = true
				x.methods = append(x.methods, e.Method)
			}
			if e.Parsed != nil {
				if v, ok := e.Parsed.Params["seconds_per_map"].(float64); ok {
					if _, set := x.seconds[e.Method]; !set {
						x.seconds[e.Method] = v
					}
				}
			}
		}
	}
	sort.Strings(x.methods)
	return x, nil
}

// entryFile is an entry's file for messages.
func entryFile(e *compare.Entry) string {
	if e.Sidecar != "" {
		return e.Sidecar
	}
	return e.NPY
}

// load reads the map of a sample.
func (x *externalMaps) load(file, synset, method string, w, h int) (*saliency.Map, error) {
	e, ok := x.entries[file+"\x00"+synset+"\x00"+method]
	if !ok {
		return nil, fmt.Errorf("--maps: no %s map of %s for %s", method, synset, file)
	}
	v, mw, mh, err := render.ReadNPY(e.NPY)
	if err != nil {
		return nil, err
	}
	if mw != w || mh != h {
		return nil, fmt.Errorf("%s: the map is %dx%d, the image %dx%d", e.NPY, mw, mh, w, h)
	}
	return &saliency.Map{W: w, H: h, V: v}, nil
}

// Manifest is the dataset format of `convis eval` (and of testdata/scenes).
type Manifest struct {
	Name   string          `json:"name,omitempty"`
	Images []ManifestImage `json:"images"`
}

type ManifestImage struct {
	File    string           `json:"file"`
	Objects []ManifestObject `json:"objects"`
}

type ManifestObject struct {
	Concept string `json:"concept"`
	Box     [4]int `json:"box"`
}

func loadManifest(path string) (*Manifest, string, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "manifest.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("dataset %s: %w", path, errtext.UnwrapPath(err))
	}
	var m Manifest
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

// levelConcept climbs from an object's synset to the level's concept:
// the first hypernym inside T (by name) at each step.
func levelConcept(h *wordnet.Hierarchy, s *wordnet.Synset, level string) (*wordnet.Synset, error) {
	steps := 0
	switch {
	case level == "object":
	case level == "parent":
		steps = 1
	case strings.HasPrefix(level, "ancestor:"):
		n, err := strconv.Atoi(strings.TrimPrefix(level, "ancestor:"))
		if err != nil || n < 1 {
			return nil, usageErrorf("--concept-level %q: want ancestor:N with N ≥ 1", level)
		}
		steps = n
	default:
		return nil, usageErrorf("--concept-level %q: want object, parent or ancestor:N", level)
	}
	cur := s
	for i := 0; i < steps; i++ {
		var next *wordnet.Synset
		for _, p := range h.DB.Related(cur.Hypernyms) {
			if h.Contains(p.Index) {
				next = p
				break
			}
		}
		if next == nil {
			return cur, nil
		}
		cur = next
	}
	return cur, nil
}

type evalSample struct {
	image   int
	concept *wordnet.Synset
	box     saliency.Rect
}

type methodScores struct {
	pointing []float64
	energy   []float64
	iou      []float64
	boxAcc   [][]float64 // per --box-rule: 1 when the rule's first box has IoU > 0.5
	defBox   []float64   // the same for the method's default rule
	boxHits  [][]bool
	seconds  float64
	windows  int // windows a map needs encoded, summed over images
	images   int
	// --fidelity: per sample, against the default map of the same image.
	pearson, peakDist []float64
}

// EvalRow is one method × level line of the report.
type EvalRow struct {
	Method    string            `json:"method"`
	Level     string            `json:"concept_level"`
	Samples   int               `json:"samples"`
	Pointing  saliency.Interval `json:"pointing_game"`
	Energy    saliency.Interval `json:"energy_pointing_game"`
	IoU       saliency.Interval `json:"iou"`
	MaxBoxAcc saliency.Interval `json:"maxboxacc"`
	// BoxAcc is, per --box-rule, the share of samples whose box (the
	// rule's first) has IoU > 0.5 with the object's: what a user sees.
	BoxAcc map[string]saliency.Interval `json:"box_iou50"`
	// DefaultBox is the same for the box explain draws by default on
	// this method's map (--box-rule auto: DefaultRule).
	DefaultBox    saliency.Interval `json:"box_iou50_default"`
	DefaultRule   string            `json:"default_box_rule"`
	BestThreshold float64           `json:"maxboxacc_threshold"`
	ImagesPerSec  float64           `json:"images_per_second"`
	// PassesPerMap is the encoder passes a map needs (windows that touch
	// the image), averaged over the images; the window cache may have
	// saved them.
	PassesPerMap float64 `json:"passes_per_map,omitempty"`
	// --fidelity (grid): the map against the default map (--budget
	// default) of the same image and concept.
	FidelityPearson *saliency.Interval `json:"fidelity_pearson,omitempty"`
	FidelityPeak    *saliency.Interval `json:"fidelity_peak_distance,omitempty"`
	// Source is "maps" for maps read from --maps folders (never computed,
	// even when named like a method eval computes: grid, occlusion…).
	Source string `json:"source,omitempty"`
}

// evalMethod is a row's method: computed by eval, or read from --maps.
type evalMethod struct {
	name string
	maps bool
}

func (m evalMethod) key() string {
	if m.maps {
		return m.name + "\x00maps"
	}
	return m.name
}

// label is the method's name in the table: maps named like a computed
// method say where they come from.
func (m evalMethod) label() string {
	switch {
	case !m.maps:
		return m.name
	case m.name == "grid" || m.name == "stochastic" || m.name == "occlusion" || m.name == "center":
		return m.name + " (maps)"
	}
	return m.name
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
				b := smp.box
				list = append(list, evalSampleJSON{File: images[smp.image].File, Level: l, Concept: smp.concept.Name, Box: [4]int{b.X, b.Y, b.W, b.H}})
			}
		}
		return writeJSON(g.Stdout, list)
	}
	// The rows: the computed methods, then the methods of the --maps
	// folders, which are read whatever their names.
	var methods []evalMethod
	for _, m := range opts.Methods {
		methods = append(methods, evalMethod{name: m})
	}
	var ext *externalMaps
	if len(opts.Maps) > 0 {
		if ext, err = loadExternalMaps(opts.Maps); err != nil {
			return err
		}
		for _, m := range ext.methods {
			methods = append(methods, evalMethod{name: m, maps: true})
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
	sameAsReference := samePlan(params, reference)
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
	scores := map[string]*methodScores{}
	key := func(m evalMethod, l string) string { return m.key() + "\x00" + l }
	for _, m := range methods {
		for _, l := range opts.Levels {
			scores[key(m, l)] = &methodScores{}
		}
	}
	prog := newProgress(g.Stderr)
	for i, im := range images {
		if err := ctx.Err(); err != nil {
			return err
		}
		prog.Update(fmt.Sprintf("eval %s", filepath.Base(im.File)), i, len(images))
		var mine []evalSample
		levelOf := []string{}
		for _, l := range opts.Levels {
			for _, s := range samples[l] {
				if s.image == i {
					mine = append(mine, s)
					levelOf = append(levelOf, l)
				}
			}
		}
		if len(mine) == 0 {
			continue
		}
		path := filepath.Join(base, im.File)
		img, _, err := pipeline.LoadImage(path, do)
		if err != nil {
			return err
		}
		var concepts []saliency.Concept
		if ex != nil {
			for _, s := range mine {
				c, err := ex.Index.Concept(s.concept.Name, s.concept)
				if err != nil {
					return err
				}
				concepts = append(concepts, c)
			}
		}
		// defaultRuleOf is the box explain draws by default on a method's
		// map (made with these settings).
		defaultRuleOf := func(method string) saliency.BoxRule {
			p := params
			p.Method = saliency.Method(method)
			return saliency.DefaultBoxRule(p)
		}
		record := func(method evalMethod, k int, m *saliency.Map) {
			sc := scores[key(method, levelOf[k])]
			box := mine[k].box
			sc.pointing = append(sc.pointing, b2f(saliency.PointingHit(m, box)))
			sc.energy = append(sc.energy, saliency.EnergyPointing(m, box))
			iou := 0.0
			if b, ok := m.BoxAt(0.7); ok && !m.Flat {
				iou = saliency.IoU(b, box)
			}
			sc.iou = append(sc.iou, iou)
			if sc.boxAcc == nil {
				sc.boxAcc = make([][]float64, len(boxRules))
			}
			fits := func(rule saliency.BoxRule) float64 {
				res := m.BoxesBy(rule, false)
				return b2f(len(res.Boxes) > 0 && saliency.IoU(res.Boxes[0], box) > 0.5)
			}
			for r, rule := range boxRules {
				sc.boxAcc[r] = append(sc.boxAcc[r], fits(rule))
			}
			sc.defBox = append(sc.defBox, fits(defaultRuleOf(method.name)))
			sc.boxHits = append(sc.boxHits, saliency.BoxHits(m, box))
		}
		var gridRes *saliency.Explanation
		for _, method := range methods {
			t := time.Now()
			switch {
			case method.maps:
				for k, smp := range mine {
					m, err := ext.load(im.File, smp.concept.Name, method.name, img.W, img.H)
					if err != nil {
						return err
					}
					record(method, k, m)
				}
			case method.name == "center":
				for k := range mine {
					record(method, k, saliency.CenterPrior(img.W, img.H))
				}
			case method.name == "grid" || method.name == "occlusion":
				if gridRes == nil {
					p := params
					p.Method = saliency.MethodGrid
					if gridRes, err = ex.Explain(ctx, img, concepts, p, nil); err != nil {
						return fmt.Errorf("%s: %w", path, err)
					}
				}
				for _, l := range opts.Levels {
					scores[key(method, l)].windows += gridRes.Encoded
					if method.name == "grid" { // occlusion below is not refined
						rw := gridRes.RefineWindows // the image region's grid serves every concept
						if params.Refine != nil && params.Refine.Region == saliency.RefineBox {
							rw /= len(gridRes.Maps)
						}
						scores[key(method, l)].windows += rw
					}
					scores[key(method, l)].images++
				}
				for k, cm := range gridRes.Maps {
					sm := cm.Square
					if method.name == "occlusion" {
						sm = saliency.GridMap(gridRes.Canvas, gridRes.Windows, cm.Cosines, false)
					}
					// In image pixels, as the boxes (the centre crop too).
					record(method, k, gridRes.Canvas.ToSource(sm))
				}
			case method.name == "stochastic":
				p := params
				p.Method = saliency.MethodStochastic
				p.Refine = nil // --refine refines grid maps
				res, err := ex.Explain(ctx, img, concepts, p, nil)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				for _, l := range opts.Levels {
					scores[key(method, l)].windows += res.Encoded
					scores[key(method, l)].images++
				}
				for k, cm := range res.Maps {
					record(method, k, res.Canvas.ToSource(cm.Square))
				}
			}
			spent := time.Since(t).Seconds()
			if method.maps && ext.seconds[method.name] > 0 {
				spent = ext.seconds[method.name] * float64(len(mine)) // the maker's time, not the reading
			}
			for _, l := range opts.Levels {
				scores[key(method, l)].seconds += spent / float64(len(opts.Levels))
			}
		}
		if opts.Fidelity && gridRes != nil {
			// Made after the methods' timings: the reference's time is not theirs.
			ref := gridRes
			if !sameAsReference {
				p := reference
				p.Method = saliency.MethodGrid
				if ref, err = ex.Explain(ctx, img, concepts, p, nil); err != nil {
					return fmt.Errorf("%s: the default map: %w", path, err)
				}
			}
			for k, cm := range gridRes.Maps {
				r, d := mapFidelity(gridRes.Canvas, cm.Square, ref.Maps[k].Square)
				sc := scores[key(evalMethod{name: "grid"}, levelOf[k])]
				sc.pearson, sc.peakDist = append(sc.pearson, r), append(sc.peakDist, d)
			}
		}
	}
	prog.Done()
	var rows []EvalRow
	for _, l := range opts.Levels {
		for _, m := range methods {
			sc := scores[key(m, l)]
			n := len(sc.pointing)
			meanOf := saliency.MeanOf
			row := EvalRow{Method: m.name, Level: l, Samples: n,
				Pointing: saliency.Bootstrap(n, opts.Seed, meanOf(sc.pointing)),
				Energy:   saliency.Bootstrap(n, opts.Seed+1, meanOf(sc.energy)),
				IoU:      saliency.Bootstrap(n, opts.Seed+2, meanOf(sc.iou)),
				MaxBoxAcc: saliency.Bootstrap(n, opts.Seed+3, func(idx []int) float64 {
					hs := make([][]bool, len(idx))
					for k, i := range idx {
						hs[k] = sc.boxHits[i]
					}
					a, _ := saliency.MaxBoxAcc(hs)
					return a
				}),
			}
			_, row.BestThreshold = saliency.MaxBoxAcc(sc.boxHits)
			row.DefaultBox = saliency.Bootstrap(n, opts.Seed+4, meanOf(sc.defBox))
			pm := params
			pm.Method = saliency.Method(m.name)
			row.DefaultRule = saliency.DefaultBoxRule(pm).String()
			row.BoxAcc = map[string]saliency.Interval{}
			for r, rule := range boxRules {
				row.BoxAcc[rule.String()] = saliency.Bootstrap(n, opts.Seed+4, meanOf(sc.boxAcc[r]))
			}
			if sc.images > 0 {
				row.PassesPerMap = float64(sc.windows) / float64(sc.images)
			}
			if len(sc.pearson) == n && n > 0 {
				r := saliency.Bootstrap(n, opts.Seed+5, meanOf(sc.pearson))
				d := saliency.Bootstrap(n, opts.Seed+6, meanOf(sc.peakDist))
				row.FidelityPearson, row.FidelityPeak = &r, &d
			}
			if sc.seconds > 0 {
				row.ImagesPerSec = float64(len(images)) / sc.seconds
			}
			if m.maps {
				row.Source = "maps"
			}
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].Level < rows[b].Level })
	if opts.JSON {
		return writeJSON(g.Stdout, map[string]any{"dataset": opts.Dataset, "images": len(images), "seed": opts.Seed, "seeds": opts.Seeds,
			"budget": opts.Budget, "fidelity": opts.Fidelity, "sizes": params.Sizes, "stride": params.Stride, "fine_windows": params.FineWindows, "refine": params.Refine != nil, "refine_params": refineJSON(params.Refine), "fill": string(params.Canvas.Fill), "crop": string(params.Canvas.Crop),
			"canvas": params.Canvas.Size, "image_size": params.Canvas.ImageSize, "padding": params.Canvas.Offset, "results": rows})
	}
	w := g.Stdout
	fmt.Fprintf(w, "%d images from %s (seed %d); mean [95%% bootstrap interval]\n", len(images), opts.Dataset, opts.Seed)
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
		label := evalMethod{name: r.Method, maps: r.Source == "maps"}.label()
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
	return nil
}

// levelSamples are, per level, the (image, concept, box) samples of a
// dataset where the level's concept covers exactly one object of the image
// (eval localization and eval faithfulness measure the same samples).
func levelSamples(db *wordnet.DB, h *wordnet.Hierarchy, images []ManifestImage, levels []string) (map[string][]evalSample, error) {
	// Samples per level: (image, concept, box) where the concept covers
	// exactly one object of the image.
	samples := map[string][]evalSample{}
	for _, level := range levels {
		for i, im := range images {
			type cand struct {
				c   *wordnet.Synset
				box [4]int
			}
			var cands []cand
			count := map[int32]int{}
			for _, o := range im.Objects {
				s, ok := db.ByName(o.Concept)
				if !ok {
					return nil, fmt.Errorf("dataset: %s: unknown concept %q", im.File, o.Concept)
				}
				if err := h.Check(s); err != nil {
					return nil, fmt.Errorf("dataset: %s: %w", im.File, err)
				}
				c, err := levelConcept(h, s, level)
				if err != nil {
					return nil, err
				}
				cands = append(cands, cand{c, o.Box})
			}
			for _, cd := range cands {
				sub := map[int32]bool{}
				for _, p := range h.Subtree(cd.c.Index) {
					sub[h.Nodes[p]] = true
				}
				for _, o := range im.Objects {
					s, _ := db.ByName(o.Concept)
					if sub[s.Index] {
						count[cd.c.Index]++
					}
				}
			}
			for _, cd := range cands {
				if count[cd.c.Index] == 1 {
					samples[level] = append(samples[level], evalSample{i, cd.c, saliency.Rect{X: cd.box[0], Y: cd.box[1], W: cd.box[2], H: cd.box[3]}})
				}
			}
		}
	}
	return samples, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
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

// samePlan says whether a and b make the same grid map's windows and
// refinement (then a --fidelity reference is the map itself).
func samePlan(a, b saliency.Params) bool {
	if !slices.Equal(a.Sizes, b.Sizes) || a.Stride != b.Stride || a.FineWindows != b.FineWindows || (a.Refine == nil) != (b.Refine == nil) {
		return false
	}
	return a.Refine == nil || *a.Refine == *b.Refine
}

// mapFidelity is a map against a reference map of the same image (both over
// the image square): the Pearson correlation of their values over the
// image's content, and the distance between their peaks in image-square
// pixels.
func mapFidelity(c *saliency.Canvas, m, ref *saliency.Map) (pearson, peakDistance float64) {
	o := c.Opts.Offset
	x0, y0, x1, y1 := c.ContentRect()
	var a, b []float32
	for y := y0 - o; y < y1-o; y++ {
		a = append(a, m.V[y*m.W+x0-o:y*m.W+x1-o]...)
		b = append(b, ref.V[y*ref.W+x0-o:y*ref.W+x1-o]...)
	}
	ax, ay := m.Peak()
	bx, by := ref.Peak()
	return compare.Pearson(a, b), math.Hypot(float64(ax-bx), float64(ay-by))
}
