package main

import (
	"bytes"
	"fmt"
	"image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convis/convis/internal/record"
)

// dicomTree copies the privacy test files (patient and study fields set to
// the known strings of STRINGS.txt) into a folder with a JPEG 2000 file
// convis refuses and a PNG; it returns the folder and those strings.
func dicomTree(t *testing.T) (string, []string) {
	t.Helper()
	src := "../../testdata/dicom/"
	root := filepath.Join(t.TempDir(), "scans")
	for _, rel := range []string{"ct.dcm", "no-extension", "sub/mr.dcm", "sub/rgb-2frame.dcm"} {
		writeFile(t, filepath.Join(root, rel), mustRead(t, src+"privacy/"+rel))
	}
	writeFile(t, filepath.Join(root, "sub/jp2k.dcm"), mustRead(t, src+"JPEG2000.dcm"))
	writeFile(t, filepath.Join(root, "photo.png"), mustRead(t, "../../testdata/images/landscape.png"))
	var secrets []string
	for _, line := range strings.Split(string(mustRead(t, src+"privacy/STRINGS.txt")), "\n") {
		if _, v, ok := strings.Cut(line, "\t"); ok && !strings.HasPrefix(line, "#") {
			secrets = append(secrets, v)
		}
	}
	// The SOP Instance UIDs, recorded only with --keep-uids.
	secrets = append(secrets, "1.2.826.0.1.3680043.8.498.7773")
	return root, secrets
}

// noSecrets fails if any identifying string appears in any file under dir
// or in the given streams.
func noSecrets(t *testing.T, secrets []string, dir string, streams ...[]byte) {
	t.Helper()
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		streams = append(streams, mustRead(t, p))
		for _, s := range secrets {
			if bytes.Contains(mustRead(t, p), []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
	if files < 10 {
		t.Errorf("only %d output files under %s", files, dir)
	}
	for i, b := range streams[:len(streams)-files] {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("stream %d holds %q", i, s)
			}
		}
	}
}

// A recursive DICOM batch (a file without an extension found by its
// preamble, a two-frame file with --frame all, a JPEG 2000 file refused)
// streams its records, resumes, shards like a PNG batch, and no patient or
// study identifier reaches an output, stdout or stderr.
func TestBatchDICOM(t *testing.T) {
	t.Parallel()
	lib := ortLibForTest(t)
	cache := sharedCache
	warmIndex(t, lib, cache)
	root, secrets := dicomTree(t)
	out := filepath.Join(t.TempDir(), "out")
	args := func(out string, extra ...string) []string {
		return batchArgs(lib, cache, out, append([]string{root, "-r", "--jsonl", "--frame", "all", "--format", "input,overlay,npy,json"}, extra...)...)
	}
	all, stderr, code := streamed(t, convisCmd(t, nil, args(out)...))
	if code != 1 {
		t.Fatalf("want exit 1 (the JPEG 2000 file), got %d; stderr: %s", code, stderr)
	}
	recs := readRecords(t, all)
	ok, bad := map[string]int{}, map[string]string{}
	for _, rec := range recs {
		key := rec.Rel
		if rec.Frame != nil {
			key = fmt.Sprintf("%s#%d", rec.Rel, *rec.Frame)
		}
		switch rec.Status {
		case record.StatusOK:
			ok[key]++
		default:
			bad[key] = rec.Error
		}
	}
	for _, k := range []string{"photo.png", "ct.dcm", "no-extension", "sub/mr.dcm", "sub/rgb-2frame.dcm#0", "sub/rgb-2frame.dcm#1"} {
		if ok[k] != 2 {
			t.Errorf("%s: %d ok records, want 2 (%v)", k, ok[k], ok)
		}
	}
	if e := bad["sub/jp2k.dcm"]; len(bad) != 1 || !strings.Contains(e, "1.2.840.10008.1.2.4.91") || !strings.Contains(e, "gdcmconv --raw") {
		t.Errorf("failures %v, want the JPEG 2000 file with its conversion hint", bad)
	}
	if !strings.Contains(stderr, "1 of 7 images failed") {
		t.Errorf("stderr does not count the failure: %s", stderr)
	}
	// STEM.input.png is the decoded image at its own size, for a PNG too.
	if im, err := png.Decode(bytes.NewReader(mustRead(t, filepath.Join(out, "photo.input.png")))); err != nil {
		t.Error(err)
	} else if src, _ := png.DecodeConfig(bytes.NewReader(mustRead(t, filepath.Join(root, "photo.png")))); im.Bounds().Dx() != src.Width || im.Bounds().Dy() != src.Height {
		t.Errorf("photo.input.png is %v, the input %dx%d", im.Bounds(), src.Width, src.Height)
	}
	if im, err := png.Decode(bytes.NewReader(mustRead(t, filepath.Join(out, "ct.input.png")))); err != nil || im.Bounds().Dx() != 128 || im.Bounds().Dy() != 128 {
		t.Errorf("ct.input.png: %v, want 128x128", err)
	}
	for _, p := range []string{"ct.input.png", "ct.animal.n.01.overlay.png", "no-extension.input.png", "sub/mr.food.n.01.json",
		"sub/rgb-2frame.f000.animal.n.01.overlay.png", "sub/rgb-2frame.f001.animal.n.01.overlay.png", "sub/rgb-2frame.f001.input.png"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("output %s: %v", p, err)
		}
	}
	if bytes.Equal(mustRead(t, filepath.Join(out, "sub/rgb-2frame.f000.animal.n.01.map.npy")), mustRead(t, filepath.Join(out, "sub/rgb-2frame.f001.animal.n.01.map.npy"))) {
		t.Error("the two frames have the same map")
	}
	sc := string(mustRead(t, filepath.Join(out, "sub/rgb-2frame.f001.animal.n.01.json")))
	for _, want := range []string{`"transfer_syntax_name": "RLE Lossless"`, `"frame": 1`, `"frames": 2`, `"frame": "all"`} {
		if !strings.Contains(sc, want) {
			t.Errorf("sidecar lacks %s", want)
		}
	}
	checkParses(t, out)

	// Resume: a rerun skips every pair.
	rerun, stderr2, _ := streamed(t, convisCmd(t, nil, args(out)...))
	for _, rec := range readRecords(t, rerun) {
		if rec.Status != record.StatusSkipped && rec.Rel != "sub/jp2k.dcm" {
			t.Errorf("rerun: %s %s is %s, want skipped", rec.Rel, rec.Concept, rec.Status)
		}
	}
	// Another window is other settings, not a skip.
	var wstderr bytes.Buffer
	c := convisCmd(t, nil, args(out, "--window", "40,400")...)
	c.Stderr = &wstderr
	wout, _ := c.Output()
	if !strings.Contains(string(wout), "exists with other settings (window") {
		t.Errorf("a rerun with --window was not refused as other settings: %s", wout)
	}

	// Shards: 0/2 and 1/2 into one folder make what one run made.
	shared := filepath.Join(t.TempDir(), "shared")
	var streams [][]byte
	seen := map[string]int{}
	for k := 0; k < 2; k++ {
		var so, se bytes.Buffer
		c := convisCmd(t, nil, args(shared, "--shard", fmt.Sprintf("%d/2", k))...)
		c.Stdout, c.Stderr = &so, &se
		if err := c.Run(); err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatal(err)
			}
		}
		images := map[string]bool{}
		for _, rec := range readRecords(t, so.Bytes()) {
			images[rec.Rel] = true
		}
		for rel := range images {
			seen[rel]++
		}
		streams = append(streams, so.Bytes(), se.Bytes())
	}
	if len(seen) != 6 {
		t.Errorf("the shards took %d files, want 6: %v", len(seen), seen)
	}
	for rel, n := range seen {
		if n != 1 {
			t.Errorf("%s in %d shards", rel, n)
		}
	}
	sameAsOneRun(t, out, shared)
	// The readers of the folder: a report and a summary.
	var rout, rerr, sout bytes.Buffer
	if code := Main(t.Context(), []string{"report", out, "-o", filepath.Join(out, "report.html")}, nil, &rout, &rerr); code != 0 {
		t.Errorf("report: exit %d: %s", code, rerr.String())
	}
	Main(t.Context(), []string{"runs", "summary", out, "--json"}, nil, &sout, &rerr)
	if !strings.Contains(sout.String(), "rgb-2frame") {
		t.Errorf("summary: %s", sout.String())
	}
	streams = append(streams, rout.Bytes(), rerr.Bytes(), sout.Bytes())
	noSecrets(t, secrets, out, append(streams, all, []byte(stderr), rerun, []byte(stderr2), wout, wstderr.Bytes())...)
	noSecrets(t, secrets, shared)
}
