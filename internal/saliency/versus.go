package saliency

// Contrastive maps (--versus): where the image looks like concept A rather
// than concept B. Each window scores from the two subtrees' best ranks,
// which the map's windows already have, so a contrast costs no pass:
//
//	s(w) = (r_B − r_A) / (r_A + r_B + 2)  in (−1, 1)
//
// positive where A ranks better than B, negative where B does, 0 where
// they tie; it is tanh(½·ln((1+r_B)/(1+r_A))), the log-rank difference
// squashed to a bounded, symmetric score. A pixel takes the mean of the
// scores of the windows covering it. The map is not min-max normalised:
// its sign and size mean the same in every image.

// VersusMap is concept A's contrast with Other.
type VersusMap struct {
	Other  Concept
	Square *Map // over the image square on the canvas
	Map    *Map // over the input image; values in [−1, 1]
}

// versusScores are the windows' contrast scores from two rank lists.
func versusScores(ra, rb []float64) []float64 {
	s := make([]float64, len(ra))
	for i := range ra {
		s[i] = (rb[i] - ra[i]) / (ra[i] + rb[i] + 2)
	}
	return s
}

// ContrastMap is the per-pixel mean of window scores over the image
// square (pixels no window covers get 0).
func ContrastMap(c *Canvas, boxes []Box, scores []float64) *Map {
	ones := make([]float64, len(boxes))
	for i := range ones {
		ones[i] = 1
	}
	sum := accumulate(c.Opts.Size, boxes, scores)
	n := accumulate(c.Opts.Size, boxes, ones)
	x0, y0, x1, y1 := c.ImageRect()
	w, h := x1-x0, y1-y0
	m := &Map{W: w, H: h, V: make([]float32, w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y+y0)*c.Opts.Size + x + x0
			if n[i] > 0.5 {
				m.V[y*w+x] = float32(sum[i] / n[i])
			}
		}
	}
	return m
}

// MeanValue is the map's mean.
func (m *Map) MeanValue() float64 {
	s := 0.0
	for _, v := range m.V {
		s += float64(v)
	}
	return s / float64(max(1, len(m.V)))
}
