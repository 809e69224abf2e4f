package record

import (
	"fmt"

	"github.com/convis/convis/internal/saliency"
)

// Status of a record.
const (
	StatusOK      = "ok"
	StatusSkipped = "skipped"
	StatusError   = "error"
)

// Record is the result of one (image, concept), or of an image that
// failed before any concept (Concept empty).
type Record struct {
	Type    string            `json:"type"` // "record"
	Status  string            `json:"status"`
	Image   string            `json:"image"`
	Rel     string            `json:"relative_path"`
	Concept string            `json:"concept,omitempty"`
	Query   string            `json:"query,omitempty"`
	Method  string            `json:"method,omitempty"`
	Box     *Box              `json:"box"`
	Peak    *[2]int           `json:"peak,omitempty"` // [x, y]
	Outputs map[string]string `json:"outputs,omitempty"`
	Error   string            `json:"error,omitempty"`
	Passes  int               `json:"forward_passes"`
	// WindowCache is "hit", "miss" or "off" for an explained image.
	WindowCache string `json:"window_cache,omitempty"`
	// TopRank is the concept's place (1 = first) among the image's
	// concepts with --top.
	TopRank  int                `json:"top_rank,omitempty"`
	Presence *saliency.Presence `json:"presence,omitempty"`
	// Spread summarises the map's spread over its seeds (--seeds).
	Spread *saliency.SpreadSummary `json:"spread,omitempty"`
	// Versus summarises the contrastive maps (--versus).
	Versus  []VersusInfo       `json:"versus,omitempty"`
	Timings map[string]float64 `json:"timings_ms,omitempty"`
	// Frame is the DICOM frame of a --frame all job: one image per frame.
	Frame *int `json:"frame,omitempty"`
}

// imageKey names the image a record is of: its relative path, and its
// frame for one frame of a multi-frame file.
func (r Record) imageKey() string {
	if r.Frame != nil {
		return fmt.Sprintf("%s#f%03d", r.Rel, *r.Frame)
	}
	return r.Rel
}

// VersusInfo is a contrastive map's summary (--versus), in the record and
// the sidecar: values in [−1, 1], positive where the image looks like the
// concept rather than Concept.
type VersusInfo struct {
	Concept       string            `json:"concept"` // the other concept's synset
	Mean          float64           `json:"mean"`
	PositiveShare float64           `json:"positive_share"` // share of pixels > 0
	Max           float64           `json:"max"`
	Min           float64           `json:"min"`
	Peak          [2]int            `json:"peak"`   // [x, y] of the maximum
	Trough        [2]int            `json:"trough"` // [x, y] of the minimum
	Outputs       map[string]string `json:"outputs"`
}
