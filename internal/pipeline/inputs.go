// Package pipeline is convis's per-image pipeline, shared by explain, eval
// and the tools that read their outputs: inputs become jobs (relative
// paths, stable order, shards), each job is decoded, explained, rendered
// and written with a sidecar, and each (image, concept) gives one Record.
// It knows nothing of terminals or flags: progress goes through a callback.
package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/convis/convis/internal/dicom"
	"github.com/convis/convis/internal/errtext"
)

// ImageExts are the file endings taken from directories.
var ImageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true, ".tif": true, ".tiff": true, ".webp": true, ".dcm": true}

// isImage says whether a file in a folder is an image: by its ending, or,
// for DICOM files that often have none (IM000001, 1.2.840…), by the DICM
// preamble.
func isImage(path string) bool {
	if ImageExts[strings.ToLower(filepath.Ext(path))] {
		return true
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return false // never open a FIFO or device to sniff it
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [132]byte
	_, err = io.ReadFull(f, head[:])
	return err == nil && dicom.Preamble(head[:])
}

// Job is one input image.
type Job struct {
	Path string // the file to read, as the user named it (or found below a named folder)
	Rel  string // slash-separated path relative to the run's root: names outputs and shards
	Stem string // Rel without its extension (with it where two inputs would share a stem)
	// PerFrame marks one frame of a multi-frame DICOM file (--frame all):
	// Frame is decoded and Stem ends in .fNNN.
	PerFrame bool
	Frame    int
}

// InputOptions say how inputs become jobs.
type InputOptions struct {
	Recursive bool
	// Output is the run's output folder: never descended into, so that a
	// rerun (or -o inside the input tree) never explains its own outputs.
	Output string
}

// InputStats counts what listing left out.
type InputStats struct {
	NonImage int // files in folders that are not images by their ending
	Hidden   int // hidden files and folders skipped
	Folders  int // subfolders not descended into (without Recursive)
	// NotRegular are FIFOs, sockets and devices in folders: skipped as
	// "not a regular file" (reading a FIFO would hang the batch).
	NotRegular      int
	NotRegularPaths []string // the first few, to name them
	// Output counts the entries skipped because they are the run's output
	// folder (a rerun never explains its own outputs).
	Output int
}

// ListFile reads one path per line (blank lines and lines starting with #
// are skipped); "-" is stdin. It returns ctx's error as soon as ctx is
// done: a list read from a pipe that never ends must not make the run deaf
// to an interrupt (the read itself is left to the exiting process).
func ListFile(ctx context.Context, name string, stdin io.Reader) ([]string, error) {
	type result struct {
		list []string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		l, err := readList(name, stdin)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		return r.list, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func readList(name string, stdin io.Reader) ([]string, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("--from-file %s: %w", name, errtext.UnwrapPath(err))
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--from-file %s: %v", name, err)
	}
	return out, nil
}

// Expand turns files and folders into jobs. Folders give their images
// (sorted; with Recursive, those of subfolders too, following links to
// folders but never one already visited, so a link loop ends); hidden
// entries are skipped. Named files are kept whatever their ending, and a
// path that does not exist stays, to be reported as an error in turn.
//
// Rel is relative to the named folder when exactly one folder is named,
// else to the deepest folder holding every input: in/a/x.png and
// in/b/x.png become a/x.png and b/x.png, never x.png twice.
func Expand(args []string, o InputOptions) ([]Job, InputStats, error) {
	var stats InputStats
	type found struct{ path, base string }
	var files []found
	var bases []string
	seen := map[string]bool{}
	add := func(path, base string) {
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		if seen[abs] {
			return
		}
		seen[abs] = true
		files = append(files, found{path, base})
	}
	output := ""
	if o.Output != "" {
		output = realPath(o.Output)
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			add(a, filepath.Dir(a))
			bases = append(bases, filepath.Dir(a))
			continue
		}
		bases = append(bases, a)
		visited := map[string]bool{}
		var walk func(dir string) error
		walk = func(dir string) error {
			if output != "" && realPath(dir) == output {
				stats.Output++
				return nil
			}
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				if visited[real] {
					return nil
				}
				visited[real] = true
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				return fmt.Errorf("%s: %w", dir, errtext.UnwrapPath(err))
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					stats.Hidden++
					continue
				}
				p := filepath.Join(dir, e.Name())
				isDir := e.IsDir()
				if e.Type()&os.ModeSymlink != 0 {
					if st, err := os.Stat(p); err == nil {
						isDir = st.IsDir()
					}
				}
				if isDir {
					if o.Recursive {
						if err := walk(p); err != nil {
							return err
						}
					} else {
						stats.Folders++
					}
					continue
				}
				if !isImage(p) {
					stats.NonImage++
					continue
				}
				if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
					stats.NotRegular++
					if len(stats.NotRegularPaths) < 10 {
						stats.NotRegularPaths = append(stats.NotRegularPaths, p)
					}
					continue
				}
				add(p, a)
			}
			return nil
		}
		if err := walk(a); err != nil {
			return nil, stats, err
		}
	}
	root := commonDir(bases)
	jobs := make([]Job, 0, len(files))
	for _, f := range files {
		rel, err := relTo(root, f.path)
		if err != nil {
			return nil, stats, err
		}
		jobs = append(jobs, Job{Path: f.path, Rel: rel})
	}
	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].Rel < jobs[b].Rel })
	assignStems(jobs)
	return jobs, stats, nil
}

// realPath is path made absolute with its links resolved (as far as it
// exists), to compare folders.
func realPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return filepath.Clean(abs)
}

// assignStems names outputs by the relative path without its extension;
// inputs that would share one (x.png and x.jpg) keep their extensions, so
// outputs never overwrite each other.
func assignStems(jobs []Job) {
	count := map[string]int{}
	stem := func(rel string) string { return strings.TrimSuffix(rel, filepath.Ext(rel)) }
	for _, j := range jobs {
		count[stem(j.Rel)]++
	}
	for i := range jobs {
		s := stem(jobs[i].Rel)
		if count[s] > 1 || s == "" {
			s = jobs[i].Rel
		}
		jobs[i].Stem = s
	}
}

// commonDir is the deepest folder that holds every path (absolute).
func commonDir(paths []string) string {
	var common []string
	for i, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		parts := strings.Split(filepath.Clean(abs), string(filepath.Separator))
		if i == 0 {
			common = parts
			continue
		}
		n := 0
		for n < len(common) && n < len(parts) && common[n] == parts[n] {
			n++
		}
		common = common[:n]
	}
	if len(common) <= 1 {
		return string(filepath.Separator)
	}
	return strings.Join(common, string(filepath.Separator))
}

func relTo(root, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside %s", path, root)
	}
	return filepath.ToSlash(rel), nil
}
