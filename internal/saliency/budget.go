package saliency

import (
	"fmt"
	"slices"
)

// Budget names a grid window plan by its cost (`--budget`): the Pareto
// points of quality against encoder passes measured in docs/budget.md.
type Budget string

const (
	BudgetFast    Budget = "fast"    // the documented choice for large batches
	BudgetDefault Budget = "default" // today's default map, bit for bit
	BudgetFull    Budget = "full"    // more passes, for the closest map
)

// Budgets are the names --budget takes, cheapest first.
var Budgets = []Budget{BudgetFast, BudgetDefault, BudgetFull}

// BudgetPlan is what a budget means: the grid's window sizes and stride and
// the image region's refinement windows (the other refinement numbers are
// DefaultRefine's).
type BudgetPlan struct {
	Sizes        []int
	Stride       int
	RefineSize   int
	RefineStride int
	FineWindows  int // coarse-to-fine windows (Params.FineWindows; 0: none)
}

// Plan is the budget's window plan; an unknown name is an error.
func (b Budget) Plan() (BudgetPlan, error) {
	dr := DefaultRefine()
	def := DefaultParams()
	switch b {
	case BudgetDefault:
		return BudgetPlan{Sizes: def.Sizes, Stride: def.Stride, RefineSize: dr.Size, RefineStride: dr.Stride}, nil
	case BudgetFast:
		// Every other corner of both grids: a quarter of their windows
		// (164 of 730 on a square), and 196 refinement windows of 48
		// instead of 32, which make up for the sparser grid's noisier
		// percentile (docs/budget.md: the pointing game of windows of 32
		// fell 0.057 on the squares' parents, of 48 0.019).
		return BudgetPlan{Sizes: []int{128, 64}, Stride: 32, RefineSize: 48, RefineStride: dr.Stride}, nil
	case BudgetFull:
		// The default grid, with small windows every 8 pixels (784 on a
		// square instead of 196).
		return BudgetPlan{Sizes: def.Sizes, Stride: def.Stride, RefineSize: dr.Size, RefineStride: 8}, nil
	}
	return BudgetPlan{}, fmt.Errorf("--budget %q: want fast, default or full", string(b))
}

// Apply sets p's grid plan and refinement to the budget's (the image
// region's refinement, the default map's other numbers).
func (b Budget) Apply(p *Params) error {
	bp, err := b.Plan()
	if err != nil {
		return err
	}
	p.Sizes, p.Stride, p.FineWindows = slices.Clone(bp.Sizes), bp.Stride, bp.FineWindows
	rp := DefaultRefine()
	rp.Size, rp.Stride = bp.RefineSize, bp.RefineStride
	p.Refine = &rp
	return nil
}
