package compare

import (
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Tolerances say how far a current map may be from its baseline. A
// metric whose bound cannot be broken is not checked (a minimum correlation
// of −1, a minimum IoU of 0, a maximum of 1 diagonal or 1 in value).
type Tolerances struct {
	MinPearson   float64 `json:"min_pearson" yaml:"min_pearson"`
	MinSpearman  float64 `json:"min_spearman" yaml:"min_spearman"`
	MaxPeakShift float64 `json:"max_peak_shift" yaml:"max_peak_shift"` // of the image diagonal
	MinTopIoU    float64 `json:"min_top_iou" yaml:"min_top_iou"`
	MinBoxIoU    float64 `json:"min_box_iou" yaml:"min_box_iou"`
	MaxMAD       float64 `json:"max_mean_abs_diff" yaml:"max_mean_abs_diff"`
	TopK         float64 `json:"top_k" yaml:"top_k"` // share of pixels in the top mask
}

// DefaultTolerances are chosen from measurements (docs/ci-regression.md):
// every legitimate variation measured (threads, batch size, reruns) stays
// far inside them, and another model breaks them.
func DefaultTolerances() Tolerances {
	return Tolerances{MinPearson: 0.95, MinSpearman: -1, MaxPeakShift: 0.05, MinTopIoU: 0.5, MinBoxIoU: 0, MaxMAD: 1, TopK: 0.10}
}

// Validate checks the bounds' ranges. A NaN bound compares false with
// every value, so it would switch its check off: bounds must be finite.
func (t Tolerances) Validate() error {
	for _, b := range []struct {
		name string
		v    float64
	}{{"min_pearson", t.MinPearson}, {"min_spearman", t.MinSpearman}, {"max_peak_shift", t.MaxPeakShift}, {"min_top_iou", t.MinTopIoU},
		{"min_box_iou", t.MinBoxIoU}, {"max_mean_abs_diff", t.MaxMAD}, {"top_k", t.TopK}} {
		if math.IsNaN(b.v) || math.IsInf(b.v, 0) {
			return fmt.Errorf("%s (--%s) is %v: bounds must be finite numbers", b.name, strings.ReplaceAll(b.name, "_", "-"), b.v)
		}
	}
	switch {
	case t.MinPearson < -1 || t.MinPearson > 1 || t.MinSpearman < -1 || t.MinSpearman > 1:
		return fmt.Errorf("correlation bounds must be in [-1, 1]")
	case t.MaxPeakShift < 0 || t.MaxPeakShift > 1:
		return fmt.Errorf("the peak shift bound must be in [0, 1] (a share of the image diagonal)")
	case t.MinTopIoU < 0 || t.MinTopIoU > 1 || t.MinBoxIoU < 0 || t.MinBoxIoU > 1:
		return fmt.Errorf("IoU bounds must be in [0, 1]")
	case t.MaxMAD < 0 || t.MaxMAD > 1:
		return fmt.Errorf("the mean absolute difference bound must be in [0, 1]")
	case t.TopK <= 0 || t.TopK > 1:
		return fmt.Errorf("top-k must be in (0, 1]")
	}
	return nil
}

// Check lists the bounds a pair breaks.
func (t Tolerances) Check(m *Metrics) []string {
	var out []string
	below := func(name string, v, min float64) {
		if v < min || math.IsNaN(v) {
			out = append(out, fmt.Sprintf("%s %.4f < %.4g", name, v, min))
		}
	}
	above := func(name string, v, max float64) {
		if v > max || math.IsNaN(v) {
			out = append(out, fmt.Sprintf("%s %.4f > %.4g", name, v, max))
		}
	}
	below("pearson", m.Pearson, t.MinPearson)
	if t.MinSpearman > -1 {
		below("spearman", m.Spearman, t.MinSpearman)
	}
	if t.MaxPeakShift < 1 {
		above("peak_shift", m.PeakShift, t.MaxPeakShift)
	}
	if t.MinTopIoU > 0 {
		below(fmt.Sprintf("top%g%%_iou", t.TopK*100), m.TopIoU, t.MinTopIoU)
	}
	if t.MinBoxIoU > 0 {
		below("box_iou", m.BoxIoU, t.MinBoxIoU)
	}
	if t.MaxMAD < 1 {
		above("mean_abs_diff", m.MAD, t.MaxMAD)
	}
	return out
}

// toleranceFile is --tolerances: bounds over the flags', and per concept
// (synset name) over those.
type toleranceFile struct {
	Default  map[string]float64            `yaml:"default"`
	Concepts map[string]map[string]float64 `yaml:"concepts"`
}

// Apply sets bounds named as in a tolerance file (min_pearson, top_k…)
// over t; where names their source in errors.
func Apply(t Tolerances, m map[string]float64, where string) (Tolerances, error) {
	return apply(t, m, where)
}

func apply(t Tolerances, m map[string]float64, where string) (Tolerances, error) {
	fields := map[string]*float64{"min_pearson": &t.MinPearson, "min_spearman": &t.MinSpearman, "max_peak_shift": &t.MaxPeakShift,
		"min_top_iou": &t.MinTopIoU, "min_box_iou": &t.MinBoxIoU, "max_mean_abs_diff": &t.MaxMAD, "top_k": &t.TopK}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		dst, ok := fields[k]
		if !ok {
			return t, fmt.Errorf("%s: unknown bound %q (want min_pearson, min_spearman, max_peak_shift, min_top_iou, min_box_iou, max_mean_abs_diff or top_k)", where, k)
		}
		*dst = m[k]
	}
	if err := t.Validate(); err != nil {
		return t, fmt.Errorf("%s: %v", where, err)
	}
	return t, nil
}

// LoadTolerances reads a tolerance file (YAML or JSON):
//
//	default: {min_pearson: 0.9}
//	concepts:
//	  dog.n.01: {max_peak_shift: 0.1}
func LoadTolerances(path string, base Tolerances) (Tolerances, map[string]Tolerances, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return base, nil, &InputError{path, unwrap(err).Error()}
	}
	var f toleranceFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return base, nil, &InputError{path, "not a tolerance file: " + err.Error()}
	}
	t, err := apply(base, f.Default, "default")
	if err != nil {
		return base, nil, &InputError{path, err.Error()}
	}
	per := map[string]Tolerances{}
	for c, m := range f.Concepts {
		ct, err := apply(t, m, "concepts."+c)
		if err != nil {
			return base, nil, &InputError{path, err.Error()}
		}
		per[c] = ct
	}
	return t, per, nil
}
