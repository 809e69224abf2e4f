package record

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/convis/convis/internal/errtext"
)

// RunLogName is the run log of an unsharded run in its output folder; a
// shard K of N writes RunLogName with ".K-of-N" before ".jsonl", so shards
// sharing a folder (on NFS, where appends from several machines are not
// atomic) never write to one file.
const RunLogName = "convis-run.jsonl"

// Header is the first line a run appends to its log: what made the records
// after it.
type Header struct {
	Type     string         `json:"type"` // "header"
	Version  string         `json:"convis_version"`
	Started  string         `json:"started"`
	Host     string         `json:"host"`
	PID      int            `json:"pid"`
	Args     []string       `json:"args,omitempty"`
	Model    ModelInfo      `json:"model"`
	Vocab    string         `json:"vocab"`
	Prompts  string         `json:"prompts"`
	Method   string         `json:"method"`
	Params   map[string]any `json:"params"`
	Seed     uint64         `json:"seed"`
	Concepts []string       `json:"concepts"`
	Shard    string         `json:"shard"`
	Images   int            `json:"images"` // jobs of this run (after sharding)
	Force    bool           `json:"force,omitempty"`
}

// Footer is the last line of a run that ended (not of one killed).
type Footer struct {
	Type     string         `json:"type"` // "footer"
	Finished string         `json:"finished"`
	Images   int            `json:"images"`
	Failed   int            `json:"failed"`
	Skipped  int            `json:"skipped"`
	Records  map[string]int `json:"records"`
	Seconds  float64        `json:"seconds"`
	Stopped  string         `json:"stopped,omitempty"` // interrupted, fail-fast
}

// TornLine is a line of a run log that is not JSON: the end of a line a
// crashed run (or a full disk) left half-written, perhaps with the next
// run's first line glued to it by a convis before issue 29.
type TornLine struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

func (t TornLine) String() string {
	return fmt.Sprintf("run log %s: line %d is torn (not JSON: a run killed or out of disk space while writing it); skipped", t.File, t.Line)
}

// LogEntry is a line of a run log read back.
type LogEntry struct {
	File   string
	Header *Header
	Record *Record
	Footer *Footer
}

// ErrNoRunLog is a folder without a run log (maps made elsewhere, goldens).
var ErrNoRunLog = errors.New("no run log")

// FindRunLogs lists the run logs in a folder (every shard's).
func FindRunLogs(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, errtext.UnwrapPath(err))
	}
	if !st.IsDir() {
		return []string{dir}, nil
	}
	matches, err := filepath.Glob(filepath.Join(dir, "convis-run*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	if len(matches) == 0 {
		return nil, fmt.Errorf("%s: %w (%s) in this folder", dir, ErrNoRunLog, RunLogName)
	}
	return matches, nil
}

// ReadRunLog reads a run log, skipping torn lines (ReadRunLogAll says
// which).
func ReadRunLog(path string) ([]LogEntry, error) {
	entries, _, err := ReadRunLogAll(path)
	return entries, err
}

// ReadRunLogAll reads a run log. A line that is not JSON is torn (a run
// killed, or out of disk space, while writing it): it is skipped and
// returned in torn, for the reader to warn about and count. A line of JSON
// that is not a run log's is an error.
func ReadRunLogAll(path string) (entries []LogEntry, torn []TornLine, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("run log %s: %w", path, errtext.UnwrapPath(err))
	}
	defer f.Close()
	var out []LogEntry
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadString('\n')
		line = strings.TrimSpace(line)
		if line != "" {
			var kind struct {
				Type string `json:"type"`
			}
			if json.Unmarshal([]byte(line), &kind) != nil {
				torn = append(torn, TornLine{path, n})
				if err != nil {
					break
				}
				continue
			}
			e := LogEntry{File: path}
			var derr error
			switch kind.Type {
			case "header":
				e.Header = &Header{}
				derr = json.Unmarshal([]byte(line), e.Header)
			case "footer":
				e.Footer = &Footer{}
				derr = json.Unmarshal([]byte(line), e.Footer)
			case "record":
				e.Record = &Record{}
				derr = json.Unmarshal([]byte(line), e.Record)
			default:
				return nil, nil, fmt.Errorf("run log %s: line %d has unknown type %q", path, n, kind.Type)
			}
			if derr != nil {
				return nil, nil, fmt.Errorf("run log %s: line %d: %v", path, n, derr)
			}
			out = append(out, e)
		}
		if err != nil {
			break
		}
	}
	return out, torn, nil
}
