package compare

import (
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
// naming the metrics that broke (GitHub, GitLab and Jenkins read it). It
// follows the strict Ant/Jenkins schema (testdata/junit/JUnit.xsd, checked
// by a test): the suite carries timestamp, hostname and time, properties
// come before the testcases, a testcase holds no output of its own (the
// metrics of every pair are in the suite's system-out), and a pair missing
// on one side under --allow-missing is skipped.
func (r *Result) JUnit(w io.Writer) error {
	type message struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Skipped   *message `xml:"skipped,omitempty"`
		Failure   *message `xml:"failure,omitempty"`
	}
	type property struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	type suite struct {
		XMLName    xml.Name   `xml:"testsuite"`
		Name       string     `xml:"name,attr"`
		Timestamp  string     `xml:"timestamp,attr"`
		Hostname   string     `xml:"hostname,attr"`
		Tests      int        `xml:"tests,attr"`
		Failures   int        `xml:"failures,attr"`
		Errors     int        `xml:"errors,attr"`
		Skipped    int        `xml:"skipped,attr"`
		Time       string     `xml:"time,attr"`
		Properties []property `xml:"properties>property"`
		Cases      []testcase `xml:"testcase"`
		SystemOut  string     `xml:"system-out"`
		SystemErr  string     `xml:"system-err"`
	}
	host, err := os.Hostname()
	if err != nil || strings.TrimSpace(host) == "" {
		host = "localhost" // what the schema asks for when the name is unknown
	}
	started := r.started
	if started.IsZero() {
		started = time.Now()
	}
	t := r.Tolerances
	s := suite{Name: "convis compare", Timestamp: started.UTC().Format("2006-01-02T15:04:05"), Hostname: host,
		Tests: len(r.Pairs), Failures: r.Failed, Time: seconds(r.elapsed),
		Properties: []property{{"baseline", r.Baseline}, {"current", r.Current},
			{"min_pearson", fmt.Sprint(t.MinPearson)}, {"min_spearman", fmt.Sprint(t.MinSpearman)}, {"max_peak_shift", fmt.Sprint(t.MaxPeakShift)},
			{"min_top_iou", fmt.Sprint(t.MinTopIoU)}, {"top_k", fmt.Sprint(t.TopK)}, {"min_box_iou", fmt.Sprint(t.MinBoxIoU)}, {"max_mean_abs_diff", fmt.Sprint(t.MaxMAD)}}}
	for i, d := range r.Settings {
		s.Properties = append(s.Properties, property{fmt.Sprintf("settings_differ.%d", i+1), d})
	}
	var out strings.Builder
	for _, p := range r.Pairs {
		method := p.Method
		if method == "" {
			method = "map"
		}
		name := p.Rel + " " + p.Concept
		tc := testcase{Name: name, Classname: "convis." + strings.ReplaceAll(method, ".", "_"), Time: seconds(p.elapsed)}
		metrics := ""
		if p.Metrics != nil {
			m := p.Metrics
			metrics = fmt.Sprintf("pearson=%.4f spearman=%.4f peak_shift=%.4f box_iou=%.3f top_iou=%.3f mean_abs_diff=%.4f", m.Pearson, m.Spearman, m.PeakShift, m.BoxIoU, m.TopIoU, m.MAD)
			fmt.Fprintf(&out, "%s: %s\n", name, metrics)
		} else {
			fmt.Fprintf(&out, "%s: missing in the %s run\n", name, p.Missing)
		}
		switch {
		case p.Failed():
			text := fmt.Sprintf("baseline %s\ncurrent %s\n%s", p.Baseline, p.Current, strings.Join(p.Failures, "\n"))
			if metrics != "" {
				text += "\n" + metrics
			}
			tc.Failure = &message{Message: strings.Join(p.Failures, "; "), Type: "SaliencyRegression", Text: text}
		case p.Missing != "":
			tc.Skipped = &message{Message: "no map in the " + p.Missing + " run (--allow-missing)"}
			s.Skipped++
		}
		s.Cases = append(s.Cases, tc)
	}
	s.SystemOut = out.String()
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// seconds is a duration as the schema's xs:decimal.
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

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
	if len(r.Settings) > 0 {
		fmt.Fprintln(w, "\nThe two runs differ in settings:")
		fmt.Fprintln(w)
		for _, s := range r.Settings {
			fmt.Fprintf(w, "- %s\n", s)
		}
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
