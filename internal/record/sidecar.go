// Package record is the contract between the runs that write an output
// folder and the tools that read it (runs summary, compare, check, report,
// eval): the sidecar next to each map, and the run log's header, records
// and footer. Readers import this package, not the pipeline that writes.
package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/saliency"
)

// SidecarSchema is the version of the sidecar format. 2: outputs relative
// to the sidecar's folder, input size/mtime/SHA-256, decode info, no
// timings (they live in the run log, so reruns give identical sidecars).
const SidecarSchema = 2

// Box is a box in image pixels: [X, X+W) × [Y, Y+H).
type Box struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// InputInfo identifies an input file: size and modification time are the
// fast check of a rerun, the SHA-256 the exact one.
type InputInfo struct {
	Size    int64  `json:"size"`
	ModTime string `json:"mtime"`
	SHA256  string `json:"sha256"`
}

// ModelInfo names the model of a run.
type ModelInfo struct {
	Name    string `json:"name,omitempty"` // as the user named it (convis-tiny for the built-in model)
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Variant string `json:"variant"`
	// Preprocess is how the model saw each window: its input size, resize
	// rule, filter and normalisation (from preprocessor_config.json).
	Preprocess *clip.PreprocessSummary `json:"preprocess,omitempty"`
}

// ConceptInfo describes the explained concept.
type ConceptInfo struct {
	Query      string `json:"query"`
	Synset     string `json:"synset"`
	WNID       string `json:"wnid"`
	Definition string `json:"definition"`
	Synsets    int    `json:"synsets_in_subtree"`
	Prompts    int    `json:"prompts_in_subtree"`
}

// Sidecar is the JSON written next to each map: everything needed to
// reproduce the map and to compare it. Readers never recompute what it says.
type Sidecar struct {
	Schema  int             `json:"schema"`
	Version string          `json:"convis_version"`
	Image   string          `json:"image"`         // the input as named in the run
	Rel     string          `json:"relative_path"` // the input relative to the run's root
	Input   InputInfo       `json:"input"`
	Size    [2]int          `json:"image_size"` // width, height
	Decode  clip.DecodeInfo `json:"decode"`
	Model   ModelInfo       `json:"model"`
	Concept ConceptInfo     `json:"concept"`
	Vocab   string          `json:"vocab"`
	TSize   int             `json:"vocab_synsets"`
	Prompts string          `json:"prompts"`
	Method  string          `json:"method"`
	Params  map[string]any  `json:"params"`
	Seed    uint64          `json:"seed"`
	Box     *Box            `json:"box"`
	// Boxes is every region's box with --boxes all (the first is Box).
	Boxes []Box `json:"boxes,omitempty"`
	// NoBox says why Box is null (a flat map, no clear region).
	NoBox   string `json:"no_box,omitempty"`
	Peak    [2]int `json:"peak"` // [x, y] of the map's maximum, in image pixels
	Flat    bool   `json:"flat"`
	MapSize [2]int `json:"map_size"` // width, height
	Windows int    `json:"windows"`
	// RefineWindows is the --refine stage's windows: the image region's
	// grid (shared by every concept), or the box region's windows of all
	// concepts of the image together (their passes are in forward_passes).
	RefineWindows int `json:"refine_windows,omitempty"`
	Passes        int `json:"forward_passes"`
	Batches       int `json:"encoder_batches"`
	// WindowCache: "hit" (the window embeddings came from the cache and
	// nothing was encoded), "miss" or "off" (--no-cache).
	WindowCache string `json:"window_cache"`
	// Presence: the concept's whole-image and best-window ranks and
	// whether it looks absent (the map is drawn all the same).
	Presence *saliency.Presence `json:"presence,omitempty"`
	// Spread summarises the per-pixel standard deviation of the map over
	// its seeds (--seeds; STEM.SYNSET.spread.npy is the map of it).
	Spread *saliency.SpreadSummary `json:"spread,omitempty"`
	// Versus summarises the contrastive maps (--versus), their outputs
	// relative to the sidecar's folder.
	Versus  []VersusInfo      `json:"versus,omitempty"`
	Outputs map[string]string `json:"outputs"` // format → file name in the sidecar's folder
}

// ReadSidecar reads and checks a sidecar file.
func ReadSidecar(path string) (*Sidecar, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sidecar %s: %w", path, errtext.UnwrapPath(err))
	}
	var s Sidecar
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("sidecar %s: not a convis sidecar: %v", path, err)
	}
	if s.Schema == 0 || s.Concept.Synset == "" {
		return nil, fmt.Errorf("sidecar %s: not a convis sidecar (no schema or concept)", path)
	}
	return &s, nil
}

// OutputPath is where a sidecar says one of its outputs is.
func (s *Sidecar) OutputPath(sidecarPath, format string) (string, bool) {
	name, ok := s.Outputs[format]
	if !ok {
		return "", false
	}
	return filepath.Join(filepath.Dir(sidecarPath), filepath.FromSlash(name)), true
}

// SettingsDiff lists what differs between the settings of two sidecars
// (model, concept, vocabulary, prompts, method, parameters, seed): empty
// when a map made with one would equal the other's.
func SettingsDiff(old, cur *Sidecar) []string {
	var d []string
	if old.Model.SHA256 != cur.Model.SHA256 || old.Model.Variant != cur.Model.Variant {
		d = append(d, fmt.Sprintf("model %.12s (%s) → %.12s (%s)", old.Model.SHA256, old.Model.Variant, cur.Model.SHA256, cur.Model.Variant))
	}
	if old.Concept.Synset != cur.Concept.Synset {
		d = append(d, "concept "+old.Concept.Synset+" → "+cur.Concept.Synset)
	}
	if old.Vocab != cur.Vocab || old.TSize != cur.TSize {
		d = append(d, "vocab "+old.Vocab+" → "+cur.Vocab)
	}
	if old.Prompts != cur.Prompts {
		d = append(d, "prompts "+old.Prompts+" → "+cur.Prompts)
	}
	if old.Method != cur.Method {
		d = append(d, "method "+old.Method+" → "+cur.Method)
	}
	if old.Seed != cur.Seed {
		d = append(d, fmt.Sprintf("seed %d → %d", old.Seed, cur.Seed))
	}
	for _, k := range unionKeys(old.Params, cur.Params) {
		if k == "budget" && sameAsDefaultBudget(old.Params[k], cur.Params[k]) {
			continue
		}
		ov, cv := old.Params[k], cur.Params[k]
		if k == "seeds" {
			ov, cv = seedsOrOne(ov), seedsOrOne(cv)
		}
		a, b := canonical(ov), canonical(cv)
		if !bytes.Equal(a, b) {
			d = append(d, fmt.Sprintf("%s %s → %s", k, a, b))
		}
	}
	return d
}

// sameAsDefaultBudget: a map made without --budget and one made with
// --budget default have the same plan (which the other params compare), so
// the name alone is no difference.
func sameAsDefaultBudget(a, b any) bool {
	name := func(v any) string {
		if v == nil {
			return "default"
		}
		s, _ := v.(string)
		return s
	}
	return name(a) == "default" && name(b) == "default"
}

// seedsOrOne reads a sidecar's seeds: one written before --seeds (or
// before explain always recorded it) has none, and was made on one canvas.
func seedsOrOne(v any) any {
	if v == nil {
		return 1
	}
	return v
}

func unionKeys(a, b map[string]any) []string {
	keys := slices.AppendSeq(slices.Collect(maps.Keys(a)), maps.Keys(b))
	slices.Sort(keys)
	return slices.Compact(keys)
}

// canonical is a value's JSON after a round trip, so 128 and 128.0, or a
// []int and a []any read back from a file, compare equal.
func canonical(v any) []byte {
	if v == nil {
		return []byte("(none)")
	}
	data, _ := json.Marshal(v)
	var back any
	if json.Unmarshal(data, &back) == nil {
		data, _ = json.Marshal(back)
	}
	return data
}

// ImageKey names the image a sidecar maps: its relative path (or file
// name), and for one frame of a multi-frame DICOM file (--frame all) the
// frame, as Record.imageKey does.
func (s *Sidecar) ImageKey() string {
	rel := s.Rel
	if rel == "" {
		rel = filepath.Base(s.Image)
	}
	if d := s.Decode.DICOM; d != nil && s.Params["frame"] == "all" && d.Frames > 1 {
		rel = fmt.Sprintf("%s#f%03d", rel, d.Frame)
	}
	return rel
}
