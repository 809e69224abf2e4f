package saliency

import (
	"math"
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
