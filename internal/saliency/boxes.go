package saliency

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// BoxRule says how a map becomes boxes.
//
// The reference thresholds the min-max normalised map at a fixed 0.7 and
// boxes the largest 4-connected region. On ConVis's coarse maps (windows of
// 64 and 128 pixels on a 224 square) that region is usually most of the
// object's neighbourhood and often half the image (docs/localization.md).
// The rules here choose the threshold per map and box the region holding
// the map's peak.
type BoxRule struct {
	// Mode is "fixed" (Threshold as given, largest region: the
	// reference), "otsu" (Otsu's threshold of the map's histogram,
	// raised to at least Threshold; the region holding the peak) or
	// "rel" (the background level, the map's median, plus Threshold of
	// the way from it to the peak; the region holding the peak).
	Mode      string
	Threshold float64
}

// ReferenceBoxRule is the published rule: threshold 0.7, largest region.
var ReferenceBoxRule = BoxRule{Mode: "fixed", Threshold: 0.7}

// ParseBoxRule reads a rule: a number (fixed threshold, largest region),
// "otsu", "otsu:T" (Otsu's threshold, at least T), or "rel:A" (median +
// A·(peak − median)).
func ParseBoxRule(s string) (BoxRule, error) {
	s = strings.TrimSpace(s)
	if mode, rest, ok := strings.Cut(s, ":"); ok && mode == "rel" {
		a, err := strconv.ParseFloat(rest, 64)
		if err != nil || a <= 0 || a >= 1 {
			return BoxRule{}, fmt.Errorf("box rule %q: want rel:A with A in (0, 1)", s)
		}
		return BoxRule{Mode: "rel", Threshold: a}, nil
	}
	if mode, rest, ok := strings.Cut(s, ":"); ok && mode == "otsu" {
		t, err := strconv.ParseFloat(rest, 64)
		if err != nil || t < 0 || t >= 1 {
			return BoxRule{}, fmt.Errorf("box rule %q: want otsu:T with T in [0, 1)", s)
		}
		return BoxRule{Mode: "otsu", Threshold: t}, nil
	}
	if s == "otsu" {
		return BoxRule{Mode: "otsu"}, nil
	}
	t, err := strconv.ParseFloat(s, 64)
	if err != nil || t <= 0 || t > 1 || math.IsNaN(t) {
		return BoxRule{}, fmt.Errorf("box rule %q: want a threshold in (0, 1], otsu or otsu:T", s)
	}
	return BoxRule{Mode: "fixed", Threshold: t}, nil
}

// String is the rule as ParseBoxRule reads it.
func (r BoxRule) String() string {
	if r.Mode == "rel" {
		return "rel:" + strconv.FormatFloat(r.Threshold, 'g', -1, 64)
	}
	if r.Mode == "otsu" {
		if r.Threshold > 0 {
			return "otsu:" + strconv.FormatFloat(r.Threshold, 'g', -1, 64)
		}
		return "otsu"
	}
	return strconv.FormatFloat(r.Threshold, 'g', -1, 64)
}

// Region is one 4-connected region of the map at or above a threshold.
type Region struct {
	Box  Rect
	Area int     // pixels
	Peak float32 // the region's largest value
	Sum  float64 // the region's mass
}

// Regions lists the 4-connected regions of pixels ≥ t, largest first.
func (m *Map) Regions(t float32) []Region {
	label := make([]bool, len(m.V))
	var out []Region
	stack := make([]int, 0, 1024)
	for start, v := range m.V {
		if v < t || label[start] {
			continue
		}
		label[start] = true
		stack = append(stack[:0], start)
		r := Region{Peak: v}
		minX, minY, maxX, maxY := m.W, m.H, -1, -1
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			r.Area++
			r.Sum += float64(m.V[p])
			r.Peak = max(r.Peak, m.V[p])
			x, y := p%m.W, p/m.W
			minX, maxX = min(minX, x), max(maxX, x)
			minY, maxY = min(minY, y), max(maxY, y)
			for _, q := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if q[0] < 0 || q[1] < 0 || q[0] >= m.W || q[1] >= m.H {
					continue
				}
				i := q[1]*m.W + q[0]
				if !label[i] && m.V[i] >= t {
					label[i] = true
					stack = append(stack, i)
				}
			}
		}
		r.Box = Rect{minX, minY, maxX - minX + 1, maxY - minY + 1}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Area > out[j].Area })
	return out
}

// Otsu is the threshold that best separates the map's values into two
// classes (Otsu 1979, 256 bins over [0, 1]), and the separability
// η = between-class ÷ total variance in [0, 1]: near 1 when the map is a
// clear region on a background, low when it is a ramp or noise.
func (m *Map) Otsu() (t float32, eta float64) {
	const bins = 256
	var hist [bins]float64
	for _, v := range m.V {
		b := int(v * (bins - 1))
		hist[min(max(b, 0), bins-1)]++
	}
	n := float64(len(m.V))
	var total, total2 float64
	for i, h := range hist {
		x := float64(i) / (bins - 1)
		total += x * h
		total2 += x * x * h
	}
	mean := total / n
	varT := total2/n - mean*mean
	if varT <= 1e-12 {
		return 1, 0
	}
	var w0, sum0, best float64
	bestI := bins - 1
	for i := 0; i < bins-1; i++ {
		x := float64(i) / (bins - 1)
		w0 += hist[i]
		sum0 += x * hist[i]
		w1 := n - w0
		if w0 == 0 || w1 == 0 {
			continue
		}
		m0, m1 := sum0/w0, (total-sum0)/w1
		between := w0 * w1 * (m0 - m1) * (m0 - m1) / (n * n)
		if between > best {
			best, bestI = between, i
		}
	}
	// Values in bins above bestI form the upper class.
	return float32(bestI+1) / (bins - 1), best / varT
}

// BoxResult is a map's boxes under a rule.
type BoxResult struct {
	Rule      string  `json:"rule"`
	Threshold float64 `json:"threshold"`
	// Separability is Otsu's η of the map (otsu rules).
	Separability float64 `json:"separability,omitempty"`
	Boxes        []Rect  `json:"-"`
	// NoBox says why there is no box (flat map, no clear region).
	NoBox string `json:"no_box,omitempty"`
}

// MinSeparability is the least Otsu separability for which an otsu rule
// draws a box: below it the map's values do not fall into two classes.
// Separability alone does not make a region (uniform noise has 0.75), so
// the peak's region must also hold at least half the pixels above the
// threshold: one coherent region, not speckle.
const MinSeparability = 0.5

// BoxesBy boxes a map under a rule. The first box is the answer (fixed: the
// largest region, as the reference; otsu: the region holding the peak); with
// all, every other region that stands out follows (at least a fifth of the
// first one's area, and a peak at least halfway from the threshold to the
// first one's): one box per instance when two objects light up apart.
func (m *Map) BoxesBy(rule BoxRule, all bool) BoxResult {
	res := BoxResult{Rule: rule.String(), Threshold: rule.Threshold}
	if m.Flat {
		res.NoBox = "the map is flat (every window ranked the concept alike)"
		return res
	}
	t := float32(rule.Threshold)
	if rule.Mode == "otsu" {
		ot, eta := m.Otsu()
		res.Separability = eta
		t = max(ot, t)
		res.Threshold = float64(t)
		if eta < MinSeparability {
			res.NoBox = fmt.Sprintf("no clear region (separability %.2f < %.2f)", eta, MinSeparability)
			return res
		}
	}
	if rule.Mode == "rel" {
		med := median(m.V)
		t = med + float32(rule.Threshold)*(1-med) // min-max normalised: the peak is 1
		res.Threshold = float64(t)
	}
	regions := m.Regions(t)
	if len(regions) == 0 {
		res.NoBox = fmt.Sprintf("no region reaches the threshold %g", rule.Threshold)
		return res
	}
	first := 0
	if rule.Mode != "fixed" {
		px, py := m.Peak()
		for i, r := range regions {
			if px >= r.Box.X && px < r.Box.X+r.Box.W && py >= r.Box.Y && py < r.Box.Y+r.Box.H && r.Peak == m.V[py*m.W+px] {
				first = i
				break
			}
		}
	}
	if rule.Mode == "otsu" {
		above := 0
		for _, r := range regions {
			above += r.Area
		}
		if 2*regions[first].Area < above {
			res.NoBox = fmt.Sprintf("no clear region (the peak's region holds %d of %d pixels above the threshold)", regions[first].Area, above)
			return res
		}
	}
	res.Boxes = append(res.Boxes, regions[first].Box)
	if all {
		lead := regions[first]
		for i, r := range regions {
			if i != first && 5*r.Area >= lead.Area && r.Peak >= t+(lead.Peak-t)/2 {
				res.Boxes = append(res.Boxes, r.Box)
			}
		}
	}
	return res
}

// median is the middle value of v in [0, 1], to 1/4096 (a histogram:
// maps come at the input's resolution, millions of pixels); the
// background level of a map whose object covers less than half of it.
func median(v []float32) float32 {
	const bins = 4096
	var hist [bins]int
	for _, x := range v {
		hist[min(max(int(x*bins), 0), bins-1)]++
	}
	seen := 0
	for i, h := range hist {
		seen += h
		if 2*seen > len(v) {
			return (float32(i) + 0.5) / bins
		}
	}
	return 1
}
