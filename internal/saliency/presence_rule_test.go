package saliency

import (
	"math"
	"strings"
	"testing"
)

// The chance of a subtree's best rank grows with its size: rank 0 is a
// strong sign for 7 synsets of 7,080 and a weak one for 485.
func TestChanceOfBestAccountsForSubtreeSize(t *testing.T) {
	t.Parallel()
	if got, want := chanceOfBest(0, 1, 7080), 1.0/7080; math.Abs(got-want) > 1e-12 {
		t.Errorf("one prompt, rank 0: %g, want %g", got, want)
	}
	dog, animal := chanceOfBest(0, 7, 7080), chanceOfBest(0, 485, 7080)
	if !(dog < 0.001 && animal > 0.06 && animal < 0.07) {
		t.Errorf("rank 0: chance %g for 7 prompts, %g for 485; want < 0.001 and ≈ 0.066", dog, animal)
	}
	if got := chanceOfBest(7079, 3, 7080); got != 1 {
		t.Errorf("the last rank: chance %g, want 1", got)
	}
	for r := 1; r < 100; r++ {
		if chanceOfBest(r, 20, 7080) <= chanceOfBest(r-1, 20, 7080) {
			t.Fatalf("chance not increasing at rank %d", r)
		}
	}
}

// presenceOfRanks is PresenceOf for a concept of m prompts among T whose
// whole image ranks it wholeRank and whose windows rank it as in ranks.
func presenceOfRanks(m, T, wholeRank int, ranks []float64) *Presence {
	set := make([]int32, m)
	sims := make([]float32, T)
	for i := range set {
		set[i] = int32(T - 1 - i)
		sims[T-1-i] = -1
	}
	// wholeRank prompts outside the subtree above its best member.
	for i := 0; i < wholeRank; i++ {
		sims[i] = 1
	}
	sims[set[0]] = 0.5
	whole := &WholeImage{ix: &ConceptIndex{Owner: make([]int32, T)}, sims: sims}
	cm := ConceptMap{Concept: Concept{Set: set}, BestRank: math.MaxInt}
	encode := make([]int, len(ranks))
	for i := range encode {
		encode[i] = i
	}
	cm.countWindows(ranks, encode, T)
	return PresenceOf(whole, cm)
}

// The same windows say much more for a subtree of 7 synsets than for one
// of 485: the share of windows ranking a member among the first k is
// weighed against the chance a subtree of that size has.
func TestWindowStatisticsAccountForSubtreeSize(t *testing.T) {
	t.Parallel()
	// 100 windows: 10 rank the subtree first, 20 more among the first 5,
	// 10 more among the first 10, the rest at rank 500.
	ranks := make([]float64, 100)
	for i := range ranks {
		switch {
		case i < 10:
			ranks[i] = 0
		case i < 30:
			ranks[i] = 3
		case i < 40:
			ranks[i] = 7
		default:
			ranks[i] = 500
		}
	}
	dog := presenceOfRanks(7, 7080, 2, ranks)
	animal := presenceOfRanks(485, 7080, 2, ranks)
	if dog.WholeImageRank != 2 || dog.BestWindowRank != 0 || dog.WindowsScored != 100 {
		t.Fatalf("whole rank %d, best window %d, windows %d; want 2, 0, 100", dog.WholeImageRank, dog.BestWindowRank, dog.WindowsScored)
	}
	for _, c := range []struct {
		name        string
		share, lift float64
		want        float64
		chance      float64
	}{
		{"top 5 (dog)", dog.WindowsTop5, dog.WindowsTop5Lift, 0.30, chanceOfBest(4, 7, 7080)},
		{"top 10 (dog)", dog.WindowsTop10, dog.WindowsTop10Lift, 0.40, chanceOfBest(9, 7, 7080)},
		{"top 5 (animal)", animal.WindowsTop5, animal.WindowsTop5Lift, 0.30, chanceOfBest(4, 485, 7080)},
		{"top 10 (animal)", animal.WindowsTop10, animal.WindowsTop10Lift, 0.40, chanceOfBest(9, 485, 7080)},
	} {
		if math.Abs(c.share-c.want) > 1e-12 || math.Abs(c.lift-c.want/c.chance) > 1e-9 {
			t.Errorf("%s: share %g lift %g, want %g and %g", c.name, c.share, c.lift, c.want, c.want/c.chance)
		}
	}
	// 0.3 of windows in the first 5 is ~60× chance for 7 synsets and
	// about 1× (0.29) for 485.
	if !(dog.WindowsTop5Lift > 50 && animal.WindowsTop5Lift < 1.1) {
		t.Errorf("top-5 lift %g (7 synsets), %g (485); want > 50 and < 1.1", dog.WindowsTop5Lift, animal.WindowsTop5Lift)
	}
	if !(dog.WindowsMeanChance < animal.WindowsMeanChance/2) {
		t.Errorf("mean window chance %g (7 synsets) not well below %g (485)", dog.WindowsMeanChance, animal.WindowsMeanChance)
	}
	// The best window ranks first: over 100 windows that is likely for a
	// subtree of 485 by chance, and unlikely for one of 7.
	if !(dog.BestWindowChance < 0.1 && animal.BestWindowChance > 0.99) {
		t.Errorf("best window chance %g (7 synsets), %g (485); want < 0.1 and > 0.99", dog.BestWindowChance, animal.BestWindowChance)
	}
	if want := -math.Expm1(100 * math.Log1p(-chanceOfBest(0, 7, 7080))); math.Abs(dog.BestWindowChance-want) > 1e-12 {
		t.Errorf("best window chance %g, want %g", dog.BestWindowChance, want)
	}
}

// The rule: the same windows (7% of them rank the subtree first) make a
// subtree of 7 synsets present and one of 485 absent, whose chance of
// ranking first is 6.6%; a whole image ranking the subtree far above
// chance keeps it present.
func TestLooksAbsentWeighsExcessOverChance(t *testing.T) {
	t.Parallel()
	ranks := make([]float64, 100)
	for i := range ranks {
		ranks[i] = 300
		if i < 7 {
			ranks[i] = 0
		}
	}
	dog := presenceOfRanks(7, 7080, 50, ranks)
	animal := presenceOfRanks(485, 7080, 50, ranks)
	if math.Abs(dog.WindowsExcess-(0.07-chanceOfBest(0, 7, 7080))) > 1e-12 || math.Abs(animal.WindowsExcess-(0.07-chanceOfBest(0, 485, 7080))) > 1e-12 {
		t.Fatalf("excess %g (7 synsets), %g (485)", dog.WindowsExcess, animal.WindowsExcess)
	}
	if dog.LooksAbsent || !animal.LooksAbsent {
		t.Errorf("looks absent: %v for 7 synsets (excess %g), %v for 485 (excess %g); want false, true", dog.LooksAbsent, dog.WindowsExcess, animal.LooksAbsent, animal.WindowsExcess)
	}
	// One window of 2,920 ranking a single synset first is a lift of 2.4
	// (the previous rule's "present"), and an excess of 0.0002: absent.
	one := make([]float64, 2920)
	for i := range one {
		one[i] = 40
	}
	one[0] = 0
	if p := presenceOfRanks(1, 7080, 200, one); !p.LooksAbsent || p.WindowsLift < 2 {
		t.Errorf("one window of 2,920 first for one synset: looks absent %v (lift %g, excess %g); want true", p.LooksAbsent, p.WindowsLift, p.WindowsExcess)
	}
	// The whole image ranks the synset first: chance 1/7080 < 0.001,
	// present whatever the windows.
	if p := presenceOfRanks(1, 7080, 0, one); p.LooksAbsent {
		t.Errorf("whole image ranks the synset first (chance %g): looks absent", p.WholeImageChance)
	}
	if !strings.Contains(PresenceRule(), "windows_first_excess < 0.005") || !strings.Contains(PresenceRule(), "whole_image_chance > 0.001") {
		t.Errorf("rule in words: %q", PresenceRule())
	}
}
