// Package evaluate holds the per-image work of the eval commands and the
// aggregation of their measurements: the samples of a dataset, maps read
// from --maps folders, and eval localization's scoring, run on the one
// per-image loop (pipeline.Each). cmd/convis keeps the flags, the
// printing and the exit codes.
package evaluate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

// Manifest is the dataset format of `convis eval` (and of testdata/scenes).
type Manifest struct {
	Name   string          `json:"name,omitempty"`
	Images []ManifestImage `json:"images"`
}

type ManifestImage struct {
	File    string           `json:"file"`
	Objects []ManifestObject `json:"objects"`
}

type ManifestObject struct {
	Concept string `json:"concept"`
	Box     [4]int `json:"box"`
}

// Sample is an (image, concept, box) of a dataset: the image is an index
// into the manifest's images.
type Sample struct {
	Image   int
	Concept *wordnet.Synset
	Box     saliency.Rect
}

// CheckLevel says whether level is a --concept-level: object, parent or
// ancestor:N.
func CheckLevel(level string) error {
	_, err := levelSteps(level)
	return err
}

func levelSteps(level string) (int, error) {
	switch {
	case level == "object":
		return 0, nil
	case level == "parent":
		return 1, nil
	case strings.HasPrefix(level, "ancestor:"):
		n, err := strconv.Atoi(strings.TrimPrefix(level, "ancestor:"))
		if err != nil || n < 1 {
			return 0, fmt.Errorf("--concept-level %q: want ancestor:N with N ≥ 1", level)
		}
		return n, nil
	}
	return 0, fmt.Errorf("--concept-level %q: want object, parent or ancestor:N", level)
}

// levelConcept climbs from an object's synset to the level's concept:
// the first hypernym inside T (by name) at each step.
func levelConcept(h *wordnet.Hierarchy, s *wordnet.Synset, level string) (*wordnet.Synset, error) {
	steps, err := levelSteps(level)
	if err != nil {
		return nil, err
	}
	cur := s
	for i := 0; i < steps; i++ {
		var next *wordnet.Synset
		for _, p := range h.DB.Related(cur.Hypernyms) {
			if h.Contains(p.Index) {
				next = p
				break
			}
		}
		if next == nil {
			return cur, nil
		}
		cur = next
	}
	return cur, nil
}

// LevelSamples are, per level, the (image, concept, box) samples of a
// dataset where the level's concept covers exactly one object of the image
// (eval localization and eval faithfulness measure the same samples).
// Callers check the levels first (CheckLevel).
func LevelSamples(db *wordnet.DB, h *wordnet.Hierarchy, images []ManifestImage, levels []string) (map[string][]Sample, error) {
	samples := map[string][]Sample{}
	for _, level := range levels {
		for i, im := range images {
			type cand struct {
				c   *wordnet.Synset
				box [4]int
			}
			var cands []cand
			count := map[int32]int{}
			for _, o := range im.Objects {
				s, ok := db.ByName(o.Concept)
				if !ok {
					return nil, fmt.Errorf("dataset: %s: unknown concept %q", im.File, o.Concept)
				}
				if err := h.Check(s); err != nil {
					return nil, fmt.Errorf("dataset: %s: %w", im.File, err)
				}
				c, err := levelConcept(h, s, level)
				if err != nil {
					return nil, err
				}
				cands = append(cands, cand{c, o.Box})
			}
			for _, cd := range cands {
				sub := map[int32]bool{}
				for _, p := range h.Subtree(cd.c.Index) {
					sub[h.Nodes[p]] = true
				}
				for _, o := range im.Objects {
					s, _ := db.ByName(o.Concept)
					if sub[s.Index] {
						count[cd.c.Index]++
					}
				}
			}
			for _, cd := range cands {
				if count[cd.c.Index] == 1 {
					samples[level] = append(samples[level], Sample{i, cd.c, saliency.Rect{X: cd.box[0], Y: cd.box[1], W: cd.box[2], H: cd.box[3]}})
				}
			}
		}
	}
	return samples, nil
}

// ExternalMaps indexes --maps folders by image file, concept and method.
type ExternalMaps struct {
	entries map[string]*compare.Entry // file \x00 synset \x00 method
	Methods []string                  // sorted
	Seconds map[string]float64        // method → seconds per map its sidecars report
}

// LoadExternalMaps reads --maps folders.
func LoadExternalMaps(dirs []string) (*ExternalMaps, error) {
	x := &ExternalMaps{entries: map[string]*compare.Entry{}, Seconds: map[string]float64{}}
	seen := map[string]bool{}
	for _, d := range dirs {
		entries, err := compare.Collect(d)
		if err != nil {
			return nil, err
		}
		// In a fixed order: the first sidecar of a method to give its time
		// per map is the same one every run.
		keys := make([]string, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, ek := range keys {
			e := entries[ek]
			k := e.Rel + "\x00" + e.Concept + "\x00" + e.Method
			if prev, dup := x.entries[k]; dup {
				return nil, &compare.InputError{Path: entryFile(e), Msg: "--maps: the same image, concept and method as " + entryFile(prev)}
			}
			x.entries[k] = e
			if !seen[e.Method] {
				seen[e.Method] = true
				x.Methods = append(x.Methods, e.Method)
			}
			if e.Parsed != nil {
				if v, ok := e.Parsed.Params["seconds_per_map"].(float64); ok {
					if _, set := x.Seconds[e.Method]; !set {
						x.Seconds[e.Method] = v
					}
				}
			}
		}
	}
	sort.Strings(x.Methods)
	return x, nil
}

// entryFile is an entry's file for messages.
func entryFile(e *compare.Entry) string {
	if e.Sidecar != "" {
		return e.Sidecar
	}
	return e.NPY
}

// Load reads the map of a sample.
func (x *ExternalMaps) Load(file, synset, method string, w, h int) (*saliency.Map, error) {
	e, ok := x.entries[file+"\x00"+synset+"\x00"+method]
	if !ok {
		return nil, fmt.Errorf("--maps: no %s map of %s for %s", method, synset, file)
	}
	v, mw, mh, err := render.ReadNPY(e.NPY)
	if err != nil {
		return nil, err
	}
	if mw != w || mh != h {
		return nil, fmt.Errorf("%s: the map is %dx%d, the image %dx%d", e.NPY, mw, mh, w, h)
	}
	return &saliency.Map{W: w, H: h, V: v}, nil
}
