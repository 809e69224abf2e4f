package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/clip/ort"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

// benchCLI times convis itself, each run a new process as a user's script
// starts it: a first concept on an image (its windows encoded and cached,
// the concept index already cached) against a second concept on the same
// image (every embedding from the cache); and, for the built-in model, 20
// images as one batch against 20 processes of one image each (the concept
// index cached, the window cache emptied first, so both encode everything).
func benchCLI(convis, modelDir string, images int) error {
	if _, err := os.Stat(convis); err != nil {
		return fmt.Errorf("%s: %v (make build)", convis, err)
	}
	tmp, err := os.MkdirTemp("", "convis-bench-cli-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cache := filepath.Join(tmp, "cache")
	scenes, err := filepath.Glob("testdata/scenes/single/*.png")
	if err != nil || len(scenes) < images+2 {
		return fmt.Errorf("need %d scenes in testdata/scenes/single", images+2)
	}
	sort.Strings(scenes)
	run := func(args ...string) (time.Duration, error) {
		base := []string{"--cache-dir", cache}
		if modelDir != "" {
			base = append(base, "--model", modelDir)
		}
		cmd := exec.Command(convis, append(base, args...)...)
		t := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("convis %v: %v\n%s", args, err, out)
		}
		return time.Since(t), nil
	}
	// Warm the concept index and the OS's file cache.
	if _, err := run("explain", scenes[0], "-c", "dog", "-o", filepath.Join(tmp, "warm")); err != nil {
		return err
	}
	first, err := run("explain", scenes[1], "-c", "dog", "-o", filepath.Join(tmp, "first"))
	if err != nil {
		return err
	}
	second, err := run("explain", scenes[1], "-c", "animal", "-o", filepath.Join(tmp, "second"))
	if err != nil {
		return err
	}
	fmt.Printf("%-52s %10.2f\n", "explain, first concept on an image (s, new process)", first.Seconds())
	fmt.Printf("%-52s %10.2f\n", "explain, second concept, same image (s, new process)", second.Seconds())
	fmt.Printf("%-52s %10.3f  (target ≤ 0.05 on ViT-B/32-sized)\n", "second concept ÷ first", second.Seconds()/first.Seconds())
	if images <= 0 {
		return nil
	}
	set := scenes[2 : 2+images]
	// ABBA: separate processes, one batch, one batch, separate processes.
	var sep, one time.Duration
	for i, batch := range []bool{false, true, true, false} {
		out := filepath.Join(tmp, fmt.Sprint("n", i))
		if _, err := run("cache", "clear", "--only", "embeddings"); err != nil {
			return err
		}
		if batch {
			d, err := run(append([]string{"explain", "-c", "dog", "-o", out}, set...)...)
			if err != nil {
				return err
			}
			one += d
			continue
		}
		for _, s := range set {
			d, err := run("explain", s, "-c", "dog", "-o", out)
			if err != nil {
				return err
			}
			sep += d
		}
	}
	fmt.Printf("%-52s %10.2f\n", fmt.Sprintf("%d images, one process each (s)", images), sep.Seconds()/2)
	fmt.Printf("%-52s %10.2f\n", fmt.Sprintf("%d images, one batch (s)", images), one.Seconds()/2)
	fmt.Printf("%-52s %10.3f  (target ≤ 0.9, built-in model)\n", fmt.Sprintf("%d in one batch ÷ %d × one image", images, images), float64(one)/float64(sep))
	return nil
}

// benchRanking measures the ranking of a grid map's windows against all of
// WordNet (--vocab wordnet): its share of the map's time, with ONNX
// Runtime's product and with scalar Go. The prompt embeddings are random
// unit vectors (building the real index would take the text encoder 15
// minutes on a ViT-B/32 here): ranking costs the same whatever the values.
func benchRanking(ctx context.Context, rt *ort.Runtime, m *clip.Model, img *clip.RGB, batch, reps int) error {
	db := wordnet.MustLoad()
	h, err := db.LoadHierarchy(wordnet.VocabWordNet)
	if err != nil {
		return err
	}
	texts, owner, err := saliency.Prompts(h, saliency.PromptDefinitions)
	if err != nil {
		return err
	}
	dim := m.Image.Dim()
	ix := &saliency.ConceptIndex{H: h, Mode: saliency.PromptDefinitions, Dim: dim, Owner: owner, Emb: make([]float32, len(texts)*dim)}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < len(texts); i++ {
		row := ix.Emb[i*dim : (i+1)*dim]
		for k := range row {
			row[k] = float32(r.NormFloat64())
		}
		clip.Normalize(row)
	}
	t := time.Now()
	mm, err := rt.NewMatMul(ix.Emb, ix.Len(), ix.Dim)
	if err != nil {
		return err
	}
	defer mm.Close()
	setup := time.Since(t)
	s, _ := db.ByName("dog.n.01")
	concept, err := ix.Concept("dog", s)
	if err != nil {
		return err
	}
	ex := &saliency.Explainer{Encoder: m.Image, Pre: m.Pre, Index: ix}
	p := saliency.DefaultParams()
	p.Batch = batch
	windows := 0 // windows ranked per map (those that touch the image)
	timeMap := func() (time.Duration, time.Duration, error) {
		best, score := time.Duration(1<<62), time.Duration(0)
		for i := 0; i < reps; i++ {
			t := time.Now()
			res, err := ex.Explain(ctx, img, []saliency.Concept{concept}, p, nil)
			if err != nil {
				return 0, 0, err
			}
			if d := time.Since(t); d < best {
				best, score = d, res.ScoreTime
			}
			windows = res.Encoded
		}
		return best, score, nil
	}
	ix.Kernel = mm
	mapK, scoreK, err := timeMap()
	if err != nil {
		return err
	}
	ix.Kernel = nil
	mapG, scoreG, err := timeMap()
	if err != nil {
		return err
	}
	fmt.Printf("%-52s %10d\n", "--vocab wordnet: prompts", ix.Len())
	fmt.Printf("%-52s %10.2f\n", "ranking session setup (s, once per process)", setup.Seconds())
	fmt.Printf("%-52s %10.2f\n", "grid map at --vocab wordnet, vectorised ranking (s)", mapK.Seconds())
	fmt.Printf("%-52s %10.3f  (target ≤ 0.05 on ViT-B/32-sized)\n", "ranking share of the map, vectorised", scoreK.Seconds()/mapK.Seconds())
	fmt.Printf("%-52s %10.2f\n", "grid map at --vocab wordnet, scalar Go ranking (s)", mapG.Seconds())
	fmt.Printf("%-52s %10.3f\n", "ranking share of the map, scalar Go", scoreG.Seconds()/mapG.Seconds())
	fmt.Printf("%-52s %10.1f\n", "ranking speed-up, vectorised ÷ scalar Go", scoreG.Seconds()/scoreK.Seconds())
	macs := float64(len(texts)) * float64(dim) * float64(windows)
	fmt.Printf("%-52s %10.1f\n", "vectorised ranking, G multiply-adds/s", macs/scoreK.Seconds()/1e9)
	return nil
}
