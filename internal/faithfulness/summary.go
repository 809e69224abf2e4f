package faithfulness

import (
	"github.com/convis/convis/internal/ood"
	"github.com/convis/convis/internal/saliency"
)

// Summary is one method's measurements over a set of samples: means with
// 95% bootstrap intervals (1,000 seeded resamples of the samples, as eval
// localization resamples), and the mean curves.
type Summary struct {
	Method       string       `json:"method"`
	Level        string       `json:"concept_level"`
	Samples      int          `json:"samples"`
	DeletionAUC  ood.Interval `json:"deletion_auc"`  // lower: the map's first pixels are what the score needs
	InsertionAUC ood.Interval `json:"insertion_auc"` // higher: the map's first pixels bring the score back
	// AverageDrop is the mean of max(0, full − blended)/full over the
	// samples, and IncreaseInConfidence the share where blended > full
	// (Grad-CAM++), as fractions.
	AverageDrop          ood.Interval `json:"average_drop"`
	IncreaseInConfidence ood.Interval `json:"increase_in_confidence"`
	Fractions            []float64    `json:"fractions"`
	DeletionCurve        []float64    `json:"deletion_curve"`  // mean score at each fraction removed
	InsertionCurve       []float64    `json:"insertion_curve"` // mean score at each fraction restored
}

// Summarize bootstraps a method's results.
func Summarize(method, level string, rs []Result, steps int, seed uint64) Summary {
	s := Summary{Method: method, Level: level, Samples: len(rs), Fractions: Fractions(steps),
		DeletionCurve: make([]float64, steps+1), InsertionCurve: make([]float64, steps+1)}
	mean := func(f func(Result) float64) func([]int) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return saliency.MeanOf(v)
	}
	iv := func(f func(Result) float64, k uint64) ood.Interval {
		b := saliency.Bootstrap(len(rs), seed+k, mean(f))
		return ood.Interval{Value: b.Mean, Lo: b.Lo, Hi: b.Hi}
	}
	s.DeletionAUC = iv(func(r Result) float64 { return r.DeletionAUC }, 0)
	s.InsertionAUC = iv(func(r Result) float64 { return r.InsertionAUC }, 1)
	s.AverageDrop = iv(func(r Result) float64 { return r.Drop }, 2)
	s.IncreaseInConfidence = iv(func(r Result) float64 { return r.Increase }, 3)
	for _, r := range rs {
		for k := 0; k <= steps && k < len(r.Deletion); k++ {
			s.DeletionCurve[k] += r.Deletion[k] / float64(len(rs))
			s.InsertionCurve[k] += r.Insertion[k] / float64(len(rs))
		}
	}
	return s
}
