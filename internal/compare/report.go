package compare

import (
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/convis/convis/internal/render"
)

// Text writes the table for people: worst pairs first.
func (r *Result) Text(w io.Writer, limit int) {
	fmt.Fprintf(w, "%d pairs, %d outside tolerance, %d missing (baseline %s, current %s)\n", len(r.Pairs), r.Failed, r.Missing, r.Baseline, r.Current)
	for _, s := range r.Settings {
		fmt.Fprintf(w, "note: the two runs differ in settings: %s\n", s)
	}
	fmt.Fprintf(w, "%-6s %-40s %8s %8s %7s %7s %7s %7s\n", "status", "image / concept", "pearson", "spearman", "peak", "box", "top-k", "mad")
	for i, p := range r.Pairs {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "… %d more pairs (--json for all)\n", len(r.Pairs)-limit)
			break
		}
		status := "ok"
		if p.Failed() {
			status = "FAIL"
		}
		name := p.Rel + " " + p.Concept
		if p.Metrics == nil {
			fmt.Fprintf(w, "%-6s %-40s missing in the %s run\n", status, name, p.Missing)
			continue
		}
		m := p.Metrics
		fmt.Fprintf(w, "%-6s %-40s %8.4f %8.4f %6.1f%% %7.3f %7.3f %7.4f", status, trunc(name, 40), m.Pearson, m.Spearman, 100*m.PeakShift, m.BoxIoU, m.TopIoU, m.MAD)
		if p.Failed() {
			fmt.Fprintf(w, "  (%s)", strings.Join(p.Failures, "; "))
		}
		fmt.Fprintln(w)
	}
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

// JUnit writes the pairs as JUnit XML: one testcase per pair, a failure
// naming the metrics that broke (GitHub, GitLab and Jenkins read it).
func (r *Result) JUnit(w io.Writer) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		SystemOut string   `xml:"system-out,omitempty"`
	}
	type suite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	s := suite{Name: "convis compare", Tests: len(r.Pairs), Failures: r.Failed}
	for _, p := range r.Pairs {
		tc := testcase{Name: p.Rel + " " + p.Concept, Classname: "convis." + strings.ReplaceAll(p.Method, ".", "_"), Time: "0"}
		if p.Metrics != nil {
			m := p.Metrics
			tc.SystemOut = fmt.Sprintf("pearson=%.4f spearman=%.4f peak_shift=%.4f box_iou=%.3f top_iou=%.3f mean_abs_diff=%.4f", m.Pearson, m.Spearman, m.PeakShift, m.BoxIoU, m.TopIoU, m.MAD)
		}
		if p.Failed() {
			tc.Failure = &failure{Message: strings.Join(p.Failures, "; "), Type: "SaliencyRegression", Text: fmt.Sprintf("baseline %s\ncurrent %s\n%s", p.Baseline, p.Current, strings.Join(p.Failures, "\n"))}
		}
		s.Cases = append(s.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Markdown writes a summary for $GITHUB_STEP_SUMMARY or a merge request:
// the verdict, the tolerances, and the worst pairs.
func (r *Result) Markdown(w io.Writer, limit int) error {
	verdict := "✅ saliency maps within tolerance"
	if r.Failed > 0 {
		verdict = fmt.Sprintf("❌ %d of %d saliency maps moved", r.Failed, len(r.Pairs))
	}
	fmt.Fprintf(w, "### convis compare: %s\n\n", verdict)
	t := r.Tolerances
	fmt.Fprintf(w, "Tolerances: Pearson ≥ %.3g, peak shift ≤ %.3g of the diagonal, top-%g%% IoU ≥ %.3g", t.MinPearson, t.MaxPeakShift, t.TopK*100, t.MinTopIoU)
	if r.Missing > 0 {
		fmt.Fprintf(w, "; %d pairs missing on one side", r.Missing)
	}
	fmt.Fprintln(w, ".")
	for _, s := range r.Settings {
		fmt.Fprintf(w, "\n> The two runs differ in settings: %s\n", s)
	}
	fmt.Fprintln(w, "\n| | image | concept | Pearson | peak shift | top-k IoU | box IoU | broken |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for i, p := range r.Pairs {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "\n%d more pairs not shown.\n", len(r.Pairs)-limit)
			break
		}
		mark := "✅"
		if p.Failed() {
			mark = "❌"
		}
		if p.Metrics == nil {
			fmt.Fprintf(w, "| %s | `%s` | %s | | | | | missing in the %s run |\n", mark, p.Rel, p.Concept, p.Missing)
			continue
		}
		m := p.Metrics
		fmt.Fprintf(w, "| %s | `%s` | %s | %.3f | %.1f%% | %.2f | %.2f | %s |\n", mark, p.Rel, p.Concept, m.Pearson, 100*m.PeakShift, m.TopIoU, m.BoxIoU, strings.Join(p.Failures, "; "))
	}
	return nil
}

// DiffImage is a pair's picture: baseline | current | difference, each
// map in its colormap and the absolute difference in inferno, with a
// caption.
func (p *Pair) DiffImage() image.Image {
	a, b := p.baseMap, p.curMap
	cm := render.Colormaps["turbo"]
	diff := render.Colormaps["inferno"]
	gap := 6
	W, H := a.W, a.H
	// Tiny maps are enlarged so the picture can be read.
	k := 1
	if s := min(W, H); s < 160 {
		k = int(math.Ceil(160 / float64(s)))
	}
	out := image.NewNRGBA(image.Rect(0, 0, 3*W*k+2*gap, H*k))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	for y := 0; y < H*k; y++ {
		for x := 0; x < W*k; x++ {
			i := (y/k)*W + x/k
			out.Set(x, y, cm(float64(a.V[i])))
			out.Set(W*k+gap+x, y, cm(float64(b.V[i])))
			out.Set(2*(W*k+gap)+x, y, diff(math.Abs(float64(a.V[i]-b.V[i]))))
		}
	}
	caption := fmt.Sprintf("%s %s", p.Rel, p.Concept)
	if p.Metrics != nil {
		caption += fmt.Sprintf(" · Pearson %.3f · peak shift %.1f%%", p.Metrics.Pearson, 100*p.Metrics.PeakShift)
	}
	return render.Captioned(out, []string{"baseline", "current", "|difference|"}, caption)
}

// WriteDiffImages writes DiffImage of every failing pair that has maps
// into dir (a name per pair) and returns the files.
func (r *Result) WriteDiffImages(dir string) ([]string, error) {
	var files []string
	for _, p := range r.Pairs {
		if !p.Failed() || p.Metrics == nil || p.baseMap.V == nil {
			continue
		}
		name := strings.NewReplacer("/", "__", " ", ".").Replace(p.Key) + ".diff.png"
		path := filepath.Join(dir, name)
		im := p.DiffImage()
		if err := render.WriteAtomicMkdir(path, func(w io.Writer) error { return png.Encode(w, im) }); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}
