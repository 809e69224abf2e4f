package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
)

// markPresence adds what the presence numbers say to an overlay's
// annotation: the legend shows them, and an absent-looking concept's
// picture is marked and its boxes drawn as --box-when-absent says.
func markPresence(a *render.Annotation, p *saliency.Presence, mode render.AbsentBox) {
	if p == nil {
		return
	}
	a.Presence = fmt.Sprintf("best rank of its subtree %d for the whole image, %d in a window", p.WholeImageRank, p.BestWindowRank)
	a.Absent = p.LooksAbsent
	a.AbsentBox = mode
	if mode == "" {
		a.AbsentBox = render.AbsentBoxDashed
	}
}

// topPairs adds the image's Top highest-ranked concepts (those not among
// Concepts already) to pr's pairs: the concepts by index, and the place of
// each added pair's concept in the ranking (1 = first).
func (r *Runner) topPairs(ctx context.Context, pr *prepared) ([]saliency.Concept, map[int]int, error) {
	ex := r.Explainer
	whole, err := ex.WholeImage(ctx, saliency.WholeView(pr.prep.Canvas))
	if err != nil {
		return nil, nil, err
	}
	top, err := ex.TopConcepts(ctx, pr.prep, r.Settings.Params, whole, r.Top)
	if err != nil {
		return nil, nil, err
	}
	all := append([]saliency.Concept(nil), r.Concepts...)
	asked := map[string]int{}
	for i, c := range all {
		asked[c.Synset.Name] = i
	}
	places := map[int]int{}
	h := ex.Index.H
	for n, t := range top {
		s := h.DB.Get(h.Nodes[t.Node])
		i, ok := asked[s.Name]
		if !ok {
			c, err := ex.Index.Concept(s.Name, s)
			if err != nil {
				return nil, nil, err
			}
			i = len(all)
			all = append(all, c)
			p := pair{concept: i, sidecar: SidecarPath(r.OutDir, pr.job, s.Name, r.Settings.Params.Method), template: r.template(pr.job, c)}
			p.prefix = strings.TrimSuffix(p.sidecar, ".json")
			pr.todo = append(pr.todo, p)
		}
		places[i] = n + 1
	}
	return all, places, nil
}
