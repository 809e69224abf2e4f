package pipeline

import (
	"os"
	"strings"
	"testing"

	"github.com/convis/convis/internal/record"
)

// Issue 29.5: a crash or a full disk leaves half a line at the end of the
// run log; the rerun's header must start a line of its own, and readers
// skip a torn line (anywhere) with a warning and count it, instead of
// failing ("line 7 is not JSON").
func TestTornRunLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := OpenRunLog(dir, Shard{}, record.Header{Images: 2})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(record.Record{Type: "record", Status: record.StatusError, Rel: "a.png", Method: "grid", Error: "corrupt"})
	l.Close()
	f, _ := os.OpenFile(RunLogPath(dir, Shard{}), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"record","status":"ok","relative_path":"b.png","conc`) // the crash
	f.Close()
	// The rerun.
	l, err = OpenRunLog(dir, Shard{}, record.Header{Images: 2})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(record.Record{Type: "record", Status: record.StatusOK, Rel: "b.png", Concept: "dog.n.01", Method: "grid"})
	l.Append(record.Record{Type: "record", Status: record.StatusError, Rel: "c.png", Concept: "dog.n.01", Method: "grid", Error: "truncated"})
	l.Close()
	data, _ := os.ReadFile(RunLogPath(dir, Shard{}))
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[3], `{"type":"header"`) {
		t.Fatalf("the rerun's header is not on a line of its own:\n%s", data)
	}
	// A torn line in the middle (a disk that filled up, then had room).
	f, _ = os.OpenFile(RunLogPath(dir, Shard{}), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("{\"type\":\"rec\n")
	f.Close()
	l, _ = OpenRunLog(dir, Shard{}, record.Header{Images: 1})
	l.Close()
	s, err := record.Summarize([]string{dir})
	if err != nil {
		t.Fatalf("summary of a torn log: %v", err)
	}
	if s.Runs != 3 || len(s.Torn) != 2 || s.Torn[0].Line != 3 || s.Torn[1].Line != 7 || s.OK != 1 || s.Errors != 2 || len(s.Failures) != 2 {
		t.Errorf("runs %d, torn %v, ok %d, errors %d, failures %v", s.Runs, s.Torn, s.OK, s.Errors, s.Failures)
	}
	var text strings.Builder
	s.Text(&text)
	if !strings.Contains(text.String(), "torn lines: 2 skipped") {
		t.Errorf("the summary does not count the torn lines:\n%s", text.String())
	}
	if w := s.Torn[0].String(); !strings.Contains(w, RunLogPath(dir, Shard{})) || !strings.Contains(w, "line 3") {
		t.Errorf("warning %q", w)
	}
}

// Issue 29.16: an image's time is that of the last run that explained it
// (a run plus its --force rerun is not their sum), and the CSV says that a
// pair found up to date by a rerun is done.
func TestSummaryTimesAndDoneOfReruns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, ms := range []float64{100, 120} { // a run, then its --force rerun
		l, err := OpenRunLog(dir, Shard{}, record.Header{Images: 2, Force: ms == 120})
		if err != nil {
			t.Fatal(err)
		}
		// Two concepts share the image's time.
		l.Append(record.Record{Type: "record", Status: record.StatusOK, Rel: "a.png", Concept: "dog.n.01", Method: "grid", Timings: map[string]float64{"prepare": 10, "explain": ms/2 - 10}})
		l.Append(record.Record{Type: "record", Status: record.StatusOK, Rel: "a.png", Concept: "cat.n.01", Method: "grid", Timings: map[string]float64{"explain": ms/2 - 10, "write": 10}})
		l.Close()
	}
	// A plain rerun finds b.png up to date; it was made by the first one.
	l, _ := OpenRunLog(dir, Shard{K: 0, N: 2}, record.Header{Images: 1})
	l.Append(record.Record{Type: "record", Status: record.StatusOK, Rel: "b.png", Concept: "dog.n.01", Method: "grid", Timings: map[string]float64{"explain": 300}})
	l.Close()
	l, _ = OpenRunLog(dir, Shard{K: 0, N: 2}, record.Header{Images: 1})
	l.Append(record.Record{Type: "record", Status: record.StatusSkipped, Rel: "b.png", Concept: "dog.n.01", Method: "grid", Box: &record.Box{X: 1, Y: 2, W: 3, H: 4}})
	l.Close()
	s, err := record.Summarize([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if s.MSPerImg != (120+300)/2 {
		t.Errorf("ms_per_image %v, want %v (a.png by its rerun, b.png by the run that made it)", s.MSPerImg, (120+300)/2)
	}
	var csv strings.Builder
	if err := s.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if !strings.HasPrefix(lines[0], "relative_path,image,concept,method,status,done,") || len(lines) != 4 {
		t.Fatalf("CSV:\n%s", csv.String())
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, ",true,") {
			t.Errorf("a done pair is not said done: %s", l)
		}
		if strings.HasPrefix(l, "b.png,") && !strings.Contains(l, ",skipped,true,1,2,3,4,") {
			t.Errorf("the up-to-date pair: %s", l)
		}
	}
}
