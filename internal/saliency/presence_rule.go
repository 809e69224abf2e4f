package saliency

import (
	"fmt"
	"math"
)

// A subtree of 485 synsets (animal) has some member near the top of a
// ranking by chance far more often than one of 7 (dog): a rule on raw
// ranks flags small subtrees and never large ones. PresenceOf weighs each
// statistic against what a subtree of the concept's size gets by chance,
// if its m prompts were m random draws among the vocabulary's T:
//
//   - whole_image_chance = 1 − (1 − (R+1)/T)^m, the chance that the best
//     of m random ranks is R or better, R the whole image's best rank;
//   - windows_first_excess = windows_first − windows_first_chance, the
//     share of the map's windows that rank some member first less its
//     chance 1 − (1 − 1/T)^m.
//
// The concept looks absent when its windows rank it first hardly more
// often than chance would (excess < PresenceMinExcess) and the whole
// image ranks it no better than chance would (whole_image_chance >
// PresenceMaxChance: a concept the whole image ranks far above chance is
// never called absent). A difference, not the ratio windows_first_lift:
// for a subtree of 1 to 3 synsets one window of thousands ranking it first
// is a lift of 2 or more, and the ratio called such concepts present.
// The thresholds are fitted on 144 benchmark scenes (8 single-object, 100
// multi-object, 36 non-square) with the built-in model at explain's
// default of 8 seeds and measured on 84 scenes never used before
// (docs/trust.md, scripts/presence_calibration.py). The fit on the first
// 32 of them gave an excess of 0.01, whose parents' false-absent was 5.5%
// on 84 fresh scenes.
var (
	PresenceMaxChance = 0.001
	PresenceMinExcess = 0.005
)

// PresenceRule describes the rule in words, for sidecars.
func PresenceRule() string {
	return fmt.Sprintf("looks absent when windows_first_excess < %g and whole_image_chance > %g (windows_first_excess = windows_first − windows_first_chance; chance: a subtree of the same size ranked at random)", PresenceMinExcess, PresenceMaxChance)
}

// PresenceOf is how present the concept of cm looks in an image, from the
// whole image's ranking and the map's windows.
func PresenceOf(whole *WholeImage, cm ConceptMap) *Presence {
	c := cm.Concept
	T, m := whole.ix.Len(), len(c.Set)
	R := whole.Rank(c)
	p := &Presence{Method: string(ScoreRank), WholeImageRank: R, BestWindowRank: cm.BestRank, Score: float64(-R),
		SubtreePrompts: m, VocabPrompts: T}
	p.WholeImageChance = chanceOfBest(R, m, T)
	p.WindowsChance = chanceOfBest(0, m, T)
	if cm.WindowsScored > 0 {
		p.WindowsFirst = float64(cm.WindowsFirst) / float64(cm.WindowsScored)
		p.WindowsLift = p.WindowsFirst / p.WindowsChance
		p.WindowsExcess = p.WindowsFirst - p.WindowsChance
		n := float64(cm.WindowsScored)
		p.WindowsScored = cm.WindowsScored
		p.WindowsTop5Chance = chanceOfBest(4, m, T)
		p.WindowsTop5 = float64(cm.WindowsTop5) / n
		p.WindowsTop5Lift = p.WindowsTop5 / p.WindowsTop5Chance
		p.WindowsTop10Chance = chanceOfBest(9, m, T)
		p.WindowsTop10 = float64(cm.WindowsTop10) / n
		p.WindowsTop10Lift = p.WindowsTop10 / p.WindowsTop10Chance
		// 1 − (1 − c)^n without losing c ≪ 1/n to rounding.
		c := chanceOfBest(cm.BestRank, m, T)
		p.BestWindowChance = -math.Expm1(n * math.Log1p(-c))
		p.WindowsMeanChance = cm.WindowsChanceSum / n
	}
	p.LooksAbsent = p.WindowsExcess < PresenceMinExcess && p.WholeImageChance > PresenceMaxChance
	p.Rule = PresenceRule()
	return p
}

// chanceOfBest is the chance that the best of m ranks drawn at random
// among T (without ties) is r or better: 1 − (1 − (r+1)/T)^m, the draws
// taken as independent (close for m ≪ T; it errs towards chance).
func chanceOfBest(r, m, T int) float64 {
	if T <= 0 || m <= 0 {
		return 1
	}
	q := 1 - float64(r+1)/float64(T)
	if q <= 0 {
		return 1
	}
	return -math.Expm1(float64(m) * math.Log(q))
}
