package saliency

import (
	"context"
	"slices"
	"testing"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/clip/cliptest"
	"github.com/convis/convis/internal/wordnet"
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
		if b == BudgetDefault && (!slices.Equal(p.Sizes, def.Sizes) || p.Stride != def.Stride || p.FineWindows != 0 || *p.Refine != *def.Refine) {
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

// Embedding the prompts in order of length keeps each prompt's row where
// T's order puts it, and batches prompts of like lengths.
func TestBuildIndexByLength(t *testing.T) {
	t.Parallel()
	h, err := wordnet.MustLoad().LoadHierarchy(wordnet.VocabPaper)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	embed := cliptest.Texts(4)
	// spread measures each batch's padding: longest minus shortest prompt,
	// summed over the batches.
	spread := func(total *int) TextEmbedder {
		return func(ctx context.Context, texts []string, batch int) ([][]float32, error) {
			lo, hi := len(texts[0]), len(texts[0])
			for _, s := range texts {
				lo, hi = min(lo, len(s)), max(hi, len(s))
			}
			*total += hi - lo
			return embed(ctx, texts, batch)
		}
	}
	var inOrder, byLength int
	plain, err := BuildIndex(ctx, h, PromptDefinitions, spread(&inOrder), 256, nil)
	if err != nil {
		t.Fatal(err)
	}
	sorted, err := BuildIndexByLength(ctx, h, PromptDefinitions, spread(&byLength), 256, func(s string) int { return len(s) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plain.Emb, sorted.Emb) || !slices.Equal(plain.Owner, sorted.Owner) {
		t.Fatal("rows moved: the index by length differs from T's order")
	}
	if byLength*5 > inOrder {
		t.Errorf("batches by length span %d characters in all, in T's order %d", byLength, inOrder)
	}
}
