package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/convis/convis/internal/atomicfile"
	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
)

// MinSide is the smallest image side explained: the smallest window (64 of
// a 224 image) would see fewer than 5 of its pixels below 16.
const MinSide = 16

// AllFormats are the per-concept outputs; "canvas" (one per image) is extra.
var AllFormats = []string{"overlay", "npy", "png16", "json"}

// Settings are everything that shapes a run's outputs.
type Settings struct {
	Params    saliency.Params
	Threshold float64 // the fixed box threshold, when Box is unset
	// Box is how maps become boxes; the zero value is a fixed Threshold
	// and the largest region (the reference).
	Box      saliency.BoxRule
	AllBoxes bool     // one box per region that stands out (--boxes all)
	Preset   string   // the --preset the settings came from ("" for none)
	Budget   string   // the --budget the plan came from ("" for none: not recorded)
	Formats  []string // some of overlay, npy, png16, json, canvas
	Style    string
	Colormap string
	Alpha    float64
	Exponent float64
	Decode   clip.DecodeOptions
	FrameAll bool // --frame all: a multi-frame DICOM file is one job per frame (ExpandFrames)
	// AbsentBox is how an absent-looking concept's box is drawn
	// (--box-when-absent; "" is dashed).
	AbsentBox render.AbsentBox
}

// BoxRule is the rule in force: Box, or a fixed Threshold.
func (s Settings) BoxRule() saliency.BoxRule {
	if s.Box.Mode == "" {
		return saliency.BoxRule{Mode: "fixed", Threshold: s.Threshold}
	}
	return s.Box
}

// ParamsJSON is every setting of a map, as its sidecar records it.
func (s Settings) ParamsJSON() map[string]any {
	p := s.Params
	c := p.Canvas
	gray16 := string(s.Decode.Gray16)
	if gray16 == "" {
		gray16 = string(clip.Gray16Range)
	}
	out := map[string]any{
		"canvas": c.Size, "image_size": c.ImageSize, "padding": c.Offset, "fill": string(c.Fill), "crop": string(c.Crop),
		"batch": p.Batch, "threshold": s.Threshold, "style": s.Style, "colormap": s.Colormap, "alpha": s.Alpha, "exponent": s.Exponent,
		"gray16": gray16, "box_rule": s.BoxRule().String(), "boxes": map[bool]string{false: "best", true: "all"}[s.AllBoxes],
		"preset": map[bool]string{true: "none", false: s.Preset}[s.Preset == ""],
	}
	out["threshold"] = s.BoxRule().Threshold
	if s.Budget != "" {
		// The name beside the plan it means (sizes, stride, refine_*).
		out["budget"] = s.Budget
	}
	out["refine"] = p.Refine != nil
	if s.AbsentBox != "" && s.AbsentBox != render.AbsentBoxDashed {
		out["box_when_absent"] = string(s.AbsentBox) // the default is not recorded: older sidecars match
	}
	if p.Seeds >= 1 {
		out["seeds"] = p.Seeds // absent: one canvas, as before --seeds
	}
	if len(p.Versus) > 0 {
		var vs []string
		for _, c := range p.Versus {
			vs = append(vs, c.Synset.Name)
		}
		out["versus"] = vs
	}
	if r := p.Refine; r != nil {
		out["refine_region"], out["refine_size"], out["refine_stride"], out["refine_weight"], out["refine_quantile"], out["refine_log_ranks"], out["refine_smooth"] = r.Region, r.Size, r.Stride, r.Weight, r.Quantile, r.LogRanks, r.Smooth
		if r.Region == saliency.RefineBox {
			out["refine_margin"], out["refine_max_passes"], out["refine_box_rule"] = r.Margin, r.MaxPasses, r.Rule.String()
		}
	}
	if p.Method == saliency.MethodStochastic {
		st := p.Stochastic
		out["sizes"], out["iterations"], out["samples"], out["epsilon"], out["gamma"], out["n"] = st.Sizes, st.Rounds, st.Samples, st.Epsilon, st.Gamma, st.N
	} else {
		out["sizes"], out["stride"] = p.Sizes, p.Stride
		if p.FineWindows > 0 {
			out["fine_windows"] = p.FineWindows // absent: the plain grid, as before --fine-windows
		}
	}
	return out
}

func (s Settings) wants(format string) bool { return slices.Contains(s.Formats, format) }

// Event is progress: images finished of the total, and the encoder's
// windows of the current image.
type Event struct {
	Image                     string
	Done, Total               int // images finished (any status)
	Failed, Skipped           int // images failed; images whose every concept was skipped
	WindowsDone, WindowsTotal int
}

// Totals sum up a run.
type Totals struct {
	Images, Failed, Skipped int
	Records                 map[string]int // by status
	Passes                  int
}

// Runner runs the per-image pipeline over jobs.
type Runner struct {
	Explainer *saliency.Explainer
	Concepts  []saliency.Concept
	Model     record.ModelInfo
	Vocab     string
	VocabSize int
	Prompts   string
	Version   string
	Settings  Settings
	OutDir    string
	// Prefetch is how many images are decoded and prepared ahead while the
	// encoder works (0: one after the other).
	Prefetch int
	Force    bool // redo pairs whose outputs are up to date, overwrite other settings' outputs
	// Top, when positive, explains each image's Top highest-ranked
	// concepts (saliency.TopConcepts) after Concepts; their pairs are
	// always made (the ranking needs the image's windows first).
	Top      int
	FailFast bool // stop at the first failed image
	Progress func(Event)
	// Stage writes one output under a temporary name (atomicfile.Stage,
	// when nil); tests inject a full disk here.
	Stage func(path string, write func(io.Writer) error) (*atomicfile.Pending, error)
}

// ErrFailFast is returned when FailFast stopped the run.
var ErrFailFast = errors.New("stopped at the first failure (--fail-fast)")

// pair is one concept's planned outputs for a job.
type pair struct {
	concept  int
	sidecar  string // path
	prefix   string
	template *record.Sidecar
}

// prepared is a job made ready for the encoder (or found to need nothing).
type prepared struct {
	job       Job
	records   []record.Record // skipped or conflicting pairs, decided without decoding
	todo      []pair
	img       *clip.RGB
	decode    clip.DecodeInfo
	input     record.InputInfo
	prep      *saliency.Prepared
	err       error  // the image failed before any concept
	inputFile string // STEM.input.png, when written
	elapsed   time.Duration
}

// MethodTag is the part of output names that says the method: empty for
// the default grid, ".stochastic" or ".occlusion" otherwise, so maps of two
// methods in one folder never overwrite each other.
func MethodTag(m saliency.Method) string {
	if m == saliency.MethodGrid || m == "" {
		return ""
	}
	return "." + string(m)
}

// SidecarPath is where the sidecar of a job's concept goes.
func SidecarPath(outDir string, job Job, synset string, m saliency.Method) string {
	return filepath.Join(outDir, filepath.FromSlash(job.Stem)+"."+SafeName(synset)+MethodTag(m)+".json")
}

// write writes one output (the canvas) atomically.
func (r *Runner) write(path string, fn func(io.Writer) error) error {
	g := r.group()
	if err := mkdirFor(path); err != nil {
		return err
	}
	if err := g.Add(path, fn); err != nil {
		g.Abort()
		return err
	}
	return g.Commit()
}

// group is a set of outputs put in place together (a pair's).
func (r *Runner) group() *atomicfile.Group { return &atomicfile.Group{Stage: r.Stage} }

func mkdirFor(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, errtext.UnwrapPath(err))
	}
	return nil
}

// template is the sidecar a pair would get, before the image is read.
func (r *Runner) template(job Job, c saliency.Concept) *record.Sidecar {
	s := &record.Sidecar{
		Schema: record.SidecarSchema, Version: r.Version, Image: job.Path, Rel: job.Rel, Model: r.Model,
		Concept: record.ConceptInfo{Query: c.Query, Synset: c.Synset.Name, WNID: c.Synset.WNID(), Definition: c.Synset.Definition, Synsets: c.Synsets, Prompts: len(c.Set)},
		Vocab:   r.Vocab, TSize: r.VocabSize, Prompts: r.Prompts, Method: string(r.Settings.Params.Method),
		Params: r.Settings.ParamsJSON(), Seed: r.Settings.Params.Canvas.Seed,
	}
	if isDICOMFile(job.Path) {
		// DICOM settings are a DICOM map's: they change no other image's.
		for k, v := range r.Settings.DICOMParams() {
			s.Params[k] = v
		}
	}
	return s
}

// plan decides, for each concept of a job, whether its outputs are up to
// date (skipped), made with other settings (an error unless Force), or to
// be made; then reads and prepares the image if anything is to be made.
func (r *Runner) plan(job Job) *prepared {
	t0 := time.Now()
	pr := &prepared{job: job}
	defer func() { pr.elapsed = time.Since(t0) }()
	st, err := os.Stat(job.Path)
	if err != nil {
		pr.err = &clip.ImageError{Path: job.Path, Msg: errtext.UnwrapPath(err).Error()}
		return pr
	}
	if st.IsDir() {
		pr.err = &clip.ImageError{Path: job.Path, Msg: "is a directory (pass --recursive to descend into folders)"}
		return pr
	}
	if !st.Mode().IsRegular() {
		pr.err = &clip.ImageError{Path: job.Path, Msg: clip.NotRegular}
		return pr
	}
	pr.input = record.InputInfo{Size: st.Size(), ModTime: st.ModTime().UTC().Format(time.RFC3339Nano)}
	var data []byte
	readInput := func() error {
		if data != nil {
			return nil
		}
		d, err := clip.ReadImageFile(job.Path) // never blocks: the file may have become a FIFO since the stat
		if err != nil {
			return err
		}
		data = d
		sum := sha256.Sum256(d)
		pr.input.SHA256 = hex.EncodeToString(sum[:])
		return nil
	}
	for i, c := range r.Concepts {
		p := pair{concept: i, sidecar: SidecarPath(r.OutDir, job, c.Synset.Name, r.Settings.Params.Method), template: r.template(job, c)}
		p.prefix = strings.TrimSuffix(p.sidecar, ".json")
		if r.Force || !r.Settings.wants("json") {
			pr.todo = append(pr.todo, p)
			continue
		}
		old, err := record.ReadSidecar(p.sidecar)
		if err != nil {
			pr.todo = append(pr.todo, p) // absent or unreadable: make it
			continue
		}
		if diff := record.SettingsDiff(old, p.template); len(diff) > 0 {
			pr.records = append(pr.records, record.Record{Type: "record", Status: record.StatusError, Image: job.Path, Rel: job.Rel, Concept: c.Synset.Name, Query: c.Query, Method: string(r.Settings.Params.Method),
				Error: fmt.Sprintf("%s exists with other settings (%s); pass --force to overwrite it, or write to another --output folder", p.sidecar, strings.Join(diff, ", "))})
			continue
		}
		same := old.Input.Size == pr.input.Size && old.Input.ModTime == pr.input.ModTime
		if !same {
			// Touched or copied: the content decides.
			if err := readInput(); err != nil {
				pr.err = err
				return pr
			}
			same = old.Input.SHA256 == pr.input.SHA256
		}
		if same && r.outputsPresent(old, p.sidecar) {
			rec := record.Record{Type: "record", Status: record.StatusSkipped, Image: job.Path, Rel: job.Rel, Concept: c.Synset.Name, Query: c.Query, Method: old.Method, Box: old.Box, Presence: old.Presence, Spread: old.Spread, Outputs: map[string]string{}}
			peak := old.Peak
			rec.Peak = &peak
			for k := range old.Outputs {
				rec.Outputs[k], _ = old.OutputPath(p.sidecar, k)
			}
			pr.records = append(pr.records, rec)
			continue
		}
		pr.todo = append(pr.todo, p)
	}
	if len(pr.todo) == 0 && r.Top == 0 {
		return pr
	}
	if err := readInput(); err != nil {
		pr.err = err
		return pr
	}
	img, info, err := Decode(job.Path, data, job.decodeOptions(r.Settings.Decode))
	if err != nil {
		pr.err = err
		return pr
	}
	pr.img, pr.decode = img, info
	pr.prep, err = saliency.Prepare(img, r.Settings.Params)
	if err != nil {
		pr.err = fmt.Errorf("%s: %w", job.Path, err)
	}
	return pr
}

// Decode decodes an image for explaining: clip's decoding and limits, and
// the smallest side a map can be made for.
func Decode(path string, data []byte, o clip.DecodeOptions) (*clip.RGB, clip.DecodeInfo, error) {
	img, info, err := clip.DecodeImageWith(path, data, o)
	if err != nil {
		return nil, info, err
	}
	if img.W < MinSide || img.H < MinSide {
		return nil, info, &clip.ImageError{Path: path, Msg: fmt.Sprintf("image is %dx%d, too small to explain (the smallest side must be at least %d pixels)", img.W, img.H, MinSide)}
	}
	return img, info, nil
}

// LoadImage reads and decodes an image for explaining.
func LoadImage(path string, o clip.DecodeOptions) (*clip.RGB, clip.DecodeInfo, error) {
	data, err := clip.ReadImageFile(path)
	if err != nil {
		return nil, clip.DecodeInfo{}, err
	}
	return Decode(path, data, o)
}

// outputsPresent reports whether every output a sidecar lists, and every
// format now asked for, exists.
func (r *Runner) outputsPresent(s *record.Sidecar, sidecarPath string) bool {
	for _, f := range r.Settings.Formats {
		if _, ok := s.Outputs[f]; !ok {
			return false
		}
	}
	for k := range s.Outputs {
		p, _ := s.OutputPath(sidecarPath, k)
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// Run processes the jobs in order, calling emit with each record as soon
// as its files are written. It goes on past failed images (unless
// FailFast) and returns ctx's error when cancelled: files already being
// written are finished, none is left half-written.
func (r *Runner) Run(ctx context.Context, jobs []Job, emit func(record.Record) error) (Totals, error) {
	tot := Totals{Records: map[string]int{}}
	pctx, stop := context.WithCancel(ctx)
	defer stop() // ends the prefetcher on an early return
	next := r.prefetch(pctx, jobs)
	for i := range jobs {
		if err := ctx.Err(); err != nil {
			return tot, err
		}
		pr := next(i)
		if pr == nil {
			return tot, ctx.Err()
		}
		recs, err := r.process(ctx, pr, i, len(jobs), tot)
		if pr.job.PerFrame {
			k := pr.job.Frame
			for i := range recs {
				recs[i].Frame = &k
			}
		}
		if err != nil && ctx.Err() != nil {
			return tot, ctx.Err()
		}
		failed := false
		for _, rec := range recs {
			tot.Records[rec.Status]++
			tot.Passes += rec.Passes
			if rec.Status == record.StatusError {
				failed = true
			}
			if emit != nil {
				if err := emit(rec); err != nil {
					return tot, err
				}
			}
		}
		tot.Images++
		allSkipped := len(recs) > 0
		for _, rec := range recs {
			allSkipped = allSkipped && rec.Status == record.StatusSkipped
		}
		if failed {
			tot.Failed++
		} else if allSkipped {
			tot.Skipped++
		}
		if r.Progress != nil {
			r.Progress(Event{Image: pr.job.Path, Done: tot.Images, Total: len(jobs), Failed: tot.Failed, Skipped: tot.Skipped})
		}
		if failed && r.FailFast {
			return tot, ErrFailFast
		}
		var oe *clip.OpenError
		if errors.As(err, &oe) {
			return tot, err // the model cannot be opened: no image can succeed
		}
	}
	return tot, nil
}

// prefetch plans and prepares jobs ahead of the encoder, at most Prefetch
// images ahead (bounded memory); with Prefetch 0, each only when asked.
func (r *Runner) prefetch(ctx context.Context, jobs []Job) func(i int) *prepared {
	return prefetchWith(ctx, r.Prefetch, jobs, r.plan)
}

// process explains, renders and writes one prepared job.
func (r *Runner) process(ctx context.Context, pr *prepared, idx, total int, tot Totals) ([]record.Record, error) {
	job := pr.job
	base := record.Record{Type: "record", Image: job.Path, Rel: job.Rel, Method: string(r.Settings.Params.Method)}
	if pr.err != nil {
		rec := base
		rec.Status, rec.Error = record.StatusError, errtext.OneLine(pr.err.Error())
		return []record.Record{rec}, pr.err
	}
	out := append([]record.Record(nil), pr.records...)
	all := r.Concepts
	var topRank map[int]int
	if r.Top > 0 {
		var err error
		if all, topRank, err = r.topPairs(ctx, pr); err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			rec := base
			rec.Status, rec.Error = record.StatusError, errtext.OneLine(fmt.Sprintf("%s: ranking its concepts: %v", job.Path, err))
			return append(out, rec), err
		}
	}
	if len(pr.todo) == 0 {
		return out, nil
	}
	concepts := make([]saliency.Concept, len(pr.todo))
	for i, p := range pr.todo {
		concepts[i] = all[p.concept]
	}
	t0 := time.Now()
	progress := func(done, n int) {
		if r.Progress != nil {
			r.Progress(Event{Image: job.Path, Done: tot.Images, Total: total, Failed: tot.Failed, Skipped: tot.Skipped, WindowsDone: done, WindowsTotal: n})
		}
	}
	failAll := func(err error) ([]record.Record, error) {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		for _, p := range pr.todo {
			rec := base
			rec.Status, rec.Concept, rec.Query, rec.Error = record.StatusError, all[p.concept].Synset.Name, all[p.concept].Query, errtext.OneLine(fmt.Sprintf("%s: %v", job.Path, err))
			out = append(out, rec)
		}
		return out, err
	}
	res, err := r.Explainer.ExplainSeeds(ctx, pr.img, pr.prep, concepts, r.Settings.Params, progress)
	if err != nil {
		return failAll(err)
	}
	// One more pass, of the whole image: how present each concept looks.
	// Its failure fails every pair of the image (a record each), as a
	// failed window pass does.
	whole, err := r.Explainer.WholeImage(ctx, saliency.WholeView(res.Canvas))
	if err != nil {
		return failAll(fmt.Errorf("whole-image (presence) pass: %w", err))
	}
	explainTime := time.Since(t0)
	// The picture the overlay is drawn on: the input, or the reference's crop.
	img := pr.img
	if r.Settings.Params.Canvas.Crop == saliency.CropCenter {
		x0, y0, _, _ := res.Canvas.ImageRect()
		s := r.Settings.Params.Canvas.ImageSize
		img = res.Canvas.Crop(saliency.Box{X: x0, Y: y0, W: s, H: s})
	}
	if r.Settings.wants("input") {
		// What the model saw: the decoded image at its own size, after any
		// DICOM window, before the canvas.
		inputFile := filepath.Join(r.OutDir, filepath.FromSlash(job.Stem)+".input.png")
		if err := r.write(inputFile, func(w io.Writer) error { return png.Encode(w, RGBImage(pr.img)) }); err != nil {
			for _, p := range pr.todo {
				rec := base
				rec.Status, rec.Concept, rec.Error = record.StatusError, r.Concepts[p.concept].Synset.Name, errtext.OneLine(err.Error())
				out = append(out, rec)
			}
			return out, err
		}
		pr.inputFile = inputFile
	}
	canvasFile := ""
	if r.Settings.wants("canvas") {
		canvasFile = filepath.Join(r.OutDir, filepath.FromSlash(job.Stem)+".canvas.png")
		if err := r.write(canvasFile, func(w io.Writer) error { return png.Encode(w, RGBImage(res.Canvas.Img)) }); err != nil {
			for _, p := range pr.todo {
				rec := base
				rec.Status, rec.Concept, rec.Error = record.StatusError, all[p.concept].Synset.Name, errtext.OneLine(err.Error())
				out = append(out, rec)
			}
			return out, err
		}
	}
	share := len(pr.todo)
	var firstErr error
	for k, cm := range res.Maps {
		p := pr.todo[k]
		t := time.Now()
		rec, err := r.writePair(pr, p, cm, res, img, canvasFile, saliency.PresenceOf(whole, cm))
		rec.Timings = map[string]float64{
			"prepare": ms(pr.elapsed) / float64(share), "explain": ms(explainTime) / float64(share),
			"encode": ms(res.Stats.EncodeTime) / float64(share), "write": ms(time.Since(t)),
		}
		if k == 0 {
			rec.Passes = res.Stats.Passes // counted once per image
		}
		rec.WindowCache = res.WindowCache
		if n, ok := topRank[p.concept]; ok {
			rec.TopRank = n
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		out = append(out, rec)
	}
	return out, firstErr
}

// writePair renders and writes one concept's outputs, the sidecar last: a
// sidecar on disk means its outputs are complete.
func (r *Runner) writePair(pr *prepared, p pair, cm saliency.ConceptMap, res *saliency.Explanation, img *clip.RGB, canvasFile string, presence *saliency.Presence) (record.Record, error) {
	s := r.Settings
	c := cm.Concept
	rec := record.Record{Type: "record", Status: record.StatusOK, Image: pr.job.Path, Rel: pr.job.Rel, Concept: c.Synset.Name, Query: c.Query, Method: string(s.Params.Method), Outputs: map[string]string{}}
	mp := cm.Map
	var box *record.Box
	var rect *image.Rectangle
	var boxes []record.Box
	var extra []image.Rectangle
	br := mp.BoxesBy(s.BoxRule(), s.AllBoxes)
	for i, b := range br.Boxes {
		rr := image.Rect(b.X, b.Y, b.X+b.W, b.Y+b.H)
		if i == 0 {
			box, rect = &record.Box{X: b.X, Y: b.Y, W: b.W, H: b.H}, &rr
		} else {
			extra = append(extra, rr)
		}
		if s.AllBoxes {
			boxes = append(boxes, record.Box{X: b.X, Y: b.Y, W: b.W, H: b.H})
		}
	}
	px, py := mp.Peak()
	rec.Box, rec.Peak, rec.Presence = box, &[2]int{px, py}, presence
	// Every file of the pair is staged, then all are renamed into place,
	// the sidecar last: on a full disk the pair is absent, never half there.
	files := r.group()
	var spread *saliency.SpreadSummary
	if s.Params.Seeds >= 1 && cm.Spread != nil {
		sum := cm.Spread.Summarize(cm.Seeds)
		spread = &sum
		rec.Spread = spread
	}
	fail := func(err error) (record.Record, error) {
		files.Abort()
		rec.Status, rec.Error = record.StatusError, errtext.OneLine(err.Error())
		return rec, err
	}
	if err := mkdirFor(p.sidecar); err != nil {
		return fail(err)
	}
	names := map[string]string{}
	if s.wants("overlay") {
		cmap, err := render.LookupColormap(s.Colormap)
		if err != nil {
			return fail(err)
		}
		ov := render.Overlay(img, mp.V, render.OverlayOptions{Style: render.Style(s.Style), Colormap: cmap, Alpha: s.Alpha, Exponent: s.Exponent})
		ann := render.Annotation{Label: ConceptLabel(c), Box: rect, More: extra, NoBox: br.NoBox,
			Footer: fmt.Sprintf("ConVis %s · %s · %s", s.Params.Method, modelLabel(r.Model), seedsLabel(s.Params)),
			Style:  render.Style(s.Style), Colormap: cmap, Alpha: s.Alpha, Exponent: s.Exponent}
		markPresence(&ann, presence, s.AbsentBox)
		ov = render.Annotate(ov, ann)
		path := p.prefix + ".overlay.png"
		if err := files.Add(path, func(w io.Writer) error { return png.Encode(w, ov) }); err != nil {
			return fail(err)
		}
		names["overlay"] = path
	}
	if s.wants("npy") {
		path := p.prefix + ".map.npy"
		if err := files.Add(path, func(w io.Writer) error { return render.EncodeNPY(w, mp.V, mp.W, mp.H) }); err != nil {
			return fail(err)
		}
		names["npy"] = path
		if spread != nil {
			path := p.prefix + ".spread.npy"
			sp := cm.Spread
			if err := files.Add(path, func(w io.Writer) error { return render.EncodeNPY(w, sp.V, sp.W, sp.H) }); err != nil {
				return fail(err)
			}
			names["spread"] = path
		}
	}
	if s.wants("png16") {
		path := p.prefix + ".map.png"
		if err := files.Add(path, func(w io.Writer) error { return png.Encode(w, render.Gray16(mp.V, mp.W, mp.H)) }); err != nil {
			return fail(err)
		}
		names["png16"] = path
	}
	if canvasFile != "" {
		names["canvas"] = canvasFile
	}
	if pr.inputFile != "" {
		names["input"] = pr.inputFile
	}
	versus, err := r.writeVersus(files, p, cm, img)
	if err != nil {
		return fail(err)
	}
	rec.Versus = versus
	if s.wants("json") {
		sc := *p.template
		sc.Input, sc.Size, sc.Decode = pr.input, [2]int{pr.img.W, pr.img.H}, pr.decode
		sc.Box, sc.Peak, sc.Flat, sc.MapSize = box, [2]int{px, py}, mp.Flat, [2]int{mp.W, mp.H}
		sc.Windows, sc.Passes, sc.Batches, sc.Presence = len(res.Windows), res.Stats.Passes, len(res.Stats.Batches), presence
		sc.Spread = spread
		sc.Versus = relVersus(versus, filepath.Dir(p.sidecar))
		sc.WindowCache, sc.RefineWindows = res.WindowCache, res.RefineWindows
		sc.Boxes, sc.NoBox = boxes, br.NoBox
		sc.Outputs = map[string]string{}
		dir := filepath.Dir(p.sidecar)
		for k, v := range names {
			rel, err := filepath.Rel(dir, v)
			if err != nil {
				rel = v
			}
			sc.Outputs[k] = filepath.ToSlash(rel)
		}
		sc.Outputs["json"] = filepath.Base(p.sidecar)
		if err := files.Add(p.sidecar, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(sc)
		}); err != nil {
			return fail(err)
		}
		names["json"] = p.sidecar
	}
	if err := files.Commit(); err != nil {
		return fail(err)
	}
	rec.Outputs = names
	return rec, nil
}

// seedsLabel is the overlay footer's seed: "seed 3", or "seeds 0–3" for
// a mean over canvases.
func seedsLabel(p saliency.Params) string {
	if n := saliency.SeedsOf(p); n > 1 {
		return fmt.Sprintf("seeds %d–%d", p.Canvas.Seed, p.Canvas.Seed+uint64(n-1))
	}
	return fmt.Sprintf("seed %d", p.Canvas.Seed)
}

func modelLabel(m record.ModelInfo) string {
	if m.Name != "" {
		return m.Name
	}
	return filepath.Base(m.Path)
}

// ConceptLabel is the overlay's caption: the query, with the synset when
// they differ.
func ConceptLabel(c saliency.Concept) string {
	if c.Query == c.Synset.Name {
		return c.Query
	}
	return c.Query + " (" + c.Synset.Name + ")"
}

// RGBImage turns an RGB buffer into an image for encoding.
func RGBImage(im *clip.RGB) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, im.W, im.H))
	for i := 0; i < im.W*im.H; i++ {
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = im.Pix[3*i], im.Pix[3*i+1], im.Pix[3*i+2], 255
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
