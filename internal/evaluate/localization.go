package evaluate

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/saliency"
)

// Method is a row's method: computed by eval, or read from --maps.
type Method struct {
	Name string
	Maps bool
}

func (m Method) key() string {
	if m.Maps {
		return m.Name + "\x00maps"
	}
	return m.Name
}

// Label is the method's name in the table: maps named like a computed
// method say where they come from.
func (m Method) Label() string {
	switch {
	case !m.Maps:
		return m.Name
	case m.Name == "grid" || m.Name == "stochastic" || m.Name == "occlusion" || m.Name == "center":
		return m.Name + " (maps)"
	}
	return m.Name
}

// Row is one method × level line of eval localization's report.
type Row struct {
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

// Localization is eval localization's measurement: every method's maps of
// every sample, scored against the sample's box.
type Localization struct {
	Methods  []Method
	Levels   []string
	BoxRules []saliency.BoxRule // scored besides each method's default box
	Params   saliency.Params    // the computed maps' settings
	// Fidelity also makes each sample's map with Reference (the default
	// plan) and scores the grid map's fidelity to it.
	Fidelity  bool
	Reference saliency.Params
	Seed      uint64 // of the bootstraps
	// Explainer makes the computed maps; nil when every method is center
	// or --maps.
	Explainer *saliency.Explainer
	Maps      *ExternalMaps
}

// scores are one method × level's measurements, per sample.
type scores struct {
	pointing []float64
	energy   []float64
	iou      []float64
	boxAcc   [][]float64 // per box rule: 1 when the rule's first box has IoU > 0.5
	defBox   []float64   // the same for the method's default rule
	boxHits  [][]bool
	seconds  float64
	windows  int // windows a map needs encoded, summed over images
	images   int
	// --fidelity: per sample, against the default map of the same image.
	pearson, peakDist []float64
}

// add appends o's measurements to s's.
func (s *scores) add(o *scores) {
	s.pointing = append(s.pointing, o.pointing...)
	s.energy = append(s.energy, o.energy...)
	s.iou = append(s.iou, o.iou...)
	if s.boxAcc == nil {
		s.boxAcc = make([][]float64, len(o.boxAcc))
	}
	for r := range o.boxAcc {
		s.boxAcc[r] = append(s.boxAcc[r], o.boxAcc[r]...)
	}
	s.defBox = append(s.defBox, o.defBox...)
	s.boxHits = append(s.boxHits, o.boxHits...)
	s.seconds += o.seconds
	s.windows += o.windows
	s.images += o.images
	s.pearson = append(s.pearson, o.pearson...)
	s.peakDist = append(s.peakDist, o.peakDist...)
}

func (l *Localization) newScores() map[string]*scores {
	out := map[string]*scores{}
	for _, m := range l.Methods {
		for _, lv := range l.Levels {
			out[scoreKey(m, lv)] = &scores{boxAcc: make([][]float64, len(l.BoxRules))}
		}
	}
	return out
}

func scoreKey(m Method, level string) string { return m.key() + "\x00" + level }

// Run measures the samples of images (paths relative to base) on the one
// per-image loop: an image that cannot be read or measured is reported
// through each.Failed and counted, and adds nothing to any row (its
// measurements are kept only when all of them were made); the rows are
// those of the images that were. Images without samples are not read.
func (l *Localization) Run(ctx context.Context, images []ManifestImage, base string, samples map[string][]Sample, each pipeline.EachOptions) (rows []Row, failed int, err error) {
	// Each image's samples, in level order, and the jobs of the images that have any.
	type imageSamples struct {
		image   int
		samples []Sample
		levels  []string
	}
	var work []imageSamples
	var jobs []pipeline.Job
	for i, im := range images {
		w := imageSamples{image: i}
		for _, lv := range l.Levels {
			for _, s := range samples[lv] {
				if s.Image == i {
					w.samples, w.levels = append(w.samples, s), append(w.levels, lv)
				}
			}
		}
		if len(w.samples) == 0 {
			continue
		}
		work = append(work, w)
		jobs = append(jobs, pipeline.Job{Path: filepath.Join(base, im.File), Rel: im.File})
	}
	total := l.newScores()
	failed, err = pipeline.Each(ctx, jobs, each, func(ctx context.Context, k int, job pipeline.Job, img *clip.RGB) error {
		w := work[k]
		mine, err := l.image(ctx, images[w.image].File, img, w.samples, w.levels)
		if err != nil {
			return fmt.Errorf("%s: %w", job.Path, err) // a decode error names it already
		}
		for key, s := range mine {
			total[key].add(s)
		}
		return nil
	})
	if err != nil {
		return nil, failed, err
	}
	return l.rows(total, len(images)-failed), failed, nil
}

// image measures one image's samples (levelOf[k] is sample k's level):
// its own scores, which Run adds to the totals only when all were made.
func (l *Localization) image(ctx context.Context, file string, img *clip.RGB, mine []Sample, levelOf []string) (map[string]*scores, error) {
	sc := l.newScores()
	var concepts []saliency.Concept
	if ex := l.Explainer; ex != nil {
		for _, s := range mine {
			c, err := ex.Index.Concept(s.Concept.Name, s.Concept)
			if err != nil {
				return nil, err
			}
			concepts = append(concepts, c)
		}
	}
	params := l.Params
	// defaultRuleOf is the box explain draws by default on a method's
	// map (made with these settings).
	defaultRuleOf := func(method string) saliency.BoxRule {
		p := params
		p.Method = saliency.Method(method)
		return saliency.DefaultBoxRule(p)
	}
	record := func(method Method, k int, m *saliency.Map) {
		s := sc[scoreKey(method, levelOf[k])]
		box := mine[k].Box
		s.pointing = append(s.pointing, b2f(saliency.PointingHit(m, box)))
		s.energy = append(s.energy, saliency.EnergyPointing(m, box))
		iou := 0.0
		if b, ok := m.BoxAt(0.7); ok && !m.Flat {
			iou = saliency.IoU(b, box)
		}
		s.iou = append(s.iou, iou)
		fits := func(rule saliency.BoxRule) float64 {
			res := m.BoxesBy(rule, false)
			return b2f(len(res.Boxes) > 0 && saliency.IoU(res.Boxes[0], box) > 0.5)
		}
		for r, rule := range l.BoxRules {
			s.boxAcc[r] = append(s.boxAcc[r], fits(rule))
		}
		s.defBox = append(s.defBox, fits(defaultRuleOf(method.Name)))
		s.boxHits = append(s.boxHits, saliency.BoxHits(m, box))
	}
	var gridRes *saliency.Explanation
	var err error
	for _, method := range l.Methods {
		t := time.Now()
		switch {
		case method.Maps:
			for k, smp := range mine {
				m, err := l.Maps.Load(file, smp.Concept.Name, method.Name, img.W, img.H)
				if err != nil {
					return nil, err
				}
				record(method, k, m)
			}
		case method.Name == "center":
			for k := range mine {
				record(method, k, saliency.CenterPrior(img.W, img.H))
			}
		case method.Name == "grid" || method.Name == "occlusion":
			if gridRes == nil {
				p := params
				p.Method = saliency.MethodGrid
				if gridRes, err = l.Explainer.Explain(ctx, img, concepts, p, nil); err != nil {
					return nil, err
				}
			}
			for _, lv := range l.Levels {
				sc[scoreKey(method, lv)].windows += gridRes.Encoded
				if method.Name == "grid" { // occlusion below is not refined
					rw := gridRes.RefineWindows // the image region's grid serves every concept
					if params.Refine != nil && params.Refine.Region == saliency.RefineBox {
						rw /= len(gridRes.Maps)
					}
					sc[scoreKey(method, lv)].windows += rw
				}
				sc[scoreKey(method, lv)].images++
			}
			for k, cm := range gridRes.Maps {
				sm := cm.Square
				if method.Name == "occlusion" {
					sm = saliency.GridMap(gridRes.Canvas, gridRes.Windows, cm.Cosines, false)
				}
				// In image pixels, as the boxes (the centre crop too).
				record(method, k, gridRes.Canvas.ToSource(sm))
			}
		case method.Name == "stochastic":
			p := params
			p.Method = saliency.MethodStochastic
			p.Refine = nil // --refine refines grid maps
			res, err := l.Explainer.Explain(ctx, img, concepts, p, nil)
			if err != nil {
				return nil, err
			}
			for _, lv := range l.Levels {
				sc[scoreKey(method, lv)].windows += res.Encoded
				sc[scoreKey(method, lv)].images++
			}
			for k, cm := range res.Maps {
				record(method, k, res.Canvas.ToSource(cm.Square))
			}
		}
		spent := time.Since(t).Seconds()
		if method.Maps && l.Maps.Seconds[method.Name] > 0 {
			spent = l.Maps.Seconds[method.Name] * float64(len(mine)) // the maker's time, not the reading
		}
		for _, lv := range l.Levels {
			sc[scoreKey(method, lv)].seconds += spent / float64(len(l.Levels))
		}
	}
	if l.Fidelity && gridRes != nil {
		// Made after the methods' timings: the reference's time is not theirs.
		ref := gridRes
		if !samePlan(params, l.Reference) {
			p := l.Reference
			p.Method = saliency.MethodGrid
			if ref, err = l.Explainer.Explain(ctx, img, concepts, p, nil); err != nil {
				return nil, fmt.Errorf("the default map: %w", err)
			}
		}
		for k, cm := range gridRes.Maps {
			r, d := mapFidelity(gridRes.Canvas, cm.Square, ref.Maps[k].Square)
			s := sc[scoreKey(Method{Name: "grid"}, levelOf[k])]
			s.pearson, s.peakDist = append(s.pearson, r), append(s.peakDist, d)
		}
	}
	return sc, nil
}

// rows are the report's lines from the totals: per level, per method,
// each measurement's mean with a seeded bootstrap interval. images is how
// many images were measured (images per second).
func (l *Localization) rows(total map[string]*scores, images int) []Row {
	var rows []Row
	for _, lv := range l.Levels {
		for _, m := range l.Methods {
			sc := total[scoreKey(m, lv)]
			n := len(sc.pointing)
			meanOf := saliency.MeanOf
			seed := l.Seed
			row := Row{Method: m.Name, Level: lv, Samples: n,
				Pointing: saliency.Bootstrap(n, seed, meanOf(sc.pointing)),
				Energy:   saliency.Bootstrap(n, seed+1, meanOf(sc.energy)),
				IoU:      saliency.Bootstrap(n, seed+2, meanOf(sc.iou)),
				MaxBoxAcc: saliency.Bootstrap(n, seed+3, func(idx []int) float64 {
					hs := make([][]bool, len(idx))
					for k, i := range idx {
						hs[k] = sc.boxHits[i]
					}
					a, _ := saliency.MaxBoxAcc(hs)
					return a
				}),
			}
			_, row.BestThreshold = saliency.MaxBoxAcc(sc.boxHits)
			row.DefaultBox = saliency.Bootstrap(n, seed+4, meanOf(sc.defBox))
			pm := l.Params
			pm.Method = saliency.Method(m.Name)
			row.DefaultRule = saliency.DefaultBoxRule(pm).String()
			row.BoxAcc = map[string]saliency.Interval{}
			for r, rule := range l.BoxRules {
				row.BoxAcc[rule.String()] = saliency.Bootstrap(n, seed+4, meanOf(sc.boxAcc[r]))
			}
			if sc.images > 0 {
				row.PassesPerMap = float64(sc.windows) / float64(sc.images)
			}
			if len(sc.pearson) == n && n > 0 {
				r := saliency.Bootstrap(n, seed+5, meanOf(sc.pearson))
				d := saliency.Bootstrap(n, seed+6, meanOf(sc.peakDist))
				row.FidelityPearson, row.FidelityPeak = &r, &d
			}
			if sc.seconds > 0 {
				row.ImagesPerSec = float64(images) / sc.seconds
			}
			if m.Maps {
				row.Source = "maps"
			}
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].Level < rows[b].Level })
	return rows
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
