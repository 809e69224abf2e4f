package record

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// Summary merges the run logs of any number of runs and shards: for each
// (image, concept, method) the latest record counts.
type Summary struct {
	Logs     []string `json:"logs"`
	Runs     int      `json:"runs"` // headers read
	Images   int      `json:"images"`
	Failed   int      `json:"images_failed"`
	Pairs    int      `json:"pairs"`
	OK       int      `json:"ok"`      // pairs made by their latest run
	Skipped  int      `json:"skipped"` // pairs found up to date by their latest run
	Errors   int      `json:"errors"`
	Done     int      `json:"done"`           // ok + skipped: pairs whose outputs are complete
	Passes   int      `json:"forward_passes"` // spent by every run read, superseded records too
	MSPerImg float64  `json:"ms_per_image"`   // mean time of images explained (not skipped), each by the last run that explained it
	Failures []Record `json:"failures,omitempty"`
	// Torn lists the lines of the logs that are not JSON (runs killed or
	// out of disk space while writing them): skipped, and said.
	Torn   []TornLine `json:"torn_lines,omitempty"`
	Latest []Record   `json:"-"`
}

type pairKey struct{ rel, concept, method string }

// Summarize reads run logs (files, or folders holding convis-run*.jsonl).
func Summarize(paths []string) (*Summary, error) {
	s := &Summary{}
	latest := map[pairKey]Record{}
	var order []pairKey
	// An image's time is that of the last run that explained it: a
	// --force rerun's time replaces the first run's, it does not add to it.
	type runTime struct {
		run int
		ms  float64
	}
	imageTime := map[string]runTime{}
	run := 0
	for _, p := range paths {
		logs, err := FindRunLogs(p)
		if err != nil {
			return nil, err
		}
		for _, lf := range logs {
			entries, torn, err := ReadRunLogAll(lf)
			if err != nil {
				return nil, err
			}
			s.Logs = append(s.Logs, lf)
			s.Torn = append(s.Torn, torn...)
			for _, e := range entries {
				if e.Header != nil {
					s.Runs++
					run++
				}
				rec := e.Record
				if rec == nil {
					continue
				}
				k := pairKey{rec.imageKey(), rec.Concept, rec.Method}
				if rec.Concept == "" {
					// The image failed before any concept: it stands for
					// every pair of that image until one of them is made.
					for kk := range latest {
						if kk.rel == rec.imageKey() && kk.method == rec.Method {
							delete(latest, kk)
						}
					}
				} else {
					delete(latest, pairKey{rec.imageKey(), "", rec.Method})
				}
				if _, ok := latest[k]; !ok {
					order = append(order, k)
				}
				latest[k] = *rec
				s.Passes += rec.Passes
				if rec.Status == StatusOK {
					t := imageTime[rec.imageKey()]
					if t.run != run {
						t = runTime{run: run}
					}
					t.ms += rec.Timings["prepare"] + rec.Timings["explain"] + rec.Timings["write"]
					imageTime[rec.imageKey()] = t
				}
			}
		}
	}
	images := map[string]bool{}
	failed := map[string]bool{}
	for _, k := range order {
		rec, ok := latest[k]
		if !ok {
			continue
		}
		images[rec.imageKey()] = true
		s.Latest = append(s.Latest, rec)
		if rec.Concept != "" {
			s.Pairs++
		}
		switch rec.Status {
		case StatusOK:
			s.OK++
		case StatusSkipped:
			s.Skipped++
		default:
			s.Errors++
			failed[rec.imageKey()] = true
			s.Failures = append(s.Failures, rec)
		}
	}
	s.Images, s.Failed, s.Done = len(images), len(failed), s.OK+s.Skipped
	var total float64
	for _, t := range imageTime {
		total += t.ms
	}
	if len(imageTime) > 0 {
		s.MSPerImg = total / float64(len(imageTime))
	}
	sort.SliceStable(s.Latest, func(a, b int) bool {
		if s.Latest[a].Rel != s.Latest[b].Rel {
			return s.Latest[a].Rel < s.Latest[b].Rel
		}
		return s.Latest[a].Concept < s.Latest[b].Concept
	})
	return s, nil
}

// WriteCSV writes one row per (image, concept): its latest record. status
// is that record's (ok: made by it; skipped: found up to date by it, made
// by an earlier run); done says whether the pair's outputs are complete
// (ok or skipped), so a table of done pairs needs no knowledge of reruns.
func (s *Summary) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"relative_path", "image", "concept", "method", "status", "done", "box_x", "box_y", "box_w", "box_h", "peak_x", "peak_y", "forward_passes", "error"})
	itoa := strconv.Itoa
	for _, r := range s.Latest {
		done := strconv.FormatBool(r.Status == StatusOK || r.Status == StatusSkipped)
		row := []string{r.Rel, r.Image, r.Concept, r.Method, r.Status, done, "", "", "", "", "", "", itoa(r.Passes), r.Error}
		if r.Box != nil {
			row[6], row[7], row[8], row[9] = itoa(r.Box.X), itoa(r.Box.Y), itoa(r.Box.W), itoa(r.Box.H)
		}
		if r.Peak != nil {
			row[10], row[11] = itoa(r.Peak[0]), itoa(r.Peak[1])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Text writes the summary for people.
func (s *Summary) Text(w io.Writer) {
	fmt.Fprintf(w, "run logs:   %d (%d runs)\n", len(s.Logs), s.Runs)
	fmt.Fprintf(w, "images:     %d (%d failed)\n", s.Images, s.Failed)
	fmt.Fprintf(w, "pairs:      %d done (%d made, %d up to date), %d errors\n", s.Done, s.OK, s.Skipped, s.Errors)
	fmt.Fprintf(w, "passes:     %d\n", s.Passes)
	if len(s.Torn) > 0 {
		fmt.Fprintf(w, "torn lines: %d skipped (runs killed or out of disk space while writing them)\n", len(s.Torn))
	}
	if s.MSPerImg > 0 {
		fmt.Fprintf(w, "per image:  %.0f ms (images explained)\n", s.MSPerImg)
	}
	for i, f := range s.Failures {
		if i == 20 {
			fmt.Fprintf(w, "  … and %d more failures\n", len(s.Failures)-20)
			break
		}
		c := f.Concept
		if c == "" {
			c = "(image)"
		}
		fmt.Fprintf(w, "  failed: %s %s: %s\n", f.Rel, c, f.Error)
	}
}
