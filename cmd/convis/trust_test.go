package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// explain --top 5 makes five records whose concepts are the five that
// classify --top 5 lists for the image, in its order: one ranking rule for
// both commands. The maps come from the windows classify cached.
func TestExplainTopIsClassifyTop(t *testing.T) {
	lib := ortLibForTest(t)
	cache := t.TempDir()
	convis := func(args ...string) []byte {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"--model", "../../testdata/fixture-model", "--ort-lib", lib, "--cache-dir", cache}, args...)
		if code := Main(context.Background(), args, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("convis %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		return stdout.Bytes()
	}
	img := "../../testdata/images/landscape.png"
	var listed []classifyEntry
	if err := json.Unmarshal(convis("classify", img, "--top", "5", "--json"), &listed); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range listed {
		want = append(want, e.Synset)
	}
	var recs []struct {
		Concept string `json:"concept"`
		TopRank int    `json:"top_rank"`
		Status  string `json:"status"`
		Passes  int    `json:"forward_passes"`
	}
	if err := json.Unmarshal(convis("explain", img, "--top", "5", "--format", "json", "-o", t.TempDir(), "--json"), &recs); err != nil {
		t.Fatal(err)
	}
	sort.Slice(recs, func(a, b int) bool { return recs[a].TopRank < recs[b].TopRank })
	var got []string
	passes := 0
	for i, r := range recs {
		if r.Status != "ok" || r.TopRank != i+1 {
			t.Errorf("record %d: %+v", i, r)
		}
		got = append(got, r.Concept)
		passes += r.Passes
	}
	if len(want) != 5 || !reflect.DeepEqual(got, want) {
		t.Fatalf("explain --top 5 explained %v, classify --top 5 lists %v", got, want)
	}
	// Only the refinement's windows are new: the grid's came from classify.
	if passes == 0 || passes > 200 {
		t.Errorf("explain --top 5 encoded %d windows after classify, want only the refinement's (< 200)", passes)
	}
}
