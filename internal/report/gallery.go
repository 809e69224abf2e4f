package report

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
)

// Progress is told of cells done out of the total.
type Progress func(done, total int)

// Gallery builds the page of explain output folders: a row per image, a
// column per concept (and method, when a folder holds several), each cell
// the overlay's thumbnail; the raw map in its colour scale and the
// original image open on a click. A pair whose files cannot be read (a
// missing overlay, a damaged map or sidecar) is listed among the failures
// instead of a cell; the run logs' failed images are listed too, their torn
// lines skipped and counted in p.Warnings. Pairs are visited in a fixed
// order (folder, image, concept, method), so one folder always gives the
// same page.
func Gallery(dirs []string, w *Writer, progress Progress) (*Page, error) {
	type item struct {
		dir         int
		rel, column string
		e           *compare.Entry
	}
	var items []item
	methods := map[string]bool{}
	p := &Page{Title: "convis report", Header: map[string]string{}}
	var first *record.Sidecar
	torn := 0
	for di, d := range dirs {
		entries, bad, err := compare.CollectAll(d)
		if err != nil {
			return nil, err
		}
		for _, b := range bad {
			p.Failures = append(p.Failures, Failure{Name: b.Path, Error: b.Msg})
		}
		for _, e := range entries {
			methods[e.Method] = true
			items = append(items, item{dir: di, rel: e.Rel, e: e})
		}
		s, err := record.Summarize([]string{d})
		switch {
		case errors.Is(err, record.ErrNoRunLog):
			// Maps made elsewhere (goldens, another tool): no failures known.
		case err != nil:
			return nil, err
		default:
			for _, f := range s.Failures {
				p.Failures = append(p.Failures, Failure{Name: f.Rel + " " + f.Concept, Error: f.Error})
			}
			for _, t := range s.Torn {
				p.Warnings = append(p.Warnings, t.String())
			}
			torn += len(s.Torn)
		}
	}
	if len(items) == 0 {
		if len(p.Failures) > 0 {
			return nil, fmt.Errorf("%s: no readable maps (%s: %s)", strings.Join(dirs, ", "), p.Failures[0].Name, p.Failures[0].Error)
		}
		return nil, fmt.Errorf("no maps in %s", strings.Join(dirs, ", "))
	}
	for i := range items {
		it := &items[i]
		it.column = it.e.Concept
		if len(methods) > 1 {
			it.column += " · " + it.e.Method
		}
	}
	sort.Slice(items, func(a, b int) bool {
		x, y := items[a], items[b]
		if x.dir != y.dir {
			return x.dir < y.dir
		}
		if x.rel != y.rel {
			return x.rel < y.rel
		}
		return x.column < y.column
	})
	rows := map[string]*Row{}
	columns := map[string]bool{}
	for i := range items {
		it := &items[i]
		if progress != nil {
			progress(i+1, len(items))
		}
		sc := it.e.Parsed
		if sc == nil {
			p.Failures = append(p.Failures, Failure{Name: it.rel + " " + it.column, Error: it.e.NPY + ": a map without a sidecar cannot be shown"})
			continue
		}
		cell, err := galleryCell(w, it.e, sc, it.column)
		if err != nil {
			p.Failures = append(p.Failures, Failure{Name: it.rel + " " + it.column, Error: err.Error()})
			continue
		}
		if first == nil {
			first = sc
		}
		columns[it.column] = true
		r, ok := rows[it.rel]
		if !ok {
			r = &Row{Name: it.rel}
			rows[it.rel] = r
		}
		r.Cells = append(r.Cells, cell)
		p.HasPresence = p.HasPresence || sc.Presence != nil
	}
	if first == nil {
		return nil, fmt.Errorf("%s: no map could be shown (%s: %s)", strings.Join(dirs, ", "), p.Failures[0].Name, p.Failures[0].Error)
	}
	for _, r := range rows {
		p.Rows = append(p.Rows, *r)
	}
	sort.Slice(p.Rows, func(a, b int) bool { return p.Rows[a].Name < p.Rows[b].Name })
	for c := range columns {
		p.Columns = append(p.Columns, c)
	}
	sort.Strings(p.Columns)
	cmapName := "turbo"
	if c, ok := first.Params["colormap"].(string); ok {
		cmapName = c
	}
	cmap, err := render.LookupColormap(cmapName)
	if err != nil {
		cmap = render.Colormaps["turbo"]
	}
	p.Colormap = ColormapCSS(cmap)
	h := p.Header
	h["model"] = fmt.Sprintf("%s (%.12s, %s)", nameOr(first.Model.Name, first.Model.Path), first.Model.SHA256, first.Model.Variant)
	h["method"] = strings.Join(slices.Sorted(maps.Keys(methods)), ", ")
	h["prompts"] = first.Prompts + " over " + first.Vocab
	h["parameters"] = params(first.Params)
	h["seed"] = fmt.Sprint(first.Seed)
	h["images"] = fmt.Sprint(len(p.Rows))
	h["failures"] = fmt.Sprint(len(p.Failures))
	h["folders"] = strings.Join(dirs, ", ")
	if torn > 0 {
		h["torn run log lines"] = fmt.Sprintf("%d skipped", torn)
	}
	return p, nil
}

func nameOr(name, path string) string {
	if name != "" {
		return name
	}
	return path
}

func params(m map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func galleryCell(w *Writer, e *compare.Entry, sc *record.Sidecar, column string) (Cell, error) {
	c := Cell{Column: column, Title: fmt.Sprintf("%s (%s): %s", sc.Concept.Query, sc.Concept.Synset, sc.Concept.Definition)}
	if pr := sc.Presence; pr != nil {
		c.Presence = pr.Score
		c.Title += fmt.Sprintf(" · whole-image rank %d, best window rank %d", pr.WholeImageRank, pr.BestWindowRank)
		if pr.LooksAbsent {
			c.Note = "looks absent"
		}
	}
	if sc.Box != nil {
		c.Box = fmt.Sprintf("box %d,%d %d×%d", sc.Box.X, sc.Box.Y, sc.Box.W, sc.Box.H)
	} else if c.Note == "" {
		c.Note = "no box"
	}
	if ov, ok := sc.OutputPath(e.Sidecar, "overlay"); ok {
		im, err := readPNG(ov)
		if err != nil {
			return c, err
		}
		if c.Thumb, err = w.Image(Thumb(im, ThumbWidth), e.Rel+"."+column+".thumb"); err != nil {
			return c, err
		}
		c.Full = w.Link(ov)
		if w.Embed || c.Full == "" {
			c.Full = c.Thumb
		}
	}
	if npy, ok := sc.OutputPath(e.Sidecar, "npy"); ok {
		v, mw, mh, err := render.ReadNPY(npy)
		if err != nil {
			return c, err
		}
		cm, err := render.LookupColormap(fmt.Sprint(sc.Params["colormap"]))
		if err != nil {
			cm = render.Colormaps["turbo"]
		}
		mapIm := MapImage(v, mw, mh, cm)
		if c.Map, err = w.Image(Thumb(mapIm, 440), e.Rel+"."+column+".map"); err != nil {
			return c, err
		}
		if c.Thumb == "" {
			c.Thumb, c.Full = c.Map, c.Map
		}
	}
	if c.Thumb == "" {
		return c, fmt.Errorf("%s: the sidecar lists neither an overlay nor a map", e.Sidecar)
	}
	c.Original = w.Link(sc.Image)
	return c, nil
}

// MapImage draws a map's values in a colormap.
func MapImage(v []float32, w, h int, cm render.Colormap) *image.NRGBA {
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, x := range v {
		if math.IsNaN(float64(x)) {
			continue
		}
		c := cm(float64(x))
		im.Pix[4*i], im.Pix[4*i+1], im.Pix[4*i+2], im.Pix[4*i+3] = c.R, c.G, c.B, 255
	}
	return im
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // an *fs.PathError: it names the file
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return im, nil
}

// presenceFact is a sidecar's presence in a few words: the mark, then the
// statistics the rule weighs.
func presenceFact(pr *saliency.Presence) string {
	mark := "present"
	if pr.LooksAbsent {
		mark = "looks absent"
	}
	return fmt.Sprintf("%s (whole-image rank %d, best window rank %d, score %.3f)", mark, pr.WholeImageRank, pr.BestWindowRank, pr.Score)
}

// Comparison builds the page of a comparison (compare --html): a row per
// pair, worst first, with baseline | current | difference and the metrics,
// and each side's presence (the "looks absent" mark as convis report
// shows it).
func Comparison(res *compare.Result, w *Writer) (*Page, error) {
	p := &Page{Title: "convis compare: " + res.Baseline + " → " + res.Current, Compare: true, Sort: "name",
		Columns: []string{"baseline", "current", "difference"}, Header: map[string]string{}}
	turbo, inferno := render.Colormaps["turbo"], render.Colormaps["inferno"]
	p.Colormap = ColormapCSS(turbo)
	for i, pr := range res.Pairs {
		name := fmt.Sprintf("%04d %s %s", i+1, pr.Rel, pr.Concept) // worst first, kept by the name order
		row := Row{Name: name, Bad: pr.Failed(), Facts: map[string]string{}}
		if pr.Metrics == nil {
			row.Facts["missing in"] = pr.Missing
			p.Rows = append(p.Rows, row)
			continue
		}
		m := pr.Metrics
		row.Facts["pearson"] = fmt.Sprintf("%.4f", m.Pearson)
		row.Facts["spearman"] = fmt.Sprintf("%.4f", m.Spearman)
		row.Facts["peak shift"] = fmt.Sprintf("%.1f%% (%.0f px)", 100*m.PeakShift, m.PeakShiftPx)
		row.Facts["top-k IoU"] = fmt.Sprintf("%.3f", m.TopIoU)
		row.Facts["box IoU"] = fmt.Sprintf("%.3f", m.BoxIoU)
		row.Facts["mean abs diff"] = fmt.Sprintf("%.4f", m.MAD)
		if len(pr.Failures) > 0 {
			row.Facts["broken"] = strings.Join(pr.Failures, "; ")
		}
		sa, sb := pr.Sidecars()
		sides := map[string]*record.Sidecar{"baseline": sa, "current": sb}
		for _, side := range []string{"baseline", "current"} {
			if sc := sides[side]; sc != nil && sc.Presence != nil {
				row.Facts["presence ("+side+")"] = presenceFact(sc.Presence)
			}
		}
		a, b := pr.Maps()
		diff := make([]float32, len(a.V))
		for k := range diff {
			diff[k] = float32(math.Abs(float64(a.V[k] - b.V[k])))
		}
		for _, part := range []struct {
			col string
			v   []float32
			cm  render.Colormap
		}{{"baseline", a.V, turbo}, {"current", b.V, turbo}, {"difference", diff, inferno}} {
			im := MapImage(part.v, a.W, a.H, part.cm)
			full, err := w.Image(Thumb(im, 440), name+"."+part.col)
			if err != nil {
				return nil, err
			}
			thumb, err := w.Image(Thumb(im, ThumbWidth), name+"."+part.col+".thumb")
			if err != nil {
				return nil, err
			}
			cell := Cell{Column: part.col, Title: pr.Key, Thumb: thumb, Full: full, Map: full, Bad: pr.Failed() && part.col == "difference"}
			if sc := sides[part.col]; sc != nil && sc.Presence != nil {
				// As convis report marks a cell: the map of an
				// absent-looking concept is no finding.
				cell.Presence = sc.Presence.Score
				if sc.Presence.LooksAbsent {
					cell.Note = "looks absent"
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		p.Rows = append(p.Rows, row)
	}
	p.Header["pairs"] = fmt.Sprint(len(res.Pairs))
	p.Header["outside tolerance"] = fmt.Sprint(res.Failed)
	p.Header["missing"] = fmt.Sprint(res.Missing)
	t := res.Tolerances
	p.Header["tolerances"] = fmt.Sprintf("pearson ≥ %.3g, peak shift ≤ %.3g, top-%g%% IoU ≥ %.3g", t.MinPearson, t.MaxPeakShift, t.TopK*100, t.MinTopIoU)
	if len(res.Settings) > 0 {
		p.Header["settings differ"] = strings.Join(res.Settings, "; ")
	}
	return p, nil
}
