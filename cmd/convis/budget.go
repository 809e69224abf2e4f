package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/saliency"
)

// budgetPlanFlags are the flags that set what a --budget sets: given
// together with --budget they are a usage error, not a silent override, so
// that a sidecar's budget always means its documented plan.
var budgetPlanFlags = []string{"sizes", "stride", "refine", "refine-region", "refine-size", "refine-stride", "fine-windows", "preset"}

// addBudgetFlag is --budget, as explain and eval localization take it.
func addBudgetFlag(f *pflag.FlagSet, budget *string) {
	f.StringVar(budget, "budget", "", "window plan by cost (docs/budget.md): fast (grid every 32, refinement windows of 48: 360 passes on a square, 0.39× the default's; for large batches), default (today's map, 926 passes) or full (1,514 passes: refinement windows every 8; measured no better than default); not with --sizes, --stride, --refine*, --preset")
}

// addFineWindowsFlag is --fine-windows, as explain and eval localization
// take it.
func addFineWindowsFlag(f *pflag.FlagSet, n *int) {
	boundedIntVar(f, n, "fine-windows", 0, 0, maxPasses, "coarse-to-fine grid (docs/budget.md): after the grid at --stride, also encode the K windows of the grid at half the stride that it skips where neighbouring coarse windows' embeddings disagree most (the same for every concept, so cached maps of more concepts stay free); measured with the refinement's per-pixel percentile, which uneven coverage does not bias (--refine=false sums windows, so more-covered pixels weigh more); 0: none")
}

// fineWindows checks --fine-windows against the grid's stride, whose half
// places the candidates.
func fineWindows(n, stride int) (int, error) {
	if n > 0 && (stride < 2 || stride%2 != 0) {
		return 0, usageErrorf("--fine-windows needs an even --stride of 2 or more (its windows lie half a stride between the grid's), got --stride %d", stride)
	}
	return n, nil
}

// applyBudget sets p's window plan to the named budget's ("" leaves p as
// it is); flags (may be nil) says which flags were given.
func applyBudget(f *pflag.FlagSet, name string, method saliency.Method, p *saliency.Params) error {
	if name == "" {
		return nil
	}
	b := saliency.Budget(name)
	if _, err := b.Plan(); err != nil {
		return usageError{err}
	}
	if method != saliency.MethodGrid {
		return usageErrorf("--budget plans grid maps, not --method %s", method)
	}
	if f != nil {
		var given []string
		for _, n := range budgetPlanFlags {
			if f.Changed(n) {
				given = append(given, "--"+n)
			}
		}
		if len(given) > 0 {
			return usageErrorf("--budget and %s: give one (--budget %s is %s)", strings.Join(given, ", "), name, budgetFlags(b))
		}
	}
	return b.Apply(p)
}

// budgetFlags is the budget's plan as the flags that would give it.
func budgetFlags(b saliency.Budget) string {
	bp, _ := b.Plan()
	sizes := make([]string, len(bp.Sizes))
	for i, s := range bp.Sizes {
		sizes[i] = fmt.Sprint(s)
	}
	s := fmt.Sprintf("--sizes %s --stride %d --refine-size %d --refine-stride %d", strings.Join(sizes, ","), bp.Stride, bp.RefineSize, bp.RefineStride)
	if bp.FineWindows > 0 {
		s += fmt.Sprintf(" --fine-windows %d", bp.FineWindows)
	}
	return s
}
