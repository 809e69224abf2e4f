package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A group whose third file fails leaves nothing: neither the two staged
// before it nor a temporary; a group that succeeds puts every file in place.
func TestGroupIsWholeOrAbsent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	g := &Group{}
	for _, n := range []string{"a", "b"} {
		if err := g.Add(filepath.Join(dir, n), text(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Add(filepath.Join(dir, "c"), func(w io.Writer) error { return errors.New("no space left on device") }); err == nil {
		t.Fatal("a failing write was not reported")
	}
	g.Abort()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	g = &Group{}
	for _, n := range []string{"a", "b"} {
		g.Add(filepath.Join(dir, n), text(n))
	}
	if err := g.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if data, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(data) != n {
			t.Errorf("%s: %q %v", n, data, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 2 {
		t.Errorf("files: %v", left)
	}
}

// Write replaces a file whole, with mode 0644.
func TestWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x")
	if err := WriteBytes(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(data) != "two" || fi.Mode().Perm() != 0o644 {
		t.Errorf("%q %v", data, fi.Mode())
	}
}
