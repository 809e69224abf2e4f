package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Regression (issue 29.22): a 29.7 MB build of convis-bench was committed
// at the repository root. No tracked file is an ELF binary, and none
// outside the model and test-data folders is over 16 MB.
func TestNoBuildOutputsTracked(t *testing.T) {
	t.Parallel()
	repo, _ := filepath.Abs("../..")
	out, err := exec.Command("git", "-C", repo, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout here: %v", err)
	}
	const maxSize = 16 << 20
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		path := filepath.Join(repo, name)
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		if bytes.Equal(head[:n], []byte("\x7fELF")) {
			t.Errorf("%s is an ELF binary: build outputs do not belong in the repository (git rm --cached it and ignore it)", name)
		}
		top := strings.SplitN(name, "/", 2)[0]
		if fi.Size() > maxSize && top != "models" && top != "testdata" {
			t.Errorf("%s is %d MB: over 16 MB outside models/ and testdata/", name, fi.Size()>>20)
		}
	}
}
