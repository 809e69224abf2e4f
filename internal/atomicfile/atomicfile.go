// Package atomicfile is convis's one way of writing a file: into a
// temporary file in the same folder, fsynced, renamed into place, and the
// folder fsynced, so that a crash or a full disk never leaves half a file
// under the real name. A Group stages several files and puts them in place
// together, or removes them all: the outputs of one (image, concept) are
// whole or absent.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Pending is a file written and fsynced under a temporary name, not yet
// in place.
type Pending struct {
	Path string // where it goes
	tmp  string
}

// Stage writes a file under a temporary name beside path (made with mode
// 0644) and fsyncs it; Commit puts it in place, Abort removes it.
func Stage(path string, write func(io.Writer) error) (*Pending, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, unwrap(err))
	}
	tmp := f.Name()
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("write %s: %w", path, unwrap(err))
	}
	return &Pending{Path: path, tmp: tmp}, nil
}

// Commit renames staged files into place, in order, then fsyncs their
// folders so that the renames survive a crash. On an error every file is
// removed, those already renamed too: the set is whole or absent.
func Commit(files ...*Pending) error {
	dirs := map[string]bool{}
	for i, p := range files {
		if err := os.Rename(p.tmp, p.Path); err != nil {
			Abort(files[i:]...)
			for _, done := range files[:i] {
				os.Remove(done.Path)
			}
			return fmt.Errorf("write %s: %w", p.Path, unwrap(err))
		}
		dirs[filepath.Dir(p.Path)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("write %s: %w", d, unwrap(err))
		}
	}
	return nil
}

// Abort removes staged files.
func Abort(files ...*Pending) {
	for _, p := range files {
		os.Remove(p.tmp)
	}
}

// Write writes one file atomically.
func Write(path string, write func(io.Writer) error) error {
	p, err := Stage(path, write)
	if err != nil {
		return err
	}
	return Commit(p)
}

// WriteBytes writes data to path atomically.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// Group stages files that go into place together.
type Group struct {
	// Stage stages one file; nil is the package's Stage (tests inject
	// failures here).
	Stage   func(path string, write func(io.Writer) error) (*Pending, error)
	pending []*Pending
}

// Add stages a file of the group; after an error the caller Aborts.
func (g *Group) Add(path string, write func(io.Writer) error) error {
	stage := g.Stage
	if stage == nil {
		stage = Stage
	}
	p, err := stage(path, write)
	if err != nil {
		return err
	}
	g.pending = append(g.pending, p)
	return nil
}

// Commit puts every staged file in place, in the order added (the one
// that says the others are complete, last).
func (g *Group) Commit() error {
	err := Commit(g.pending...)
	g.pending = nil
	return err
}

// Abort removes every staged file.
func (g *Group) Abort() {
	Abort(g.pending...)
	g.pending = nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot fsync a folder; the rename is still done.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
