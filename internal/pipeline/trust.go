package pipeline

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/convis/convis/internal/atomicfile"
	"github.com/convis/convis/internal/record"

	"github.com/convis/convis/internal/clip"

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

// writeVersus writes the concept's contrastive maps (STEM.SYNSET.vs.OTHER.map.npy
// and .overlay.png, with a diverging colormap) and summarises them.
func (r *Runner) writeVersus(files *atomicfile.Group, p pair, cm saliency.ConceptMap, img *clip.RGB) ([]record.VersusInfo, error) {
	s := r.Settings
	var out []record.VersusInfo
	for _, vm := range cm.Versus {
		m := vm.Map
		info := record.VersusInfo{Concept: vm.Other.Synset.Name, Max: math.Inf(-1), Min: math.Inf(1), Outputs: map[string]string{}}
		pos := 0
		for i, v := range m.V {
			f := float64(v)
			if f > info.Max {
				info.Max, info.Peak = f, [2]int{i % m.W, i / m.W}
			}
			if f < info.Min {
				info.Min, info.Trough = f, [2]int{i % m.W, i / m.W}
			}
			if f > 0 {
				pos++
			}
		}
		info.Mean, info.PositiveShare = m.MeanValue(), float64(pos)/float64(max(1, len(m.V)))
		prefix := p.prefix + ".vs." + SafeName(vm.Other.Synset.Name)
		if s.wants("npy") {
			path := prefix + ".map.npy"
			if err := files.Add(path, func(w io.Writer) error { return render.EncodeNPY(w, m.V, m.W, m.H) }); err != nil {
				return nil, err
			}
			info.Outputs["npy"] = path
		}
		if s.wants("overlay") {
			shown := make([]float32, len(m.V))
			for i, v := range m.V {
				shown[i] = (v + 1) / 2 // [−1, 1] onto the colormap's [0, 1]
			}
			ov := render.Overlay(img, shown, render.OverlayOptions{Style: render.StyleHeatmap, Colormap: render.Diverging, Alpha: max(s.Alpha, 0.6)})
			ov = render.Annotate(ov, render.Annotation{Label: ConceptLabel(cm.Concept) + " vs " + ConceptLabel(vm.Other),
				Footer: fmt.Sprintf("ConVis contrast of ranks · %s · %s", modelLabel(r.Model), seedsLabel(s.Params)),
				Style:  render.StyleHeatmap, Colormap: render.Diverging,
				Scale: &[3]string{vm.Other.Query, "neither", cm.Concept.Query}})
			path := prefix + ".overlay.png"
			if err := files.Add(path, func(w io.Writer) error { return png.Encode(w, ov) }); err != nil {
				return nil, err
			}
			info.Outputs["overlay"] = path
		}
		out = append(out, info)
	}
	return out, nil
}

// relVersus is vs with output paths relative to dir, for the sidecar.
func relVersus(vs []record.VersusInfo, dir string) []record.VersusInfo {
	out := make([]record.VersusInfo, len(vs))
	for i, v := range vs {
		v.Outputs = map[string]string{}
		for k, path := range vs[i].Outputs {
			if rel, err := filepath.Rel(dir, path); err == nil {
				path = rel
			}
			v.Outputs[k] = filepath.ToSlash(path)
		}
		out[i] = v
	}
	return out
}
