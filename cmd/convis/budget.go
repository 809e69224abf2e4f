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
var budgetPlanFlags = []string{"sizes", "stride", "refine", "refine-region", "refine-size", "refine-stride", "preset"}

// addBudgetFlag is --budget, as explain and eval localization take it.
func addBudgetFlag(f *pflag.FlagSet, budget *string) {
	f.StringVar(budget, "budget", "", "window plan by cost (docs/budget.md): fast (grid every 32, refinement windows of 48: 360 passes on a square, 0.39× the default's; for large batches), default (today's map, 926 passes) or full (1,514 passes: refinement windows every 8; measured no better than default); not with --sizes, --stride, --refine*, --preset")
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
	return fmt.Sprintf("--sizes %s --stride %d --refine-size %d --refine-stride %d", strings.Join(sizes, ","), bp.Stride, bp.RefineSize, bp.RefineStride)
}
