// Package ood measures how well a score separates images of a concept
// (in-distribution, positives) from images of another (out-of-distribution,
// negatives), as the ConVis paper's out-of-distribution experiment does:
// AUROC, AUPR and the false-positive rate at 95% true-positive rate, with
// seeded bootstrap intervals.
package ood

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

type item struct {
	v   float64
	pos bool
}

// merged is both sets, labelled, sorted by score (ascending).
func merged(pos, neg []float64) []item {
	all := make([]item, 0, len(pos)+len(neg))
	for _, v := range pos {
		all = append(all, item{v, true})
	}
	for _, v := range neg {
		all = append(all, item{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	return all
}

// AUROC is the Mann–Whitney statistic: the probability that a random
// positive scores above a random negative, ties counting one half.
func AUROC(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	all := merged(pos, neg)
	// Sum of the positives' ranks (1-based, ties share their mean rank).
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j+1 < len(all) && all[j+1].v == all[i].v {
			j++
		}
		mean := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			if all[k].pos {
				rankSum += mean
			}
		}
		i = j + 1
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}

// thresholds lists the distinct scores, highest first, with the counts of
// positives and negatives at or above each (the points of the curves).
func thresholds(pos, neg []float64) (tp, fp []float64) {
	all := merged(pos, neg)
	slices.Reverse(all) // highest first
	var t, f float64
	for i := 0; i < len(all); {
		j := i
		for ; j < len(all) && all[j].v == all[i].v; j++ {
			if all[j].pos {
				t++
			} else {
				f++
			}
		}
		tp, fp = append(tp, t), append(fp, f)
		i = j
	}
	return tp, fp
}

// AUPR is the area under the precision–recall curve with the positives as
// the class to find, as average precision: the precision at each distinct
// threshold weighted by the recall it adds (ties enter together).
func AUPR(pos, neg []float64) float64 {
	if len(pos) == 0 {
		return math.NaN()
	}
	tp, fp := thresholds(pos, neg)
	var ap, prevRecall float64
	for i := range tp {
		recall := tp[i] / float64(len(pos))
		precision := tp[i] / (tp[i] + fp[i])
		ap += (recall - prevRecall) * precision
		prevRecall = recall
	}
	return ap
}

// FPR95 is the share of negatives scoring at or above the highest
// threshold that keeps at least 95% of the positives.
func FPR95(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	tp, fp := thresholds(pos, neg)
	for i := range tp {
		if tp[i]/float64(len(pos)) >= 0.95 {
			return fp[i] / float64(len(neg))
		}
	}
	return 1
}

// Interval is a statistic with its 95% bootstrap interval.
type Interval struct {
	Value float64 `json:"value"`
	Lo    float64 `json:"ci95_lo"`
	Hi    float64 `json:"ci95_hi"`
}

// Bootstrap resamples positives and negatives separately (each set keeps
// its size) 1,000 times with a seeded generator and returns the statistic
// on the data with the 2.5 and 97.5 percentiles of the resamples.
func Bootstrap(pos, neg []float64, seed uint64, stat func(pos, neg []float64) float64) Interval {
	out := Interval{Value: stat(pos, neg)}
	if len(pos) == 0 || len(neg) == 0 {
		out.Lo, out.Hi = math.NaN(), math.NaN()
		return out
	}
	rng := rand.New(rand.NewPCG(seed, 0x6f6f64)) // "ood"
	const rounds = 1000
	vals := make([]float64, 0, rounds)
	p, n := make([]float64, len(pos)), make([]float64, len(neg))
	for r := 0; r < rounds; r++ {
		for i := range p {
			p[i] = pos[rng.IntN(len(pos))]
		}
		for i := range n {
			n[i] = neg[rng.IntN(len(neg))]
		}
		if v := stat(p, n); !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	sort.Float64s(vals)
	if len(vals) == 0 {
		return out
	}
	out.Lo = vals[int(0.025*float64(len(vals)-1)+0.5)]
	out.Hi = vals[int(0.975*float64(len(vals)-1)+0.5)]
	return out
}
