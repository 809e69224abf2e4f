package saliency

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/embedcache"
)

// Method is how windows are chosen and scored.
type Method string

const (
	MethodGrid       Method = "grid"       // Algorithm 1 (the default)
	MethodStochastic Method = "stochastic" // the reference's sampler
	MethodOcclusion  Method = "occlusion"  // baseline: cosine with the concept's own prompt, grid windows
)

// Params are every setting of a map; the defaults are the reference's.
type Params struct {
	Method     Method
	Canvas     CanvasOptions
	Sizes      []int // grid window sizes (128, 64)
	Stride     int   // grid stride (16)
	Stochastic StochasticParams
	Batch      int           // crops per encoder pass
	FullPlan   bool          // also encode grid windows that miss the image (same map, more work)
	Refine     *RefineParams // nil: no refinement stage (the reference)
	// Seeds is how many canvases (seeds Seed … Seed+Seeds−1) the map is
	// the mean of (ExplainSeeds); 0 is one, and no spread is reported.
	Seeds int
	// Versus are concepts every concept's map is contrasted with
	// (VersusMap): scored on the same windows, no more passes.
	Versus []Concept
	// FineWindows, when above 0, makes the grid plan coarse-to-fine
	// (coarsefine.go): after the grid at Stride, this many of the windows
	// of the grid at Stride/2 that it skips, where neighbouring coarse
	// windows' embeddings disagree most; the same for every concept.
	FineWindows int
}

// DefaultParams are the reference's numbers.
func DefaultParams() Params {
	return Params{Method: MethodGrid, Canvas: DefaultCanvas(), Sizes: []int{128, 64}, Stride: 16, Stochastic: DefaultStochastic(), Batch: 32}
}

// SquareMap turns per-window scores into the map over the image square.
func SquareMap(c *Canvas, windows []Box, scores []float64, m Method, sp StochasticParams) *Map {
	switch m {
	case MethodOcclusion:
		return GridMap(c, windows, scores, false)
	case MethodStochastic:
		ranks := make([]int, len(scores))
		for i, v := range scores {
			ranks[i] = int(v)
		}
		return StochasticMap(c, windows, ranks, sp)
	default:
		return GridMap(c, windows, scores, true)
	}
}

// ConceptMap is one concept's result.
type ConceptMap struct {
	Concept Concept
	Scores  []float64 // per window: rank (grid, stochastic) or cosine (occlusion)
	Ranks   []float64 // per window: best rank in S (computed for every method)
	Cosines []float64 // per window: cosine with the concept's own prompt
	Square  *Map      // over the image square on the canvas
	Map     *Map      // over the input image
	// BestRank is the best rank of the concept's subtree over the windows
	// that were encoded.
	BestRank int
	// Spread is the per-pixel standard deviation of the map over the
	// seeds it is the mean of, and Seeds how many (ExplainSeeds; nil and
	// 0 from ExplainPrepared).
	Spread *Map
	Seeds  int
	// WindowsFirst is how many of the encoded grid windows rank some
	// synset of the concept's subtree first, of WindowsScored (summed over
	// the seeds): the presence rule compares the share with chance.
	WindowsFirst, WindowsScored int
	// WindowsTop5 and WindowsTop10 count the windows ranking some synset
	// of the subtree among the first 5 and 10 prompts, and
	// WindowsChanceSum sums each window's chanceOfBest of its best rank
	// (summed over the seeds like WindowsFirst).
	WindowsTop5, WindowsTop10 int
	WindowsChanceSum          float64
	// Versus is the concept's contrast with each of Params.Versus that
	// is not the concept itself.
	Versus []VersusMap
}

// countWindows counts, for the presence rule, the windows in encode that
// rank the subtree first, among the first 5 and 10 of vocab prompts, and
// sums their chances (ranks are per window, the subtree's best rank).
func (cm *ConceptMap) countWindows(ranks []float64, encode []int, vocab int) {
	prompts := len(cm.Concept.Set)
	for _, i := range encode {
		r := int(ranks[i])
		cm.BestRank = min(cm.BestRank, r)
		if r == 0 {
			cm.WindowsFirst++
		}
		if r < 5 {
			cm.WindowsTop5++
		}
		if r < 10 {
			cm.WindowsTop10++
		}
		cm.WindowsChanceSum += chanceOfBest(r, prompts, vocab)
	}
	cm.WindowsScored += len(encode)
}

// Explanation is the result for one image and any number of concepts: the
// windows are embedded once and scored against every concept.
type Explanation struct {
	Canvas     *Canvas
	Windows    []Box
	Stats      EmbedStats
	Maps       []ConceptMap
	ScoreTime  time.Duration
	CanvasTime time.Duration
	// WindowCache is embedcache.Hit (nothing encoded), embedcache.Miss or embedcache.Off.
	WindowCache string
	// RefineWindows is how many refinement windows the maps used: the
	// image region's one grid shared by every concept, or the box
	// region's windows of all concepts; RefinePasses those of them
	// encoded (not from the cache).
	RefineWindows, RefinePasses int
	// Encoded is how many windows the map needs encoded (its encoder
	// passes on a cache miss; those on a hit came from the cache).
	Encoded int
	// FineWindows is how many coarse-to-fine windows the grid added
	// (Params.FineWindows; they are in Windows, after the grid's), and
	// FinePasses those of them encoded (not from the cache).
	FineWindows, FinePasses int
}

// addStats adds a later embedCached call's work (the coarse-to-fine or
// the refinement windows) to the explanation's.
func (ex *Explanation) addStats(st EmbedStats, state string) {
	ex.Stats.Passes += st.Passes
	ex.Stats.Batches = append(ex.Stats.Batches, st.Batches...)
	ex.Stats.EncodeTime += st.EncodeTime
	ex.Stats.PrepTime += st.PrepTime
	if state == embedcache.Miss {
		ex.WindowCache = embedcache.Miss
	}
}

// Explainer makes maps with an image encoder and a concept index.
type Explainer struct {
	Encoder clip.ImageEncoder
	Pre     *clip.Preprocessor
	Index   *ConceptIndex
	// Cache, when set, keeps window and whole-image embeddings between
	// runs; ModelKey (the model's content hash and variant) is part of
	// every key.
	Cache    *embedcache.Embeddings
	ModelKey string
}

// Prepared is an image made ready for the encoder: its canvas and window
// plan. Preparing needs no model, so a batch prepares the next image while
// the encoder works on the current one.
type Prepared struct {
	Canvas     *Canvas
	Windows    []Box
	CanvasTime time.Duration
	// FineCandidates are the coarse-to-fine plan's candidate windows
	// (Params.FineWindows), of which ExplainPrepared encodes the chosen.
	FineCandidates []Box
	// shared, when set, carries the embeddings of the windows inside the
	// image from one seed's canvas to the next (ExplainSeeds), so that
	// they are encoded once without a window cache too.
	shared *insideRows
}

// Prepare builds an image's canvas and window plan.
func Prepare(img *clip.RGB, p Params) (*Prepared, error) {
	t0 := time.Now()
	c, err := NewCanvas(img, p.Canvas)
	if err != nil {
		return nil, err
	}
	pr := &Prepared{Canvas: c, CanvasTime: time.Since(t0)}
	switch p.Method {
	case MethodGrid, MethodOcclusion:
		pr.Windows, err = GridPlan(c, p.Sizes, p.Stride, !p.FullPlan)
	case MethodStochastic:
		pr.Windows, err = StochasticPlan(c, p.Stochastic)
	default:
		return nil, fmt.Errorf("unknown method %q (want grid, stochastic or occlusion)", p.Method)
	}
	if err != nil {
		return nil, err
	}
	if p.FineWindows > 0 && p.Method == MethodGrid {
		if pr.FineCandidates, err = FineCandidates(c, p.Sizes, p.Stride, p.FullPlan); err != nil {
			return nil, err
		}
	}
	return pr, nil
}

// Explain computes the maps of the concepts on an image.
func (e *Explainer) Explain(ctx context.Context, img *clip.RGB, concepts []Concept, p Params, progress Progress) (*Explanation, error) {
	if p.Seeds > 1 {
		return e.ExplainSeeds(ctx, img, nil, concepts, p, progress)
	}
	pr, err := Prepare(img, p)
	if err != nil {
		return nil, err
	}
	return e.ExplainPrepared(ctx, pr, concepts, p, progress)
}

// ExplainPrepared computes the maps of the concepts on a prepared image.
func (e *Explainer) ExplainPrepared(ctx context.Context, pr *Prepared, concepts []Concept, p Params, progress Progress) (*Explanation, error) {
	if len(concepts) == 0 {
		return nil, fmt.Errorf("no concept to explain")
	}
	asked := len(concepts)
	concepts = append(append([]Concept(nil), concepts...), p.Versus...) // scored with them
	c := pr.Canvas
	ex := &Explanation{Canvas: c, Windows: pr.Windows, CanvasTime: pr.CanvasTime, WindowCache: embedcache.Off}
	var err error
	// The image region's refinement windows are the same for every
	// concept: they are encoded once, after the grid's, and ranked with
	// them (indexes from len(ex.Windows) on).
	var fine []Box
	if r := p.Refine; r != nil && r.Region == RefineImage && p.Method == MethodGrid {
		fine = FineWindows(c, *r)
	}
	// The coarse-to-fine plan's chosen windows follow the grid's
	// (indexes len(pr.Windows) … nw−1), the refinement windows them.
	nw0 := len(pr.Windows)
	nFine := 0
	if p.FineWindows > 0 && p.Method == MethodGrid {
		nFine = min(p.FineWindows, len(pr.FineCandidates))
	}
	nw := nw0 + nFine
	ranks := make([][]float64, len(concepts))
	cosines := make([][]float64, len(concepts))
	for i := range ranks {
		ranks[i] = make([]float64, nw+len(fine))
		cosines[i] = make([]float64, nw+len(fine))
	}
	// Encode only windows that overlap the image itself (the grid plan's
	// windows all overlap the image square, unless FullPlan; those on the
	// padding of a non-square image do not all reach the image): the
	// others only touch pixels that the map crops away, so their score is
	// never used.
	encode := make([]int, 0, nw)
	x0, y0, x1, y1 := c.ContentRect()
	for i, b := range ex.Windows {
		if p.FullPlan || b.Overlaps(x0, y0, x1, y1) {
			encode = append(encode, i)
		}
	}
	ex.Encoded = len(encode)
	boxes := make([]Box, len(encode))
	for j, i := range encode {
		boxes[j] = ex.Windows[i]
	}
	sc := &windowScorer{ctx: ctx, index: e.Index, concepts: concepts, ranks: ranks, cosines: cosines}
	total := len(boxes) + nFine + len(fine)
	var coarse [][]float32 // the coarse windows' embeddings, when nFine > 0
	if nFine > 0 {
		coarse = make([][]float32, nw0)
	}
	gridSink := func(idx []int) func(int, [][]float32) {
		rank := sc.into(idx)
		if coarse == nil {
			return rank
		}
		return func(start int, rows [][]float32) {
			for r, row := range rows {
				coarse[idx[start+r]] = slices.Clone(row)
			}
			rank(start, rows)
		}
	}
	ex.Stats, ex.WindowCache, err = e.embedSplit(ctx, pr, boxes, encode, p.Batch, offset(progress, 0, total), gridSink, sc.failed)
	if err != nil {
		return nil, err
	}
	if nFine > 0 && sc.err == nil {
		chosen := ChooseFine(pr.FineCandidates, Disagreement(pr.Windows, coarse, pr.FineCandidates, p.Stride), nFine)
		idx := make([]int, nFine)
		for j := range idx {
			idx[j] = nw0 + j
		}
		st, state, err := e.embedCached(ctx, c, chosen, p.Batch, offset(progress, len(boxes), total), sc.into(idx), sc.failed)
		if err != nil {
			return nil, fmt.Errorf("coarse-to-fine windows: %w", err)
		}
		ex.addStats(st, state)
		ex.Windows = append(slices.Clip(pr.Windows), chosen...)
		encode = append(encode, idx...)
		ex.Encoded += nFine
		ex.FineWindows, ex.FinePasses = nFine, st.Passes
	}
	if len(fine) > 0 && sc.err == nil {
		idx := make([]int, len(fine))
		for k := range idx {
			idx[k] = nw + k
		}
		st, state, err := e.embedSplit(ctx, pr, fine, idx, p.Batch, offset(progress, len(boxes)+nFine, total), sc.into, sc.failed)
		if err != nil {
			return nil, fmt.Errorf("refinement windows: %w", err)
		}
		ex.addStats(st, state)
		ex.RefineWindows = len(fine)
		ex.RefinePasses = st.Passes
	}
	if sc.err != nil {
		return nil, fmt.Errorf("ranking windows: %w", sc.err)
	}
	ex.ScoreTime = sc.elapsed
	for k, cc := range concepts[:asked] {
		cm := ConceptMap{Concept: cc, Ranks: ranks[k][:nw], Cosines: cosines[k][:nw], BestRank: math.MaxInt}
		cm.countWindows(ranks[k], encode, e.Index.Len())
		cm.Scores = cm.Ranks
		if p.Method == MethodOcclusion {
			cm.Scores = cm.Cosines
		}
		cm.Square = SquareMap(c, ex.Windows, cm.Scores, p.Method, p.Stochastic)
		if !cm.Square.Finite() {
			return nil, fmt.Errorf("the %s map of %s is not finite (NaN or infinite values): check --epsilon, --gamma and --n", p.Method, cc.Synset.Name)
		}
		if p.Refine != nil && !cm.Square.Flat {
			coarse := cm.Square
			if q := p.Refine.Quantile; q > 0 && p.Method == MethodGrid {
				if qm := QuantileMap(c, ex.Windows, p.Refine.scale(cm.Scores), q); !qm.Flat {
					coarse = qm
				}
			}
			if len(fine) > 0 {
				cm.Square = refineMap(c, coarse, fine, p.Refine.scale(ranks[k][nw:]), p.Refine.Weight, p.Refine.Smooth)
			} else {
				refined, windows, passes, err := e.refine(ctx, c, coarse, cc, p)
				if err != nil {
					return nil, err
				}
				cm.Square = refined
				ex.Stats.Passes += passes
				ex.RefineWindows += windows
				ex.RefinePasses += passes
			}
		}
		cm.Map = c.ToImage(cm.Square)
		for j, other := range p.Versus {
			if other.Synset == cc.Synset {
				continue
			}
			sq := ContrastMap(c, ex.Windows, versusScores(ranks[k][:nw], ranks[asked+j][:nw]))
			cm.Versus = append(cm.Versus, VersusMap{Other: other, Square: sq, Map: c.ToImage(sq)})
		}
		ex.Maps = append(ex.Maps, cm)
	}
	return ex, nil
}

// windowScorer ranks batches of window embeddings against every prompt in
// one matrix product and keeps, per concept and window, the best rank of
// the concept's subtree and the cosine with its own prompt. Both are cheap
// next to the product, so every method gets both: evaluations compare
// methods on the same windows. The first error stops it.
type windowScorer struct {
	ctx            context.Context
	index          *ConceptIndex
	concepts       []Concept
	ranks, cosines [][]float64 // [concept][window]
	sims, flat     []float32
	err            error
	elapsed        time.Duration
}

// into is an embedCached sink for the windows idx (batch row k of a batch
// starting at start is window idx[start+k]; nil idx: window start+k).
func (s *windowScorer) into(idx []int) func(start int, rows [][]float32) {
	return func(start int, rows [][]float32) {
		if s.err != nil {
			return
		}
		t := time.Now()
		P := s.index.Len()
		if need := len(rows) * P; cap(s.sims) < need {
			s.sims = make([]float32, need)
		}
		if s.flat, s.err = s.index.SimilaritiesBatch(s.ctx, rows, s.sims, s.flat); s.err != nil {
			return
		}
		for k := range rows {
			sim := s.sims[k*P : (k+1)*P]
			i := start + k
			if idx != nil {
				i = idx[i]
			}
			for j, cc := range s.concepts {
				s.cosines[j][i] = float64(OwnSimilarity(sim, cc.Own))
				s.ranks[j][i] = float64(BestRank(sim, cc.Set))
			}
		}
		s.elapsed += time.Since(t)
	}
}

func (s *windowScorer) failed() bool { return s.err != nil }

// embedCached hands the embeddings of the canvas's boxes to sink, batch by
// batch, through the window cache: on a hit the cached rows go in the same
// batches as when they were encoded (the kernel then sees the same inputs,
// so the maps have the same bits) and nothing is encoded; on a miss the
// boxes are encoded, sunk while the encoder runs on, and stored unless
// failed() says the caller could not use them. It returns the encoder's
// work and embedcache.Hit, embedcache.Miss or embedcache.Off.
func (e *Explainer) embedCached(ctx context.Context, c *Canvas, boxes []Box, batch int, progress Progress, sink func(start int, rows [][]float32), failed func() bool) (EmbedStats, string, error) {
	key := func() string { return WindowKey(e.ModelKey, e.Pre.Config, batch, c, boxes) }
	st, state, _, err := e.embedKeyed(ctx, key, c, boxes, batch, progress, sink, failed)
	return st, state, err
}

// embedKeyed is embedCached under the key key() names (called only when
// there is a cache); it also returns the rows, encoded or cached.
func (e *Explainer) embedKeyed(ctx context.Context, key func() string, c *Canvas, boxes []Box, batch int, progress Progress, sink func(start int, rows [][]float32), failed func() bool) (EmbedStats, string, [][]float32, error) {
	var k string
	if e.Cache != nil {
		k = key()
		if rows, ok := e.Cache.Get(k, len(boxes)); ok {
			sinkRows(rows, batch, sink)
			if progress != nil {
				progress(len(boxes), len(boxes))
			}
			return EmbedStats{}, embedcache.Hit, rows, nil
		}
	}
	rows, stats, err := EmbedWindows(ctx, c, boxes, e.Encoder, e.Pre, batch, progress, sink)
	if err != nil {
		return stats, "", nil, err
	}
	if e.Cache == nil {
		return stats, embedcache.Off, rows, nil
	}
	if !failed() {
		if err := e.Cache.Put(k, rows); err != nil {
			e.Cache.Warning(err)
		}
	}
	return stats, embedcache.Miss, rows, nil
}

// sinkRows hands rows to sink in the batches they were encoded in (the
// kernel then sees the same inputs, so the maps have the same bits).
func sinkRows(rows [][]float32, batch int, sink func(start int, rows [][]float32)) {
	for start := 0; start < len(rows); start += batch {
		sink(start, rows[start:min(start+batch, len(rows))])
	}
}

// offset is progress for a stage whose first window is the base-th of
// total.
func offset(progress Progress, base, total int) Progress {
	if progress == nil {
		return nil
	}
	return func(done, _ int) { progress(base+done, total) }
}

// The windows wholly inside the image's own pixels see no fill: their
// crops are the same on every seed's canvas. embedSplit encodes them in
// batches of their own, under a key of the image's pixels (InsideWindowKey)
// rather than the canvas's, and then the windows that reach the fill, so
// that --seeds N encodes the inside ones once, not N times (30% of a
// square image's passes at N = 8). Every seed count has this layout, one
// included, so each seed's map in --seeds N is its single-seed map bit for
// bit.

// insideRows are the embeddings of the inside windows of one image, by
// key, shared between the seeds' canvases of one ExplainSeeds call.
type insideRows struct{ rows map[string][][]float32 }

// embedSplit embeds boxes (the windows idx of the map) through
// embedCached, the inside ones first; sinkFor(idx') is the sink for the
// windows idx' (batch row k of a batch starting at start is idx'[start+k]).
// It returns the work of both parts and the state of the outside part's
// cache (that of the inside part if there is no outside one).
func (e *Explainer) embedSplit(ctx context.Context, pr *Prepared, boxes []Box, idx []int, batch int, progress Progress, sinkFor func(idx []int) func(int, [][]float32), failed func() bool) (EmbedStats, string, error) {
	c := pr.Canvas
	x0, y0, x1, y1 := c.ContentRect()
	var inBoxes, outBoxes []Box
	var inIdx, outIdx []int
	for j, b := range boxes {
		if b.Inside(x0, y0, x1, y1) {
			inBoxes, inIdx = append(inBoxes, b), append(inIdx, idx[j])
		} else {
			outBoxes, outIdx = append(outBoxes, b), append(outIdx, idx[j])
		}
	}
	var st EmbedStats
	state := embedcache.Off
	if len(inBoxes) > 0 {
		// One key names them in the seeds' memo and in the window cache.
		var memo string
		if pr.shared != nil || e.Cache != nil {
			memo = InsideWindowKey(e.ModelKey, e.Pre.Config, batch, c, inBoxes)
		}
		key := func() string { return memo }
		sink := sinkFor(inIdx)
		if rows, ok := pr.shared.get(memo); ok {
			sinkRows(rows, batch, sink)
			if progress != nil {
				progress(len(inBoxes), len(boxes))
			}
			if e.Cache != nil {
				state = embedcache.Hit
			}
		} else {
			var rows [][]float32
			var err error
			if st, state, rows, err = e.embedKeyed(ctx, key, c, inBoxes, batch, offset(progress, 0, len(boxes)), sink, failed); err != nil {
				return st, "", err
			}
			if rows != nil && !failed() {
				pr.shared.put(memo, rows)
			}
		}
	}
	if len(outBoxes) > 0 {
		ost, ostate, err := e.embedCached(ctx, c, outBoxes, batch, offset(progress, len(inBoxes), len(boxes)), sinkFor(outIdx), failed)
		if err != nil {
			return st, "", err
		}
		st.Passes += ost.Passes
		st.Batches = append(st.Batches, ost.Batches...)
		st.EncodeTime += ost.EncodeTime
		st.PrepTime += ost.PrepTime
		if len(inBoxes) == 0 || ostate == embedcache.Miss {
			state = ostate
		}
	}
	return st, state, nil
}

func (s *insideRows) get(key string) ([][]float32, bool) {
	if s == nil {
		return nil, false
	}
	rows, ok := s.rows[key]
	return rows, ok
}

func (s *insideRows) put(key string, rows [][]float32) {
	if s != nil {
		s.rows[key] = rows
	}
}
