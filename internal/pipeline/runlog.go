package pipeline

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// RunLogName is the run log of an unsharded run in its output folder; a
// shard K of N writes RunLogName with ".K-of-N" before ".jsonl", so shards
// sharing a folder (on NFS, where appends from several machines are not
// atomic) never write to one file.
const RunLogName = "convis-run.jsonl"

// RunLogPath is the run log of a shard in an output folder.
func RunLogPath(outDir string, s Shard) string {
	if !s.Sharded() {
		return filepath.Join(outDir, RunLogName)
	}
	return filepath.Join(outDir, fmt.Sprintf("convis-run.%d-of-%d.jsonl", s.K, s.N))
}

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

// RunLog appends JSON lines to a run log. Each line is one write on a file
// opened for appending, so a killed run leaves whole lines (at worst a
// last partial one, which readers skip).
type RunLog struct {
	mu   sync.Mutex
	f    *os.File
	Path string
}

// OpenRunLog opens (creating) the run log of a shard and appends header.
func OpenRunLog(outDir string, s Shard, h Header) (*RunLog, error) {
	path := RunLogPath(outDir, s)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run log %s: %w", path, unwrapPath(err))
	}
	l := &RunLog{f: f, Path: path}
	h.Type = "header"
	if err := l.Append(h); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// Append writes v as one line.
func (l *RunLog) Append(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(data); err != nil {
		return fmt.Errorf("run log %s: %w", l.Path, err)
	}
	return nil
}

// Close closes the log.
func (l *RunLog) Close() error { return l.f.Close() }

// LogEntry is a line of a run log read back.
type LogEntry struct {
	File   string
	Header *Header
	Record *Record
	Footer *Footer
}

// FindRunLogs lists the run logs in a folder (every shard's).
func FindRunLogs(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, unwrapPath(err))
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
		return nil, fmt.Errorf("%s: no run log (%s) in this folder", dir, RunLogName)
	}
	return matches, nil
}

// ReadRunLog reads a run log. A line that is not JSON is an error, except
// a last line without its newline (a run killed while writing it).
func ReadRunLog(path string) ([]LogEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("run log %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	var out []LogEntry
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadString('\n')
		complete := strings.HasSuffix(line, "\n")
		line = strings.TrimSpace(line)
		if line != "" {
			var kind struct {
				Type string `json:"type"`
			}
			if jerr := json.Unmarshal([]byte(line), &kind); jerr != nil {
				if !complete {
					break // a partial last line
				}
				return nil, fmt.Errorf("run log %s: line %d is not JSON: %v", path, n, jerr)
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
				return nil, fmt.Errorf("run log %s: line %d has unknown type %q", path, n, kind.Type)
			}
			if derr != nil {
				return nil, fmt.Errorf("run log %s: line %d: %v", path, n, derr)
			}
			out = append(out, e)
		}
		if err != nil {
			break
		}
	}
	return out, nil
}
