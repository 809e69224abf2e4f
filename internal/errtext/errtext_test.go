package errtext

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnwrapPath(t *testing.T) {
	t.Parallel()
	_, err := os.ReadFile(filepath.Join(t.TempDir(), "missing.json"))
	for _, e := range []error{err, fmt.Errorf("reading: %w", err)} {
		got := UnwrapPath(e)
		if !errors.Is(got, fs.ErrNotExist) || strings.Contains(got.Error(), "missing.json") {
			t.Fatalf("UnwrapPath(%v) = %v, want the bare cause", e, got)
		}
	}
	other := fmt.Errorf("no path here")
	if UnwrapPath(other) != other {
		t.Fatal("an error without a path changed")
	}
}

func TestOneLineAndTruncate(t *testing.T) {
	t.Parallel()
	if got := OneLine("parse:\n  line 3\tbad\r\n"); got != "parse: line 3 bad" {
		t.Fatalf("OneLine = %q", got)
	}
	if got := Truncate("abcdef", 3); got != "abc…" {
		t.Fatalf("Truncate = %q", got)
	}
	if got := Truncate("abc", 3); got != "abc" {
		t.Fatalf("Truncate of a short text = %q", got)
	}
}
