package saliency

import (
	"context"
	"fmt"
	"math"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/embedcache"
)

// A ConVis map is a statistic of a random canvas: the windows that hang
// over the padding see different noise under another seed, and the ranks
// of parents and absent concepts move with it. Seeds > 1 makes the map the
// mean of that many maps, on canvases drawn from seeds Seed … Seed+N−1,
// and keeps their per-pixel spread (standard deviation) beside it: where
// the spread is high, another draw would have drawn another map.

// DefaultSeeds is explain's --seeds: the smallest N whose maps met the
// stability bar of issue 27 (Pearson between disjoint seed sets ≥ 0.95 at
// the 10th percentile and ≥ 0.90 at the worst, for present objects, their
// parents and absent concepts) without losing pointing game, measured by
// scripts/seed_stability.py (docs/trust.md) on 12 + 12 scenes and
// confirmed on 12 + 12 held-out ones. One seed fails it on absent
// concepts; four (the default before) fail the worst case on padded
// images. --preset reference keeps the published single seed.
const DefaultSeeds = 8

// SeedsOf is how many canvases params p average (Seeds 0 is one canvas).
func SeedsOf(p Params) int { return max(1, p.Seeds) }

// withSeed is p for the k-th canvas: the fill and the sampler seeded
// Seed+k.
func withSeed(p Params, k int) Params {
	q := p
	q.Canvas.Seed = p.Canvas.Seed + uint64(k)
	q.Stochastic.Seed = p.Stochastic.Seed + uint64(k)
	return q
}

// ExplainSeeds computes the maps of the concepts as the mean over
// SeedsOf(p) canvases; first, when not nil, is img prepared with p (seed Seed); the
// other canvases are prepared here. Each canvas goes through the window
// cache as a single-seed map does, so its maps equal single-seed maps bit
// for bit and a second concept encodes nothing; the windows inside the
// image, the same on every canvas, are encoded once. Every ConceptMap carries
// Spread, the per-pixel standard deviation of the maps over the seeds
// (zero for one seed). The Explanation's Canvas is the first seed's; its
// counts (windows, passes, batches) add up the seeds'.
func (e *Explainer) ExplainSeeds(ctx context.Context, img *clip.RGB, first *Prepared, concepts []Concept, p Params, progress Progress) (*Explanation, error) {
	n := SeedsOf(p)
	runs := make([]*Explanation, n)
	// The windows inside the image are encoded on the first canvas only
	// (embedSplit), with or without the window cache.
	shared := &insideRows{rows: map[string][][]float32{}}
	for k := range n {
		pk := withSeed(p, k)
		pr := first
		if k > 0 || pr == nil {
			var err error
			if pr, err = Prepare(img, pk); err != nil {
				return nil, fmt.Errorf("seed %d: %w", pk.Canvas.Seed, err)
			}
		} else {
			cp := *first // the caller's stays as it was
			pr = &cp
		}
		if n > 1 {
			pr.shared = shared
		}
		var prog Progress
		if progress != nil {
			prog = func(done, total int) { progress(k*total+done, n*total) }
		}
		res, err := e.ExplainPrepared(ctx, pr, concepts, pk, prog)
		if err != nil {
			if n > 1 {
				return nil, fmt.Errorf("seed %d: %w", pk.Canvas.Seed, err)
			}
			return nil, err
		}
		runs[k] = res
	}
	return mergeSeeds(runs), nil
}

// mergeSeeds is the mean explanation of single-seed runs of the same
// image, concepts and settings.
func mergeSeeds(runs []*Explanation) *Explanation {
	out := *runs[0]
	out.Maps = make([]ConceptMap, len(runs[0].Maps))
	for _, r := range runs[1:] {
		out.Windows = append(append([]Box(nil), out.Windows...), r.Windows...)
		out.Stats.Passes += r.Stats.Passes
		out.Stats.Batches = append(append([]int(nil), out.Stats.Batches...), r.Stats.Batches...)
		out.Stats.EncodeTime += r.Stats.EncodeTime
		out.Stats.PrepTime += r.Stats.PrepTime
		out.ScoreTime += r.ScoreTime
		out.CanvasTime += r.CanvasTime
		out.RefineWindows += r.RefineWindows
		out.RefinePasses += r.RefinePasses
		out.Encoded += r.Encoded
		if r.WindowCache == embedcache.Miss {
			out.WindowCache = embedcache.Miss
		}
	}
	for k := range out.Maps {
		cm := runs[0].Maps[k]
		maps := make([]*Map, len(runs))
		squares := make([]*Map, len(runs))
		for i, r := range runs {
			maps[i], squares[i] = r.Maps[k].Map, r.Maps[k].Square
			cm.BestRank = min(cm.BestRank, r.Maps[k].BestRank)
			if i > 0 {
				cm.WindowsFirst += r.Maps[k].WindowsFirst
				cm.WindowsScored += r.Maps[k].WindowsScored
				cm.WindowsTop5 += r.Maps[k].WindowsTop5
				cm.WindowsTop10 += r.Maps[k].WindowsTop10
				cm.WindowsChanceSum += r.Maps[k].WindowsChanceSum
			}
		}
		cm.Map, cm.Spread = MeanMaps(maps)
		if len(runs) > 1 {
			cm.Square, _ = MeanMaps(squares)
		}
		cm.Seeds = len(runs)
		cm.Versus = append([]VersusMap(nil), cm.Versus...)
		for j := range cm.Versus {
			vm := make([]*Map, len(runs))
			for i, r := range runs {
				vm[i] = r.Maps[k].Versus[j].Map
			}
			cm.Versus[j].Map, _ = MeanMaps(vm)
		}
		out.Maps[k] = cm
	}
	return &out
}

// MeanMaps is the per-pixel mean of maps of one size and their standard
// deviation (population: over exactly these draws), summed in float64 in
// the maps' order so that a reader of the single maps gets the same bits.
// The mean is flat only if every map is.
func MeanMaps(maps []*Map) (mean, spread *Map) {
	w, h := maps[0].W, maps[0].H
	mean = &Map{W: w, H: h, V: make([]float32, w*h), Flat: true}
	spread = &Map{W: w, H: h, V: make([]float32, w*h)}
	n := float64(len(maps))
	for _, m := range maps {
		mean.Flat = mean.Flat && m.Flat
	}
	for i := range mean.V {
		s := 0.0
		for _, m := range maps {
			s += float64(m.V[i])
		}
		mu := s / n
		d := 0.0
		for _, m := range maps {
			x := float64(m.V[i]) - mu
			d += x * x
		}
		mean.V[i] = float32(mu)
		spread.V[i] = float32(math.Sqrt(d / n))
	}
	return mean, spread
}

// SpreadSummary is the sidecar's summary of a spread map.
type SpreadSummary struct {
	Seeds int     `json:"seeds"`
	Mean  float64 `json:"mean"` // mean per-pixel standard deviation over the seeds
	Max   float64 `json:"max"`
}

// Summarize is the spread map's mean and maximum.
func (m *Map) Summarize(seeds int) SpreadSummary {
	s := SpreadSummary{Seeds: seeds}
	if len(m.V) == 0 {
		return s
	}
	sum := 0.0
	for _, v := range m.V {
		sum += float64(v)
		s.Max = math.Max(s.Max, float64(v))
	}
	s.Mean = sum / float64(len(m.V))
	return s
}
