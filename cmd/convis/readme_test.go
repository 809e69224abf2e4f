package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/convis/convis/models/hubtest"
)

// readmeExamples are the convis command lines of README.md's sh blocks.
func readmeExamples(t *testing.T) []string {
	t.Helper()
	data := mustRead(t, "../../README.md")
	var out []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.Contains(line, "convis "):
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			if strings.HasPrefix(strings.TrimSpace(line), "make ") {
				continue
			}
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// shellWords splits a command line as sh does for these examples: spaces,
// and single or double quotes around a word.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	quote := rune(0)
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// scenesArg is a benchmark folder in an example: testdata/scenes or
// testdata/scenes-nonsquare.
var scenesArg = regexp.MustCompile(`testdata/scenes(-nonsquare)?`)

// Regression (issue 20.18): every example of the README runs as written,
// on test data: its files stand for the README's, the Hub is a local
// stand-in serving the fixture model under the README's model names, and
// the evaluation is limited to two scenes.
func TestREADMEExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every README example (make test-long)")
	}
	lib := ortLibForTest(t)
	examples := readmeExamples(t)
	if len(examples) < 15 {
		t.Fatalf("found %d README examples", len(examples))
	}
	work := t.TempDir()
	copyTo := func(src, dst string) {
		writeFile(t, filepath.Join(work, dst), mustRead(t, src))
	}
	copyTo("../../testdata/images/portrait.jpg", "photo.jpg")
	copyTo("../../testdata/images/landscape.png", "img.png")
	copyTo("../../testdata/images/gray.png", "xray.png")
	copyTo("../../testdata/dicom/CT_small.dcm", "testdata/dicom/CT_small.dcm")
	copyTo("../../testdata/dicom/SC_rgb_rle_2frame.dcm", "scans/b/two-frames.dcm")
	for _, d := range []string{"scans/a/", "scans/b/", "data/", "data/sub/", "photos/", "fruit/", "instruments/"} {
		copyTo("../../testdata/images/gray.png", d+"one.png")
	}
	hub, err := hubtest.New("Xenova/clip-vit-base-patch32", "../../testdata/fixture-model")
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	delete(hub.Files, "reference.json")
	for _, base := range []string{"vision_model", "text_model"} {
		hub.Files["onnx/"+base+"_quantized.onnx"] = hub.Files["onnx/"+base+".onnx"]
	}
	repo, _ := filepath.Abs("../..")
	fixture := filepath.Join(repo, "testdata/fixture-model")
	env := []string{"HF_ENDPOINT=" + hub.URL(), "HF_HUB_OFFLINE=", "CONVIS_ORT_LIB=" + lib, "CONVIS_CACHE_DIR=" + sharedCache,
		"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=4", "CONVIS_MODEL=" + fixture}
	for _, ex := range examples {
		line := strings.ReplaceAll(ex, "/shared/out", filepath.Join(work, "shared-out"))
		line = strings.ReplaceAll(line, "hf:OWNER/REPO@REVISION", "hf:Xenova/clip-vit-base-patch32@main")
		// "Bring your own model": the exported folder is a family fixture.
		line = strings.ReplaceAll(line, "build/export/my-model", filepath.Join(repo, "testdata/families/clip336"))
		line = scenesArg.ReplaceAllString(line, filepath.Join(repo, "$0")+" --limit 2")
		var stdin string
		if before, after, ok := strings.Cut(line, "|"); ok {
			// find … | convis …: the file list comes from find itself.
			out, err := exec.Command("sh", "-c", "cd "+work+" && "+before).Output()
			if err != nil {
				t.Fatalf("%s: %v", before, err)
			}
			stdin, line = string(out), strings.TrimSpace(after)
		}
		redirect := ""
		if before, after, ok := strings.Cut(line, " > "); ok {
			line, redirect = before, strings.TrimSpace(after)
		}
		args := shellWords(line)[1:]
		cmd := convisCmd(t, env, args...)
		cmd.Dir, cmd.Stdin = work, strings.NewReader(stdin)
		var out []byte
		var err error
		if redirect != "" {
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err = cmd.Output()
			if err == nil {
				err = os.WriteFile(filepath.Join(work, redirect), out, 0o644)
			}
			out = stderr.Bytes()
		} else {
			out, err = cmd.CombinedOutput()
		}
		if err != nil {
			t.Errorf("README example %q failed: %v\n%s", ex, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "out", "convis-run.jsonl")); err != nil {
		t.Errorf("the batch examples wrote no run log: %v", err)
	}
}
