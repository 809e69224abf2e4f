package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

type explainOptions struct {
	Inputs    []string
	Concepts  []string
	Method    string
	Sizes     []int
	Stride    int
	Canvas    int
	ImageSize int
	Padding   int
	Fill      string
	Crop      string
	Seed      uint64
	Index     indexOptions
	Rounds    int
	Samples   int
	Epsilon   float64
	Gamma     float64
	N         int
	Threshold float64
	Batch     int
	OutDir    string
	Formats   []string
	Colormap  string
	Alpha     float64
	Style     string
	Exponent  float64
	JSON      bool
	MaxPixels int
	FullPlan  bool
}

// minExplainSide is the smallest image side explained: the smallest window
// (64 of a 224 image) would see fewer than 5 of its pixels below 16.
const minExplainSide = 16

var allFormats = []string{"overlay", "npy", "png16", "json"}

func newExplainCmd(g *globalOptions) *cobra.Command {
	opts := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain IMAGE|DIR... --concept CONCEPT...",
		Short: "Show where CLIP sees concepts in images (ConVis saliency maps)",
		Long: `Explain images: for each image and concept, write a heatmap overlay with the
concept's box, the raw map (.npy float32 and 16-bit PNG) and a JSON sidecar
with every parameter, the seed, the box, the peak and timings.

The defaults are the ConVis reference's: grid method (Algorithm 1), windows of
128 and 64 pixels every 16 on a 480-pixel canvas of seeded random noise with
the image, resized to 224, at (128,128); WordNet definitions as prompts; box
at threshold 0.7. Unlike the reference, the whole image is explained (padded
to a square with the fill); --crop center reproduces the reference's crop.

Directories are searched for images (not recursively). A bad image is
reported and the others go on; the exit status is 1 if any failed.`,
		Example: `  convis explain photo.jpg --concept dog
  convis explain scans/ --concept tumor.n.01 -o out --json
  convis explain img.png --concept dog --concept animal --method stochastic --seed 3`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return runExplain(cmd.Context(), g, opts)
		},
	}
	def := saliency.DefaultParams()
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Concepts, "concept", "c", nil, "concept: word, synset name or ImageNet id (repeatable)")
	f.StringVar(&opts.Method, "method", "grid", "grid (Algorithm 1), stochastic or occlusion (baseline)")
	f.IntSliceVar(&opts.Sizes, "sizes", def.Sizes, "grid window sizes, in canvas pixels")
	f.IntVar(&opts.Stride, "stride", def.Stride, "grid stride")
	f.IntVar(&opts.Canvas, "canvas", def.Canvas.Size, "canvas side")
	f.IntVar(&opts.ImageSize, "image-size", def.Canvas.ImageSize, "side of the image on the canvas")
	f.IntVar(&opts.Padding, "padding", def.Canvas.Offset, "offset of the image on the canvas")
	f.StringVar(&opts.Fill, "fill", string(def.Canvas.Fill), "canvas fill: noise, gray or blur")
	f.StringVar(&opts.Crop, "crop", string(def.Canvas.Crop), "pad (whole image) or center (the reference's centre crop)")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the noise fill and the stochastic sampler")
	addIndexFlags(f, &opts.Index)
	f.IntVar(&opts.Rounds, "iterations", def.Stochastic.Rounds, "stochastic: rounds per window size")
	f.IntVar(&opts.Samples, "samples", def.Stochastic.Samples, "stochastic: windows per round")
	f.Float64Var(&opts.Epsilon, "epsilon", def.Stochastic.Epsilon, "stochastic: multiplicative step ε")
	f.Float64Var(&opts.Gamma, "gamma", def.Stochastic.Gamma, "stochastic: rank decay γ")
	f.IntVar(&opts.N, "n", def.Stochastic.N, "stochastic: ranks ≥ n score −1")
	f.Float64Var(&opts.Threshold, "threshold", 0.7, "box threshold on the map")
	f.IntVar(&opts.Batch, "batch", def.Batch, "crops per encoder pass")
	f.StringVarP(&opts.OutDir, "output", "o", "convis-out", "output directory")
	f.StringSliceVar(&opts.Formats, "format", allFormats, "outputs: overlay, npy, png16, json, canvas")
	f.StringVar(&opts.Colormap, "colormap", "turbo", "heatmap colormap: turbo, viridis, inferno, jet")
	f.Float64Var(&opts.Alpha, "alpha", 0.5, "heatmap opacity")
	f.StringVar(&opts.Style, "style", string(render.StyleHeatmap), "overlay style: heatmap, or fade (the reference's fade to white)")
	f.Float64Var(&opts.Exponent, "exponent", 10, "fade style exponent k (s = map^k)")
	f.BoolVar(&opts.JSON, "json", false, "print a JSON summary on stdout")
	f.IntVar(&opts.MaxPixels, "max-pixels", clip.DefaultMaxPixels, "refuse images with more pixels than this")
	f.BoolVar(&opts.FullPlan, "full-plan", false, "also encode windows that miss the image (slower, same map; for checking)")
	f.MarkHidden("full-plan")
	return cmd
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
	p.Canvas = saliency.CanvasOptions{Size: o.Canvas, ImageSize: o.ImageSize, Offset: o.Padding, Fill: saliency.Fill(o.Fill), Crop: saliency.CropMode(o.Crop), Seed: o.Seed}
	p.Stochastic = saliency.StochasticParams{Sizes: o.Sizes, Rounds: o.Rounds, Samples: o.Samples, Epsilon: o.Epsilon, Gamma: o.Gamma, N: o.N, Seed: o.Seed}
	switch {
	case o.Batch < 1:
		return p, usageErrorf("--batch must be at least 1")
	case o.Stride < 1:
		return p, usageErrorf("--stride must be at least 1")
	case len(o.Sizes) == 0:
		return p, usageErrorf("--sizes needs at least one window size")
	case o.Threshold < 0 || o.Threshold > 1:
		return p, usageErrorf("--threshold must be in [0, 1]")
	case o.Alpha < 0 || o.Alpha > 1:
		return p, usageErrorf("--alpha must be in [0, 1]")
	case o.N < 1 || o.Rounds < 1 || o.Samples < 1:
		return p, usageErrorf("--n, --iterations and --samples must be at least 1")
	}
	for _, s := range o.Sizes {
		if s < 1 || s > o.Canvas {
			return p, usageErrorf("--sizes: %d does not fit the canvas of %d", s, o.Canvas)
		}
	}
	if o.Padding < 0 || o.ImageSize < 1 || o.Padding+o.ImageSize > o.Canvas {
		return p, usageErrorf("the image (%d at offset %d) must fit the canvas (%d)", o.ImageSize, o.Padding, o.Canvas)
	}
	switch p.Canvas.Fill {
	case saliency.FillNoise, saliency.FillGray, saliency.FillBlur:
	default:
		return p, usageErrorf("--fill %q: want noise, gray or blur", o.Fill)
	}
	switch p.Canvas.Crop {
	case saliency.CropPad, saliency.CropCenter:
	default:
		return p, usageErrorf("--crop %q: want pad or center", o.Crop)
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
	for _, f := range o.Formats {
		if f != "canvas" && !contains(allFormats, f) {
			return p, usageErrorf("--format %q: want some of overlay, npy, png16, json, canvas", f)
		}
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true, ".tif": true, ".tiff": true, ".webp": true}

// expandInputs lists image files: files as given, directories' images sorted.
// A path that does not exist stays in the list, to be reported in turn.
func expandInputs(args []string) []string {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a)
			continue
		}
		entries, _ := os.ReadDir(a)
		var files []string
		for _, e := range entries {
			if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(e.Name()))] {
				files = append(files, filepath.Join(a, e.Name()))
			}
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out
}

// outputStems names each input's outputs by its file name without the
// extension; a name seen before in the run gets -2, -3… so outputs of a
// batch never overwrite each other.
func outputStems(inputs []string) []string {
	seen := map[string]int{}
	out := make([]string, len(inputs))
	for i, in := range inputs {
		stem := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		seen[stem]++
		if seen[stem] > 1 {
			stem = fmt.Sprintf("%s-%d", stem, seen[stem])
		}
		out[i] = stem
	}
	return out
}

// checkWritable makes the output directory and proves a file can be
// created in it, before any work is done.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory %s: %w", dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".convis-write-test-*")
	if err != nil {
		return fmt.Errorf("output directory %s is not writable: %w", dir, unwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// explainSummary is one image × concept in the --json summary.
type explainSummary struct {
	Image   string            `json:"image"`
	Concept string            `json:"concept"`
	Box     *boxJSON          `json:"box"`
	Peak    [2]int            `json:"peak"`
	Outputs map[string]string `json:"outputs"`
	Error   string            `json:"error,omitempty"`
}

type boxJSON struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

func runExplain(ctx context.Context, g *globalOptions, opts *explainOptions) error {
	if len(opts.Concepts) == 0 {
		return usageErrorf("give at least one --concept")
	}
	p, err := opts.params()
	if err != nil {
		return err
	}
	db, h, err := loadHierarchy(opts.Index.Vocab)
	if err != nil {
		return err
	}
	resolved, err := resolveConcepts(g, db, h, opts.Concepts)
	if err != nil {
		return err
	}
	inputs := expandInputs(opts.Inputs)
	if len(inputs) == 0 {
		return fmt.Errorf("no images found in %s", strings.Join(opts.Inputs, ", "))
	}
	if err := checkWritable(opts.OutDir); err != nil {
		return err
	}
	m, err := loadModel(g)
	if err != nil {
		return err
	}
	defer m.Close()
	prog := newProgress(g.Stderr)
	ix, err := loadIndex(ctx, g, m, h, opts.Index, prog)
	if err != nil {
		return err
	}
	var concepts []saliency.Concept
	for _, r := range resolved {
		c, err := ix.Concept(r.Query, r.Synset)
		if err != nil {
			return err
		}
		concepts = append(concepts, c)
	}
	hash, _ := m.Hash()
	ex := &saliency.Explainer{Encoder: m.Image, Pre: m.Pre, Index: ix}
	stems := outputStems(inputs)
	var summary []explainSummary
	failed := 0
	for i, in := range inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := explainOne(ctx, g, opts, p, ex, m, hash, h, concepts, in, stems[i], prog, i, len(inputs))
		prog.Done()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			fmt.Fprintln(g.Stderr, "convis: "+oneLine(err.Error()))
			summary = append(summary, explainSummary{Image: in, Error: err.Error()})
			continue
		}
		summary = append(summary, res...)
		if !opts.JSON {
			for _, s := range res {
				box := "no box"
				if s.Box != nil {
					box = fmt.Sprintf("box %d,%d %dx%d", s.Box.X, s.Box.Y, s.Box.W, s.Box.H)
				}
				fmt.Fprintf(g.Stdout, "%s  %s  %s  → %s\n", in, s.Concept, box, firstOutput(s.Outputs))
			}
		}
	}
	if opts.JSON {
		if err := writeJSON(g.Stdout, summary); err != nil {
			return err
		}
	}
	if failed > 0 {
		return silentError{fmt.Errorf("%d of %d images failed", failed, len(inputs))}
	}
	return nil
}

func firstOutput(o map[string]string) string {
	for _, k := range []string{"overlay", "json", "npy", "png16"} {
		if v, ok := o[k]; ok {
			return v
		}
	}
	return "(no output)"
}

// sidecar is the JSON written next to each map.
type sidecar struct {
	Version string             `json:"convis_version"`
	Image   string             `json:"image"`
	Size    [2]int             `json:"image_size"`
	Model   map[string]any     `json:"model"`
	Concept map[string]any     `json:"concept"`
	Vocab   string             `json:"vocab"`
	TSize   int                `json:"vocab_synsets"`
	Prompts string             `json:"prompts"`
	Method  string             `json:"method"`
	Params  map[string]any     `json:"params"`
	Seed    uint64             `json:"seed"`
	Box     *boxJSON           `json:"box"`
	Peak    [2]int             `json:"peak"`
	Flat    bool               `json:"flat"`
	MapSize [2]int             `json:"map_size"`
	Windows int                `json:"windows"`
	Passes  int                `json:"forward_passes"`
	Batches int                `json:"encoder_batches"`
	Outputs map[string]string  `json:"outputs"`
	Timings map[string]float64 `json:"timings_ms"`
}

func explainOne(ctx context.Context, g *globalOptions, opts *explainOptions, p saliency.Params, ex *saliency.Explainer, m *clip.Model, hash string, h *wordnet.Hierarchy, concepts []saliency.Concept, in, stem string, prog *progressLine, idx, total int) ([]explainSummary, error) {
	t0 := time.Now()
	img, err := clip.LoadImage(in, opts.MaxPixels)
	if err != nil {
		return nil, err
	}
	if img.W < minExplainSide || img.H < minExplainSide {
		return nil, &clip.ImageError{Path: in, Msg: fmt.Sprintf("image is %dx%d, too small to explain (the smallest side must be at least %d pixels)", img.W, img.H, minExplainSide)}
	}
	decode := time.Since(t0)
	label := fmt.Sprintf("[%d/%d] %s", idx+1, total, filepath.Base(in))
	res, err := ex.Explain(ctx, img, concepts, p, func(done, n int) { prog.Update(label, done, n) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	explainTime := time.Since(t0) - decode
	// The picture the overlay is drawn on: the input, or the reference's crop.
	base := img
	if p.Canvas.Crop == saliency.CropCenter {
		x0, y0, _, _ := res.Canvas.ImageRect()
		base = res.Canvas.Crop(saliency.Box{X: x0, Y: y0, W: p.Canvas.ImageSize, H: p.Canvas.ImageSize})
	}
	cmap, _ := render.LookupColormap(opts.Colormap)
	// The canvas is shared by every concept of the image: written once.
	canvasFile := ""
	if contains(opts.Formats, "canvas") {
		canvasFile = filepath.Join(opts.OutDir, stem+".canvas.png")
		if err := render.WritePNG(canvasFile, rgbToImage(res.Canvas.Img)); err != nil {
			return nil, err
		}
	}
	var out []explainSummary
	for _, cm := range res.Maps {
		name := cm.Concept.Synset.Name
		prefix := filepath.Join(opts.OutDir, stem+"."+name)
		mp := cm.Map
		var box *boxJSON
		var rect *image.Rectangle
		if r, ok := mp.BoxAt(float32(opts.Threshold)); ok && !mp.Flat {
			box = &boxJSON{r.X, r.Y, r.W, r.H}
			rr := image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H)
			rect = &rr
		}
		px, py := mp.Peak()
		files := map[string]string{}
		if contains(opts.Formats, "overlay") {
			ov := render.Overlay(base, mp.V, render.OverlayOptions{Style: render.Style(opts.Style), Colormap: cmap, Alpha: opts.Alpha, Exponent: opts.Exponent, Box: rect, Label: conceptLabel(cm.Concept)})
			files["overlay"] = prefix + ".overlay.png"
			if err := render.WritePNG(files["overlay"], ov); err != nil {
				return nil, err
			}
		}
		if contains(opts.Formats, "npy") {
			files["npy"] = prefix + ".map.npy"
			if err := render.WriteNPY(files["npy"], mp.V, mp.W, mp.H); err != nil {
				return nil, err
			}
		}
		if contains(opts.Formats, "png16") {
			files["png16"] = prefix + ".map.png"
			if err := render.WritePNG(files["png16"], render.Gray16(mp.V, mp.W, mp.H)); err != nil {
				return nil, err
			}
		}
		if canvasFile != "" {
			files["canvas"] = canvasFile
		}
		if contains(opts.Formats, "json") {
			files["json"] = prefix + ".json"
			sc := sidecar{
				Version: Version(), Image: in, Size: [2]int{img.W, img.H},
				Model:   map[string]any{"path": m.Dir.Path, "sha256": hash, "variant": m.Dir.Variant},
				Concept: map[string]any{"query": cm.Concept.Query, "synset": name, "wnid": cm.Concept.Synset.WNID(), "definition": cm.Concept.Synset.Definition, "synsets_in_subtree": cm.Concept.Synsets, "prompts_in_subtree": len(cm.Concept.Set)},
				Vocab:   h.Vocab, TSize: h.Len(), Prompts: opts.Index.Prompts, Method: opts.Method,
				Params: paramsJSON(opts, p), Seed: opts.Seed, Box: box, Peak: [2]int{px, py}, Flat: mp.Flat,
				MapSize: [2]int{mp.W, mp.H}, Windows: len(res.Windows), Passes: res.Stats.Passes, Batches: len(res.Stats.Batches), Outputs: files,
				Timings: map[string]float64{
					"decode": ms(decode), "total_explain": ms(explainTime), "encode": ms(res.Stats.EncodeTime),
					"preprocess": ms(res.Stats.PrepTime), "score": ms(res.ScoreTime), "canvas": ms(res.CanvasTime),
				},
			}
			if err := render.WriteJSON(files["json"], sc); err != nil {
				return nil, err
			}
		}
		out = append(out, explainSummary{Image: in, Concept: name, Box: box, Peak: [2]int{px, py}, Outputs: files})
	}
	return out, nil
}

func conceptLabel(c saliency.Concept) string {
	q := c.Query
	if q == c.Synset.Name {
		return q
	}
	return q + " (" + c.Synset.Name + ")"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func paramsJSON(o *explainOptions, p saliency.Params) map[string]any {
	out := map[string]any{
		"canvas": o.Canvas, "image_size": o.ImageSize, "padding": o.Padding, "fill": o.Fill, "crop": o.Crop,
		"batch": o.Batch, "threshold": o.Threshold, "style": o.Style, "colormap": o.Colormap, "alpha": o.Alpha, "exponent": o.Exponent,
	}
	if p.Method == saliency.MethodStochastic {
		out["sizes"], out["iterations"], out["samples"], out["epsilon"], out["gamma"], out["n"] = o.Sizes, o.Rounds, o.Samples, o.Epsilon, o.Gamma, o.N
	} else {
		out["sizes"], out["stride"] = o.Sizes, o.Stride
	}
	return out
}

func rgbToImage(im *clip.RGB) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, im.W, im.H))
	for i := 0; i < im.W*im.H; i++ {
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = im.Pix[3*i], im.Pix[3*i+1], im.Pix[3*i+2], 255
	}
	return out
}
