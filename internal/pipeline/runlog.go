package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/record"
)

// RunLogPath is the run log of a shard in an output folder.
func RunLogPath(outDir string, s Shard) string {
	if !s.Sharded() {
		return filepath.Join(outDir, record.RunLogName)
	}
	return filepath.Join(outDir, fmt.Sprintf("convis-run.%d-of-%d.jsonl", s.K, s.N))
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
// A log whose last line was torn (a crash, a full disk) gets a newline
// first: the header starts a line of its own instead of being glued to the
// torn one, so readers lose the torn line only.
func OpenRunLog(outDir string, s Shard, h record.Header) (*RunLog, error) {
	path := RunLogPath(outDir, s)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run log %s: %w", path, errtext.UnwrapPath(err))
	}
	l := &RunLog{f: f, Path: path}
	prefix := ""
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			prefix = "\n"
		}
	}
	h.Type = "header"
	if err := l.appendLine(prefix, h); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// Append writes v as one line.
func (l *RunLog) Append(v any) error { return l.appendLine("", v) }

// appendLine writes prefix and v's line in one write.
func (l *RunLog) appendLine(prefix string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data = append(append([]byte(prefix), data...), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(data); err != nil {
		return fmt.Errorf("run log %s: %w", l.Path, err)
	}
	return nil
}

// Close closes the log.
func (l *RunLog) Close() error { return l.f.Close() }
