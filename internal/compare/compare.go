package compare

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/render"
)

// InputError is an input that cannot be read (exit status 2: a broken
// pipeline, not a moved map).
type InputError struct {
	Path string
	Msg  string
}

func (e *InputError) Error() string { return e.Path + ": " + e.Msg }

// Entry is one map of one side: its .npy file and, when there is one, its
// sidecar.
type Entry struct {
	Key     string
	Rel     string
	Concept string
	Method  string
	NPY     string
	Sidecar string
	// Parsed is the sidecar as read (nil for a bare .npy): readers use it
	// instead of reading the file again.
	Parsed *record.Sidecar
}

// Collect reads one side: an explain output folder (every sidecar below
// it), one sidecar, or one .npy file. Any unreadable sidecar is an error.
func Collect(path string) (map[string]*Entry, error) {
	out, bad, err := collect(path, true)
	if err == nil && len(bad) > 0 {
		err = bad[0]
	}
	return out, err
}

// CollectAll is Collect for readers that go on past a damaged sidecar (a
// report lists it as failed): the sidecars that cannot be read come back
// in bad, and only a folder that cannot be read at all, or holds no
// sidecar, is an error.
func CollectAll(path string) (entries map[string]*Entry, bad []*InputError, err error) {
	return collect(path, false)
}

func collect(path string, strict bool) (map[string]*Entry, []*InputError, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, &InputError{path, unwrap(err).Error()}
	}
	out := map[string]*Entry{}
	add := func(p string, explicit bool) *InputError {
		switch {
		case strings.HasSuffix(p, ".npy"):
			e := &Entry{Key: filepath.Base(p), Rel: filepath.Base(p), NPY: p}
			out[e.Key] = e
			return nil
		case strings.HasSuffix(p, ".json"):
			data, err := os.ReadFile(p)
			if err != nil {
				return &InputError{p, unwrap(err).Error()}
			}
			if !json.Valid(data) {
				return &InputError{p, "not JSON (a truncated or damaged sidecar?)"}
			}
			var probe struct {
				Schema  int `json:"schema"`
				Concept any `json:"concept"`
			}
			if json.Unmarshal(data, &probe) != nil || probe.Schema == 0 || probe.Concept == nil {
				if explicit {
					return &InputError{p, "not a convis sidecar (no schema or concept)"}
				}
				return nil // some other JSON in the folder
			}
			if probe.Schema < 1 || probe.Schema > record.SidecarSchema {
				// A later convis may have changed what the fields mean:
				// reading it as ours would compare the wrong numbers.
				return &InputError{p, fmt.Sprintf("sidecar schema %d is not one this convis reads (1 to %d): read it with the convis that wrote it, or a newer one", probe.Schema, record.SidecarSchema)}
			}
			sc, err := record.ReadSidecar(p)
			if err != nil {
				return &InputError{p, err.Error()}
			}
			npy, ok := sc.OutputPath(p, "npy")
			if !ok {
				return &InputError{p, "the sidecar lists no .npy map: explain with --format npy (or the default formats)"}
			}
			rel := sc.ImageKey()
			e := &Entry{Key: rel + " " + sc.Concept.Synset + " " + sc.Method, Rel: rel, Concept: sc.Concept.Synset, Method: sc.Method, NPY: npy, Sidecar: p, Parsed: sc}
			if prev, dup := out[e.Key]; dup {
				return &InputError{p, "maps the same image, concept and method as " + prev.Sidecar}
			}
			out[e.Key] = e
			return nil
		}
		if explicit {
			return &InputError{p, "want an explain output folder, a sidecar (.json) or a map (.npy)"}
		}
		return nil
	}
	if !st.IsDir() {
		if err := add(path, true); err != nil {
			return nil, nil, err
		}
		return out, nil, nil
	}
	var bad []*InputError
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &InputError{p, unwrap(err).Error()}
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") || !strings.HasSuffix(p, ".json") {
			return nil
		}
		if err := add(p, false); err != nil {
			if strict {
				return err
			}
			bad = append(bad, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(out) == 0 && len(bad) == 0 {
		return nil, nil, &InputError{path, "no convis sidecars in this folder"}
	}
	return out, bad, nil
}

func unwrap(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// Metrics of one pair, all at the baseline's size.
type Metrics struct {
	Pearson     float64 `json:"pearson"`
	Spearman    float64 `json:"spearman"`
	PeakShiftPx float64 `json:"peak_shift_px"`
	PeakShift   float64 `json:"peak_shift"` // of the image diagonal
	BoxIoU      float64 `json:"box_iou"`
	TopIoU      float64 `json:"top_iou"`
	MAD         float64 `json:"mean_abs_diff"`
}

// Pair is one compared map.
type Pair struct {
	Key      string        `json:"key"`
	Rel      string        `json:"relative_path"`
	Concept  string        `json:"concept,omitempty"`
	Method   string        `json:"method,omitempty"`
	Baseline string        `json:"baseline,omitempty"` // sidecar or .npy
	Current  string        `json:"current,omitempty"`
	Missing  string        `json:"missing,omitempty"` // "baseline" or "current"
	Metrics  *Metrics      `json:"metrics,omitempty"`
	Failures []string      `json:"failures,omitempty"` // tolerances broken
	Settings []string      `json:"settings_differ,omitempty"`
	Size     [2]int        `json:"size,omitempty"`
	elapsed  time.Duration // measuring it (JUnit's testcase time)
	baseMap  Map
	curMap   Map
	// The two sides' sidecars (nil for a bare .npy): the HTML page shows
	// their presence beside the maps.
	baseSide, curSide *record.Sidecar
}

// Failed reports whether the pair breaks a tolerance or is missing.
func (p *Pair) Failed() bool { return len(p.Failures) > 0 }

// Result is a whole comparison.
type Result struct {
	Baseline   string     `json:"baseline"`
	Current    string     `json:"current"`
	Tolerances Tolerances `json:"tolerances"`
	Pairs      []*Pair    `json:"pairs"` // worst first
	Failed     int        `json:"failed"`
	Missing    int        `json:"missing"`
	// Settings lists what differs between the two sides' settings (model,
	// parameters, seed), over all pairs: the comparison is informed.
	Settings []string `json:"settings_differ,omitempty"`
	// When the comparison ran and how long it took (JUnit's timestamp and
	// time); not in the JSON, which depends on the inputs only.
	started time.Time
	elapsed time.Duration
}

// Options of Run.
type Options struct {
	Tolerances   Tolerances
	PerConcept   map[string]Tolerances // by synset, over Tolerances
	AllowMissing bool
	KeepMaps     bool // keep the maps in the pairs (for pictures)
}

// Run compares two sides.
func Run(baseline, current string, o Options) (*Result, error) {
	started := time.Now()
	a, err := Collect(baseline)
	if err != nil {
		return nil, err
	}
	b, err := Collect(current)
	if err != nil {
		return nil, err
	}
	// Two single files are one pair, whatever their names: the current
	// entry takes the baseline's key.
	if sa, _ := os.Stat(baseline); sa != nil && !sa.IsDir() && len(a) == 1 && len(b) == 1 {
		ka, eb := onlyEntry(a), onlyEntry(b)
		eb.Key = ka.Key
		b = map[string]*Entry{ka.Key: eb}
	}
	res := &Result{Baseline: baseline, Current: current, Tolerances: o.Tolerances, started: started}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	settings := map[string]bool{}
	type job struct {
		p      *Pair
		ea, eb *Entry
		topK   float64
		tol    Tolerances
	}
	var jobs []job
	for k := range keys {
		ea, eb := a[k], b[k]
		p := &Pair{Key: k}
		switch {
		case eb == nil:
			p.Rel, p.Concept, p.Method, p.Baseline, p.Missing = ea.Rel, ea.Concept, ea.Method, path(ea), "current"
		case ea == nil:
			p.Rel, p.Concept, p.Method, p.Current, p.Missing = eb.Rel, eb.Concept, eb.Method, path(eb), "baseline"
		}
		res.Pairs = append(res.Pairs, p)
		if p.Missing != "" {
			res.Missing++
			if !o.AllowMissing {
				p.Failures = []string{"no map in the " + p.Missing + " run"}
			}
			continue
		}
		p.Rel, p.Concept, p.Method, p.Baseline, p.Current = ea.Rel, ea.Concept, ea.Method, path(ea), path(eb)
		p.baseSide, p.curSide = ea.Parsed, eb.Parsed
		if ea.Parsed != nil && eb.Parsed != nil {
			p.Settings = record.SettingsDiff(ea.Parsed, eb.Parsed)
			for _, s := range p.Settings {
				settings[s] = true
			}
		}
		tol := o.Tolerances
		if t, ok := o.PerConcept[p.Concept]; ok {
			tol = t
		}
		jobs = append(jobs, job{p, ea, eb, tol.TopK, tol})
	}
	// Pairs are independent: measure them on every core. Every pair is
	// measured and the first failing pair in order is reported (not the
	// first to fail in time), so the error does not depend on scheduling.
	errs := make([]error, len(jobs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, j := range jobs {
		g.Go(func() error {
			t := time.Now()
			errs[i] = measure(j.p, j.ea, j.eb, j.topK)
			j.p.elapsed = time.Since(t)
			if errs[i] == nil {
				j.p.Failures = j.tol.Check(j.p.Metrics)
				if !o.KeepMaps {
					j.p.baseMap, j.p.curMap = Map{}, Map{}
				}
			}
			return nil
		})
	}
	g.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for s := range settings {
		res.Settings = append(res.Settings, s)
	}
	sort.Strings(res.Settings)
	sort.SliceStable(res.Pairs, func(i, j int) bool { return worse(res.Pairs[i], res.Pairs[j]) })
	for _, p := range res.Pairs {
		if p.Failed() {
			res.Failed++
		}
	}
	res.elapsed = time.Since(started)
	return res, nil
}

func path(e *Entry) string {
	if e.Sidecar != "" {
		return e.Sidecar
	}
	return e.NPY
}

// worse orders pairs worst first: failing, then missing, then by Pearson.
func worse(a, b *Pair) bool {
	if a.Failed() != b.Failed() {
		return a.Failed()
	}
	if (a.Metrics == nil) != (b.Metrics == nil) {
		return a.Metrics == nil
	}
	if a.Metrics != nil && a.Metrics.Pearson != b.Metrics.Pearson {
		return a.Metrics.Pearson < b.Metrics.Pearson
	}
	return a.Key < b.Key
}

// spearmanSide bounds the maps' long side for the rank correlation: maps
// made of overlapping windows are smooth, and ranking 50,000 values per map
// would dominate a comparison of a thousand maps.
const spearmanSide = 128

func measure(p *Pair, ea, eb *Entry, topK float64) error {
	va, wa, ha, err := render.ReadNPY(ea.NPY)
	if err != nil {
		return &InputError{ea.NPY, npyMsg(err)}
	}
	vb, wb, hb, err := render.ReadNPY(eb.NPY)
	if err != nil {
		return &InputError{eb.NPY, npyMsg(err)}
	}
	ma := Map{W: wa, H: ha, V: va}
	mb := Map{W: wb, H: hb, V: vb}.Resample(wa, ha)
	p.baseMap, p.curMap, p.Size = ma, mb, [2]int{wa, ha}
	m := &Metrics{Pearson: Pearson(ma.V, mb.V), MAD: meanAbsDiff(ma.V, mb.V), TopIoU: TopIoU(ma.V, mb.V, topK)}
	sw, sh := wa, ha
	if long := max(wa, ha); long > spearmanSide {
		sw, sh = max(1, wa*spearmanSide/long), max(1, ha*spearmanSide/long)
	}
	m.Spearman = Spearman(ma.Resample(sw, sh).V, mb.Resample(sw, sh).V)
	ax, ay := ma.Peak()
	bx, by := mb.Peak()
	m.PeakShiftPx = math.Hypot(float64(ax-bx), float64(ay-by))
	m.PeakShift = m.PeakShiftPx / math.Hypot(float64(wa), float64(ha))
	m.BoxIoU = BoxIoU(boxOf(ea, wa, ha), boxOf(eb, wa, ha))
	p.Metrics = m
	return nil
}

func npyMsg(err error) string {
	if e, ok := err.(*render.NPYError); ok {
		return e.Msg
	}
	return unwrap(err).Error()
}

// boxOf is a sidecar's box in a w×h frame (maps of another size scale).
func boxOf(e *Entry, w, h int) *Box {
	if e.Parsed == nil || e.Parsed.Box == nil {
		return nil
	}
	sx, sy := 1.0, 1.0
	if e.Parsed.MapSize[0] > 0 && e.Parsed.MapSize[1] > 0 {
		sx, sy = float64(w)/float64(e.Parsed.MapSize[0]), float64(h)/float64(e.Parsed.MapSize[1])
	}
	b := e.Parsed.Box
	return &Box{float64(b.X) * sx, float64(b.Y) * sy, float64(b.W) * sx, float64(b.H) * sy}
}

// Maps returns the pair's maps (with Options.KeepMaps), the current at
// the baseline's size.
func (p *Pair) Maps() (baseline, current Map) { return p.baseMap, p.curMap }

// Sidecars are the pair's two sidecars (nil for a side given as a bare map).
func (p *Pair) Sidecars() (baseline, current *record.Sidecar) { return p.baseSide, p.curSide }

// onlyEntry is the entry of a one-entry side.
func onlyEntry(m map[string]*Entry) *Entry {
	for _, e := range m {
		return e
	}
	return nil
}
