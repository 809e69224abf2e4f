package saliency

import (
	"context"
	"sort"

	"github.com/convis/convis/internal/clip"
)

// RankedConcept is a synset of T as an image ranks it (TopConcepts).
type RankedConcept struct {
	Node int32 // position in T
	// Votes is how many of the map's grid windows wholly inside the image
	// (none of the canvas's fill in view) rank one of the synset's own
	// prompts first among all of T's.
	Votes float64
	// Whole is the whole image's cosine with the synset's best prompt.
	Whole float32
	// Place is the sum of its places (0 = first) by Votes and by Whole:
	// the order of TopConcepts.
	Place int
}

// TopConcepts ranks the synsets of T for an image, the one rule that
// classify and explain --top share: the windows of the map's grid vote
// for the synset whose own prompt is closest (the windows wholly inside
// the image: they see no fill, so the ranking is the same on every seed's
// canvas), and synsets rank by their votes, then by the whole
// image's cosine. Counting each synset by its own prompts, not its
// subtree, keeps entity.n.01 and other large subtrees from winning by
// size; counting windows finds the objects that a whole-image embedding of
// several objects misses. The windows go through the window cache with
// the same key as the map's inside windows (embedSplit), so explaining the
// top concepts after ranking them encodes only the map's other windows.
// It returns the first k.
func (e *Explainer) TopConcepts(ctx context.Context, pr *Prepared, p Params, whole *WholeImage, k int) ([]RankedConcept, error) {
	c := pr.Canvas
	x0, y0, x1, y1 := c.ContentRect()
	var boxes []Box
	for _, b := range pr.Windows {
		if b.Inside(x0, y0, x1, y1) { // inside the image: the map encodes it too
			boxes = append(boxes, b)
		}
	}
	ix := e.Index
	P := ix.Len()
	votes := make([]float64, len(ix.H.Nodes))
	var sims, flat []float32
	var err error
	sink := func(start int, rows [][]float32) {
		if err != nil {
			return
		}
		if need := len(rows) * P; cap(sims) < need {
			sims = make([]float32, need)
		}
		if flat, err = ix.SimilaritiesBatch(ctx, rows, sims, flat); err != nil {
			return
		}
		for r := range rows {
			row := sims[r*P : (r+1)*P]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			votes[ix.Owner[best]]++
		}
	}
	key := func() string { return InsideWindowKey(e.ModelKey, e.Pre.Config, p.Batch, c, boxes) }
	if len(boxes) > 0 { // a thin strip of an image has no window inside it
		if _, _, _, eerr := e.embedKeyed(ctx, key, c, boxes, p.Batch, nil, sink, func() bool { return err != nil }); eerr != nil {
			return nil, eerr
		}
	}
	if err != nil {
		return nil, err
	}
	wholeBest := make([]float32, len(ix.H.Nodes))
	seen := make([]bool, len(ix.H.Nodes))
	for i, o := range ix.Owner {
		if v := whole.sims[i]; !seen[o] || v > wholeBest[o] {
			wholeBest[o], seen[o] = v, true
		}
	}
	var out []RankedConcept
	for n := range votes {
		if seen[n] {
			out = append(out, RankedConcept{Node: int32(n), Votes: votes[n], Whole: wholeBest[n]})
		}
	}
	// Borda: each synset's place in the windows' vote and in the whole
	// image's cosine, summed. Either view alone is led astray: the whole
	// image's embedding of several objects by one of them or by none,
	// the windows by prompts that the model's fill or background attract.
	byVotes := append([]RankedConcept(nil), out...)
	sort.SliceStable(byVotes, func(a, b int) bool {
		if byVotes[a].Votes != byVotes[b].Votes {
			return byVotes[a].Votes > byVotes[b].Votes
		}
		return byVotes[a].Whole > byVotes[b].Whole
	})
	sort.SliceStable(out, func(a, b int) bool { return out[a].Whole > out[b].Whole })
	place := make(map[int32]int, len(out))
	for i := range out {
		place[out[i].Node] += i
		place[byVotes[i].Node] += i
	}
	for i := range out {
		out[i].Place = place[out[i].Node]
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Place != out[b].Place {
			return out[a].Place < out[b].Place
		}
		if out[a].Votes != out[b].Votes {
			return out[a].Votes > out[b].Votes
		}
		return out[a].Node < out[b].Node
	})
	return out[:min(k, len(out))], nil
}

// WholeView is the picture a whole-image embedding sees: the image's
// square on the canvas, the whole image padded with the fill (or the
// reference's centre crop), as the map's windows see it — not the model's
// own centre crop, which cuts the sides of a wide picture away.
func WholeView(c *Canvas) *clip.RGB {
	x0, y0, x1, y1 := c.ImageRect()
	return c.Crop(Box{X: x0, Y: y0, W: x1 - x0, H: y1 - y0})
}
