package ood

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Values computed by hand.
func TestMetricsByHand(t *testing.T) {
	// Positives {3, 2, 2}, negatives {2, 1}: pairs (3>2, 3>1, 2=2 ½, 2>1, 2=2 ½, 2>1) → 5/6.
	pos, neg := []float64{3, 2, 2}, []float64{2, 1}
	if got := AUROC(pos, neg); !near(got, 5.0/6) {
		t.Errorf("AUROC %v, want 5/6", got)
	}
	// Thresholds, highest first: 3 → tp 1 fp 0; 2 → tp 3 fp 1; 1 → tp 3 fp 2.
	// AP = (1/3)·1 + (2/3)·(3/4) = 5/6.
	if got := AUPR(pos, neg); !near(got, 5.0/6) {
		t.Errorf("AUPR %v, want 5/6", got)
	}
	// 95% of the positives needs threshold 2, where 1 of 2 negatives passes.
	if got := FPR95(pos, neg); !near(got, 0.5) {
		t.Errorf("FPR95 %v, want 0.5", got)
	}
	// Perfect separation, and all tied.
	if AUROC([]float64{2, 3}, []float64{0, 1}) != 1 || AUPR([]float64{2, 3}, []float64{0, 1}) != 1 || FPR95([]float64{2, 3}, []float64{0, 1}) != 0 {
		t.Error("perfect separation")
	}
	if got := AUROC([]float64{1, 1}, []float64{1, 1, 1}); !near(got, 0.5) {
		t.Errorf("all tied: AUROC %v", got)
	}
	if got := FPR95([]float64{1, 1}, []float64{1, 1, 1}); got != 1 {
		t.Errorf("all tied: FPR95 %v", got)
	}
}

func TestBootstrapIsSeeded(t *testing.T) {
	pos := []float64{0.9, 0.8, 0.75, 0.6, 0.4, 0.95, 0.7}
	neg := []float64{0.5, 0.3, 0.65, 0.2, 0.1, 0.55}
	a := Bootstrap(pos, neg, 7, AUROC)
	b := Bootstrap(pos, neg, 7, AUROC)
	c := Bootstrap(pos, neg, 8, AUROC)
	if a != b {
		t.Fatalf("same seed, other intervals: %v %v", a, b)
	}
	if a == c {
		t.Error("another seed gave the same interval")
	}
	if !(a.Lo <= a.Value && a.Value <= a.Hi) || a.Lo < 0 || a.Hi > 1 {
		t.Errorf("interval %v", a)
	}
}
