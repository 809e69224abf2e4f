package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromiumForTest is headless Chromium, which CI installs (Debian's
// chromium); elsewhere the browser tests are skipped with a message.
func chromiumForTest(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is missing: .ci/run installs Debian's chromium")
	}
	t.Skip("Chromium is not installed (apt-get install chromium): the browser test needs it")
	return ""
}

// chromium runs headless Chromium on a page with the flags that keep it
// off the network, and returns its stdout.
func chromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir(), "--virtual-time-budget=10000"}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

var selftestRE = regexp.MustCompile(`selftest images=(\d+) loaded=(\d+) failed=(\d+) errors=(\d+) visible=(\d+)`)

// checkPage opens a page in headless Chromium: every picture it names
// loads and no script error happens (the page's #selftest counts them);
// nothing is fetched from the network; a screenshot is taken.
func checkPage(t *testing.T, bin, page string, wantImages int) {
	t.Helper()
	html := string(mustRead(t, page))
	if strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Errorf("%s names a network resource", page)
	}
	abs, _ := filepath.Abs(page)
	dom := chromium(t, bin, "--dump-dom", "file://"+abs+"#selftest")
	m := selftestRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's self-test did not finish; DOM tail: %.500s", dom[max(0, len(dom)-500):])
	}
	n, _ := strconv.Atoi(m[1])
	loaded, _ := strconv.Atoi(m[2])
	if n < wantImages || loaded != n || m[3] != "0" || m[4] != "0" {
		t.Errorf("%s: %s (want at least %d pictures, all loaded, no script error)", page, m[0], wantImages)
	}
	t.Logf("%s: %s", filepath.Base(page), m[0])
	shot := filepath.Join(filepath.Dir(abs), "screenshot.png")
	chromium(t, bin, "--window-size=1280,900", "--screenshot="+shot, "file://"+abs)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Errorf("no screenshot: %v", err)
	}
}

// The report of a batch and the page of a comparison, opened in a real
// browser.
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts headless Chromium on a 9-image batch (make test-long)")
	}
	t.Parallel()
	bin := chromiumForTest(t)
	lib := ortLibForTest(t)
	warmIndex(t, lib, sharedCache)
	root, _ := batchTree(t, 9)
	out := filepath.Join(t.TempDir(), "out")
	cmd := convisCmd(t, nil, batchArgs(lib, sharedCache, out, root, "-r")...)
	cmd.Run() // exit 1: the tree holds two bad files, which the report lists
	page := filepath.Join(out, "report.html")
	var stdout, stderr bytes.Buffer
	if code := Main(t.Context(), []string{"report", out, "-o", page}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr.String())
	}
	html := string(mustRead(t, page))
	for _, want := range []string{"broken.png", "truncated.png", "animal.n.01", "food.n.01"} {
		if !strings.Contains(html, want) {
			t.Errorf("the report does not mention %s", want)
		}
	}
	// 9 images × 2 concepts: a thumbnail, a map and the original each.
	checkPage(t, bin, page, 9*2*2)

	// One self-contained file.
	embedded := filepath.Join(t.TempDir(), "embedded.html")
	if code := Main(t.Context(), []string{"report", out, "-o", embedded, "--embed"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("report --embed: %s", stderr.String())
	}
	if _, err := os.Stat(strings.TrimSuffix(embedded, ".html") + "_files"); err == nil {
		t.Error("--embed wrote a picture folder")
	}
	checkPage(t, bin, embedded, 9*2)

	// compare --html: the same page for the pairs of a comparison.
	other := filepath.Join(t.TempDir(), "other")
	convisCmd(t, nil, batchArgs(lib, sharedCache, other, root, "-r", "--seed", "3")...).Run()
	cmpPage := filepath.Join(t.TempDir(), "compare.html")
	Main(t.Context(), []string{"compare", out, other, "--html", cmpPage}, nil, &stdout, &stderr)
	checkPage(t, bin, cmpPage, 9*2*3)
}
