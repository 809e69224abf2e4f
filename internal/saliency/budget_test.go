package saliency

import (
	"slices"
	"testing"

	"github.com/convis/convis/internal/clip"
)

// The budgets' plans on a square: default is the default map's windows and
// refinement exactly; fast ≤ 0.4× its passes; full more.
func TestBudgetPlans(t *testing.T) {
	t.Parallel()
	img := &clip.RGB{W: 224, H: 224, Pix: make([]uint8, 224*224*3)}
	c, err := NewCanvas(img, DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	passes := func(p Params) int {
		w, err := GridPlan(c, p.Sizes, p.Stride, true)
		if err != nil {
			t.Fatal(err)
		}
		return len(w) + len(FineWindows(c, *p.Refine))
	}
	want := map[Budget]int{BudgetFast: 360, BudgetDefault: 926, BudgetFull: 1514}
	def := DefaultParams()
	dr := DefaultRefine()
	def.Refine = &dr
	for _, b := range Budgets {
		p := DefaultParams()
		if err := b.Apply(&p); err != nil {
			t.Fatal(err)
		}
		if got := passes(p); got != want[b] {
			t.Errorf("%s: %d passes on a square, want %d", b, got, want[b])
		}
		if b == BudgetDefault && (!slices.Equal(p.Sizes, def.Sizes) || p.Stride != def.Stride || *p.Refine != *def.Refine) {
			t.Errorf("default budget %+v %+v is not the default map's plan %+v %+v", p, *p.Refine, def, *def.Refine)
		}
	}
	if float64(want[BudgetFast]) > 0.4*float64(want[BudgetDefault]) {
		t.Errorf("fast is over 0.4× the default's passes")
	}
	if err := Budget("cheap").Apply(&def); err == nil {
		t.Error("an unknown budget was accepted")
	}
}
