package saliency

import (
	"fmt"
	"math"
	"slices"
)

// Coarse-to-fine grid plans (Params.FineWindows, `--fine-windows K`): the
// grid at Params.Stride is encoded first; then, of the windows of the grid
// at half that stride that it skips, the K whose coarse neighbours'
// embeddings disagree most are encoded too, and the map is made from all
// of them. The disagreement is measured on the embeddings alone, without a
// concept, so the fine windows are the same for every concept: a second
// concept on a cached image encodes nothing (the window cache's key holds
// the box list, and the coarse embeddings it ranks by come back bit for
// bit from the cache).

// FineCandidates are the windows of the grid at half of stride, over the
// same sizes, that the coarse grid skips (at least one corner coordinate
// an odd multiple of stride/2), kept only where they overlap the image's
// content (others are never encoded), in grid order.
func FineCandidates(c *Canvas, sizes []int, stride int, fullPlan bool) ([]Box, error) {
	if stride < 2 || stride%2 != 0 {
		return nil, fmt.Errorf("--fine-windows needs an even --stride of 2 or more, got %d", stride)
	}
	fine, err := GridPlan(c, sizes, stride/2, !fullPlan)
	if err != nil {
		return nil, err
	}
	x0, y0, x1, y1 := c.ContentRect()
	var out []Box
	for _, b := range fine {
		if b.X%stride == 0 && b.Y%stride == 0 {
			continue // a coarse window
		}
		if fullPlan || b.Overlaps(x0, y0, x1, y1) {
			out = append(out, b)
		}
	}
	return out, nil
}

// fineNeighbours are the coarse corners (stride apart) next to a candidate's
// corner along one axis: itself when it is on the coarse grid, else the
// two half a stride either side.
func fineNeighbours(v, stride int) []int {
	if v%stride == 0 {
		return []int{v}
	}
	return []int{v - stride/2, v + stride/2}
}

// Disagreement scores each candidate by the mean, over pairs of its coarse
// neighbours of the same size (the 2 or 4 encoded coarse windows whose
// corners are half a stride away), of 1 − the cosine of their embeddings:
// high where the picture changes between them, which is where a window
// between them says most. A candidate with fewer than two encoded
// neighbours scores −1 (last). coarse[i] is the embedding of windows[i];
// windows not encoded have a nil row.
func Disagreement(windows []Box, coarse [][]float32, candidates []Box, stride int) []float64 {
	type corner struct{ x, y, s int }
	at := make(map[corner]int, len(windows))
	for i, b := range windows {
		if coarse[i] != nil {
			at[corner{b.X, b.Y, b.W}] = i
		}
	}
	norm := make([]float64, len(coarse))
	for i, e := range coarse {
		var s float64
		for _, v := range e {
			s += float64(v) * float64(v)
		}
		norm[i] = math.Sqrt(s)
	}
	cosine := func(i, j int) float64 {
		if norm[i] == 0 || norm[j] == 0 {
			return 0
		}
		var d float64
		for k, v := range coarse[i] {
			d += float64(v) * float64(coarse[j][k])
		}
		return d / (norm[i] * norm[j])
	}
	scores := make([]float64, len(candidates))
	var nb []int
	for k, b := range candidates {
		nb = nb[:0]
		for _, y := range fineNeighbours(b.Y, stride) {
			for _, x := range fineNeighbours(b.X, stride) {
				if i, ok := at[corner{x, y, b.W}]; ok {
					nb = append(nb, i)
				}
			}
		}
		if len(nb) < 2 {
			scores[k] = -1
			continue
		}
		var sum float64
		pairs := 0
		for a := 0; a < len(nb); a++ {
			for b := a + 1; b < len(nb); b++ {
				sum += 1 - cosine(nb[a], nb[b])
				pairs++
			}
		}
		scores[k] = sum / float64(pairs)
	}
	return scores
}

// ChooseFine is the k candidates of the highest scores (ties: the earlier
// in grid order), returned in grid order, so the box list, and with it the
// window cache's key, depends only on the scores.
func ChooseFine(candidates []Box, scores []float64, k int) []Box {
	k = min(k, len(candidates))
	order := make([]int, len(candidates))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	pick := order[:k]
	slices.Sort(pick)
	out := make([]Box, k)
	for i, j := range pick {
		out[i] = candidates[j]
	}
	return out
}
