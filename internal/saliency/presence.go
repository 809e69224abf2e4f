package saliency

import (
	"context"
	"fmt"
	"math"

	"github.com/convis/convis/internal/clip"
)

// ScoreMethod is how a whole image scores for a concept (convis score,
// eval ood, presence in explain).
type ScoreMethod string

const (
	// ScoreNaive is the cosine with the concept's own definition.
	ScoreNaive ScoreMethod = "naive"
	// ScoreHierarchy is the best cosine over the definitions of the
	// concept's subtree in T (the reference takes the subtree's leaves;
	// convis takes every synset of it, the concept included).
	ScoreHierarchy ScoreMethod = "hierarchy"
	// ScoreLemmas is the best cosine over the lemmas of the subtree.
	ScoreLemmas ScoreMethod = "lemmas"
	// ScoreRank is ConVis's patch score applied to the whole image: the
	// best rank of the subtree among all of T's prompts, as −rank.
	ScoreRank ScoreMethod = "rank"
)

// ScoreMethods lists them in the order reports show them.
var ScoreMethods = []ScoreMethod{ScoreNaive, ScoreHierarchy, ScoreLemmas, ScoreRank}

// ParseScoreMethod checks a method name.
func ParseScoreMethod(s string) (ScoreMethod, error) {
	for _, m := range ScoreMethods {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown score method %q (want naive, hierarchy, lemmas or rank)", s)
}

// WholeImage holds a unit image embedding's similarities to every prompt of
// an index, so that any number of concepts score from one product.
type WholeImage struct {
	ix   *ConceptIndex
	sims []float32
}

// NewWholeImage scores a unit image embedding against an index.
// emb must have ix.Dim values (WholeImage checks).
func NewWholeImage(ix *ConceptIndex, emb []float32) *WholeImage {
	w := &WholeImage{ix: ix, sims: make([]float32, ix.Len())}
	ix.Similarities(emb, w.sims)
	return w
}

// Naive is the cosine with the concept's own prompts (the best of them).
func (w *WholeImage) Naive(c Concept) float64 { return float64(OwnSimilarity(w.sims, c.Own)) }

// Best is the best cosine over the concept's subtree.
func (w *WholeImage) Best(c Concept) float64 {
	best := math.Inf(-1)
	for _, p := range c.Set {
		best = math.Max(best, float64(w.sims[p]))
	}
	return best
}

// Rank is the best rank (0 = first) of the concept's subtree among all
// prompts.
func (w *WholeImage) Rank(c Concept) int { return BestRank(w.sims, c.Set) }

// Presence says how present a concept looks in an image, for readers of a
// map: a map is always drawn, and a concept that is not in the image gets
// a confident-looking one all the same.
type Presence struct {
	Method         string  `json:"method"`           // "rank"
	WholeImageRank int     `json:"whole_image_rank"` // best rank of the subtree for the whole image (0 = first)
	BestWindowRank int     `json:"best_window_rank"` // the same over the map's windows
	Score          float64 `json:"score"`            // −whole_image_rank: higher is more present
	LooksAbsent    bool    `json:"looks_absent"`
	Rule           string  `json:"rule"`
	// What the rule weighs against chance (PresenceOf): how many prompts
	// the subtree holds of the vocabulary's, the chance that a subtree of
	// that size ranks as well for the whole image, and the share of the
	// map's windows that rank the subtree first against its chance.
	SubtreePrompts   int     `json:"subtree_prompts,omitempty"`
	VocabPrompts     int     `json:"vocab_prompts,omitempty"`
	WholeImageChance float64 `json:"whole_image_chance,omitempty"`
	WindowsFirst     float64 `json:"windows_first,omitempty"`
	WindowsChance    float64 `json:"windows_first_chance,omitempty"`
	WindowsLift      float64 `json:"windows_first_lift,omitempty"`
	// WindowsExcess is windows_first − windows_first_chance: how far the
	// share of windows ranking the subtree first exceeds what a subtree of
	// its size gets by chance; the rule's statistic (PresenceOf).
	WindowsExcess float64 `json:"windows_first_excess,omitempty"`
	// The same share and lift for the first 5 and first 10 prompts; the
	// chance that some window of the map ranks the subtree as well as its
	// best window does (best_window_rank's chance for one window, taken
	// over windows_scored windows as if independent); and the mean over
	// the windows of each window's chance of its best rank (about 0.5 for
	// a subtree ranked at random, near 0 where the image shows it).
	WindowsTop5        float64 `json:"windows_top5,omitempty"`
	WindowsTop5Chance  float64 `json:"windows_top5_chance,omitempty"`
	WindowsTop5Lift    float64 `json:"windows_top5_lift,omitempty"`
	WindowsTop10       float64 `json:"windows_top10,omitempty"`
	WindowsTop10Chance float64 `json:"windows_top10_chance,omitempty"`
	WindowsTop10Lift   float64 `json:"windows_top10_lift,omitempty"`
	WindowsScored      int     `json:"windows_scored,omitempty"`
	BestWindowChance   float64 `json:"best_window_chance,omitempty"`
	WindowsMeanChance  float64 `json:"windows_mean_chance,omitempty"`
}

// The absence rule, chosen from measurements on held-out benchmark scenes
// with the built-in model (docs/ood.md): a concept looks absent when the
// whole image ranks its subtree below the first AbsentWholeRank+1 prompts
// of T and no window ranks it better than AbsentWindowRank (0: first).
// Every object in the measured scenes had a window ranking it first.
const (
	AbsentWholeRank  = 10
	AbsentWindowRank = 0
)

// AbsenceRule describes the rule in words, for sidecars.
var AbsenceRule = fmt.Sprintf("looks absent when whole_image_rank > %d and best_window_rank > %d", AbsentWholeRank, AbsentWindowRank)

// NewPresence applies the rule.
func NewPresence(wholeRank, windowRank int) *Presence {
	return &Presence{Method: string(ScoreRank), WholeImageRank: wholeRank, BestWindowRank: windowRank, Score: float64(-wholeRank),
		LooksAbsent: wholeRank > AbsentWholeRank && windowRank > AbsentWindowRank, Rule: AbsenceRule}
}

// WholeImage embeds the whole image with the model's own preprocessing
// (one encoder pass) and scores it against the explainer's index.
func (e *Explainer) WholeImage(ctx context.Context, img *clip.RGB) (*WholeImage, error) {
	px := make([]float32, e.Pre.Config.InputValues())
	if err := e.Pre.Into(px, img); err != nil {
		return nil, err
	}
	var key string
	if e.Cache != nil {
		key = InputKey(e.ModelKey, px)
		if rows, ok := e.Cache.Get(key, 1); ok {
			return NewWholeImage(e.Index, rows[0]), nil
		}
	}
	emb, err := e.Encoder.EncodeImages(ctx, px, 1)
	if err != nil {
		return nil, err
	}
	emb = clip.Normalize(emb)
	if len(emb) != e.Index.Dim {
		return nil, &DimError{Image: len(emb), Text: e.Index.Dim}
	}
	if e.Cache != nil {
		if err := e.Cache.Put(key, [][]float32{emb}); err != nil {
			e.Cache.Warning(err)
		}
	}
	return NewWholeImage(e.Index, emb), nil
}
