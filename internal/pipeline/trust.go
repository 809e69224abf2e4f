package pipeline

import (
	"fmt"

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
