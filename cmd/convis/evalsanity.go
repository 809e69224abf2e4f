package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/evaluate"
	"github.com/convis/convis/internal/faithfulness"
	"github.com/convis/convis/internal/ood"
	"github.com/convis/convis/internal/saliency"
)

type evalSanityOptions struct {
	evalSampleOptions
	Methods  []string
	Blocks   []int
	Copies   string
	Tool     string
	PeerMaps string
}

func newEvalSanityCmd(g *globalOptions) *cobra.Command {
	opts := &evalSanityOptions{}
	cmd := &cobra.Command{
		Use:   "sanity DATASET",
		Short: "Model-randomisation and text-shuffle sanity checks (Adebayo et al., 2018): do the maps depend on the model?",
		Long: `Cascading model randomisation: copies of the model with the weights of the
last k blocks of the vision tower re-initialised (k = each of --blocks, by
default 1 … all), made by --tool (scripts/randomize_vision.py, seeded by
--seed) into --copies DIR/k<k>/model unless already there. Each method's
maps on each copy are compared with the original model's: Spearman rank
correlation over the pixels and SSIM (7×7 window), mean with a 95%
bootstrap interval per k. A map that explains the model changes as its
layers are randomised; one that stays similar shows the image, not the
model.

The text side: the same maps with the prompts shuffled among synsets (a
seeded permutation of which synset owns which prompt embedding), compared
with the original's (k = "text-shuffled").

Maps made elsewhere (gradient methods of pytorch-grad-cam, by make sanity)
come with --peer-maps DIR: DIR/k0 holds the original model's maps and
DIR/k<k> those of copy k, each as eval localization's --maps reads them.

DATASET is a manifest of eval localization (with --concept-level) or a
folder of images with -c.`,
		Example: `  convis eval sanity testdata/scenes --limit 50 --copies build/sanity
  convis eval sanity testdata/scenes --limit 50 --copies build/sanity --peer-maps build/sanity/peers --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dataset = args[0]
			return runEvalSanity(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	opts.evalSampleOptions.addFlags(f, "seed of the re-initialisation, the canvases, the prompt shuffle and the bootstrap", "crops per encoder pass")
	f.StringSliceVar(&opts.Methods, "method", []string{faithfulness.MethodGrid, faithfulness.MethodGridUnrefined, faithfulness.MethodStochastic, faithfulness.MethodOcclusion, faithfulness.MethodCenter},
		"methods: "+strings.Join(faithfulness.BuiltinMethods, ", ")+" (comma-separated)")
	f.IntSliceVar(&opts.Blocks, "blocks", nil, "randomise the last k blocks for each k given (default 1 … all, from config.json's vision_config.num_hidden_layers)")
	f.StringVar(&opts.Copies, "copies", "build/sanity", "folder of the randomised copies (DIR/k<k>/model); missing ones are made by --tool")
	f.StringVar(&opts.Tool, "tool", "python3 scripts/randomize_vision.py", "the randomisation tool, run as TOOL --model DIR --blocks K --seed S --out DIR/k<k>")
	f.StringVar(&opts.PeerMaps, "peer-maps", "", "maps made elsewhere on the original (DIR/k0) and each copy (DIR/k<k>)")
	return cmd
}

// SanityRow is one method's similarity to its original maps at one k.
type SanityRow struct {
	Method string `json:"method"`
	// Randomized is k, the blocks re-initialised, or "text-shuffled".
	Randomized string       `json:"randomized"`
	Blocks     int          `json:"randomized_blocks"` // k (0 for text-shuffled)
	Samples    int          `json:"samples"`
	Spearman   ood.Interval `json:"spearman"`
	SSIM       ood.Interval `json:"ssim"`
}

// visionBlocks reads a model folder's number of vision blocks.
func visionBlocks(dir string) (int, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return 0, err
	}
	var c struct {
		Vision struct {
			Layers int `json:"num_hidden_layers"`
		} `json:"vision_config"`
	}
	if err := json.Unmarshal(data, &c); err != nil || c.Vision.Layers < 1 {
		return 0, fmt.Errorf("%s: no vision_config.num_hidden_layers (give --blocks)", filepath.Join(dir, "config.json"))
	}
	return c.Vision.Layers, nil
}

// ensureCopy makes copy k with the tool unless its vision model exists.
func ensureCopy(ctx context.Context, g *globalOptions, tool, model, out string, k int, seed uint64) (string, error) {
	dir := filepath.Join(out, fmt.Sprintf("k%d", k), "model")
	if _, err := os.Stat(filepath.Join(dir, "onnx", "vision_model.onnx")); err == nil {
		return dir, nil
	}
	argv := append(strings.Fields(tool), "--model", model, "--blocks", strconv.Itoa(k), "--seed", strconv.FormatUint(seed, 10), "--out", filepath.Dir(dir))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = g.Stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("--tool %s: %v: %s", tool, err, strings.TrimSpace(stderr.String()))
	}
	return dir, nil
}

// shuffledIndex is ix with its prompts dealt to synsets in a seeded random
// order: the text-side independence check.
func shuffledIndex(ix *saliency.ConceptIndex, seed uint64) *saliency.ConceptIndex {
	s := *ix
	rng := rand.New(rand.NewPCG(seed, 0x73687566)) // "shuf"
	s.Owner = append([]int32(nil), ix.Owner...)
	rng.Shuffle(len(s.Owner), func(i, j int) { s.Owner[i], s.Owner[j] = s.Owner[j], s.Owner[i] })
	return &s
}

func runEvalSanity(ctx context.Context, g *globalOptions, opts *evalSanityOptions) error {
	decode, err := opts.Decode.singleFrame("eval sanity")
	if err != nil {
		return err
	}
	for _, m := range opts.Methods {
		if !faithfulness.IsBuiltin(m) {
			return usageErrorf("--method %q: want %s (maps made elsewhere come with --peer-maps)", m, strings.Join(faithfulness.BuiltinMethods, ", "))
		}
	}
	db, h, err := loadHierarchy(g, opts.Index.Vocab)
	if err != nil {
		return err
	}
	samples, err := opts.samples(g, db, h)
	if err != nil {
		return err
	}
	modelDir, err := openModelDir(g)
	if err != nil {
		return err
	}
	blocks := opts.Blocks
	if len(blocks) == 0 {
		n, err := visionBlocks(modelDir.Path)
		if err != nil {
			return usageError{err}
		}
		for k := 1; k <= n; k++ {
			blocks = append(blocks, k)
		}
	}
	for _, k := range blocks {
		if k < 1 {
			return usageErrorf("--blocks %d: want k ≥ 1", k)
		}
	}
	copies := make([]string, len(blocks))
	for i, k := range blocks {
		if copies[i], err = ensureCopy(ctx, g, opts.Tool, modelDir.Path, opts.Copies, k, opts.Seed); err != nil {
			return err
		}
	}
	var peers []*evaluate.ExternalMaps // [0]: original, [i+1]: copy i
	if opts.PeerMaps != "" {
		for _, k := range append([]int{0}, blocks...) {
			x, err := evaluate.LoadExternalMaps([]string{filepath.Join(opts.PeerMaps, fmt.Sprintf("k%d", k))})
			if err != nil {
				return err
			}
			peers = append(peers, x)
		}
	}
	model, ix, ex, err := loadEvalExplainer(ctx, g, h, opts.Index)
	if err != nil {
		return err
	}
	defer model.Close()
	// The copies share the original's text tower (the tool copies it), so
	// they share its prompt index: checked by the file's bytes.
	textOf := func(dir string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, "onnx", "text_model.onnx")) }
	origText, err := textOf(modelDir.Path)
	if err != nil {
		return err
	}
	exs := []*saliency.Explainer{}
	for _, dir := range copies {
		t, err := textOf(dir)
		if err != nil {
			return err
		}
		if !bytes.Equal(t, origText) {
			return fmt.Errorf("%s: the copy's text model differs from %s's: not a copy with only the vision tower randomised", dir, modelDir.Path)
		}
		gk := *g
		gk.Model, gk.builtinNoted = dir, true
		mk, err := loadModelLazily(&gk)
		if err != nil {
			return err
		}
		defer mk.Close()
		exk, err := newExplainer(&gk, mk, ix, opts.Index)
		if err != nil {
			return err
		}
		exs = append(exs, exk)
	}
	exText := *ex
	exText.Index = shuffledIndex(ix, opts.Seed)
	params, err := evalMapParams(opts.Batch, opts.Seed)
	if err != nil {
		return err
	}
	var methods []string
	methods = append(methods, opts.Methods...)
	if len(peers) > 0 {
		methods = append(methods, peers[0].Methods...)
	}
	const textKey = -1
	type acc struct{ rho, ssim []float64 }
	scores := map[string]*acc{} // method \x00 k
	key := func(m string, k int) string { return m + "\x00" + strconv.Itoa(k) }
	failed, err := eachSample(ctx, g, decode, samples, func(ctx context.Context, i int, img *clip.RGB) error {
		s := samples[i]
		var concepts, shuffled []saliency.Concept
		for _, c := range s.concepts {
			cc, err := ix.Concept(c.Name, c)
			if err != nil {
				return err
			}
			sc, err := exText.Index.Concept(c.Name, c)
			if err != nil {
				return err
			}
			concepts, shuffled = append(concepts, cc), append(shuffled, sc)
		}
		seed := opts.Seed + uint64(i)*1000
		orig, err := faithfulness.MakeMaps(ctx, ex, img, concepts, opts.Methods, params, seed)
		if err != nil {
			return err
		}
		peerMaps := func(x *evaluate.ExternalMaps) (map[string][]*saliency.Map, error) {
			out := map[string][]*saliency.Map{}
			for _, m := range peers[0].Methods {
				for _, c := range s.concepts {
					em, err := x.Load(s.file, c.Name, m, img.W, img.H)
					if err != nil {
						return nil, err
					}
					out[m] = append(out[m], em)
				}
			}
			return out, nil
		}
		if len(peers) > 0 {
			pm, err := peerMaps(peers[0])
			if err != nil {
				return err
			}
			for m, v := range pm {
				orig.ByMethod[m] = v
			}
		}
		mine := map[string]*acc{} // kept only when the whole image was measured
		var order []string        // mine's keys as first made
		compare := func(k int, other map[string][]*saliency.Map) error {
			for m, maps := range other {
				for j, om := range maps {
					a := orig.ByMethod[m][j]
					rho, err := faithfulness.Spearman(a.V, om.V)
					if err != nil {
						return err
					}
					ss, err := faithfulness.SSIM(a.V, om.V, a.W, a.H)
					if err != nil {
						return err
					}
					if math.IsNaN(rho) { // a constant map: no order to keep
						rho = 0
					}
					sc := mine[key(m, k)]
					if sc == nil {
						sc = &acc{}
						mine[key(m, k)] = sc
						order = append(order, key(m, k))
					}
					sc.rho, sc.ssim = append(sc.rho, rho), append(sc.ssim, ss)
				}
			}
			return nil
		}
		for c, exk := range exs {
			mk, err := faithfulness.MakeMaps(ctx, exk, img, concepts, opts.Methods, params, seed)
			if err != nil {
				return fmt.Errorf("%s: %w", copies[c], err)
			}
			if len(peers) > 0 {
				pm, err := peerMaps(peers[c+1])
				if err != nil {
					return err
				}
				for m, v := range pm {
					mk.ByMethod[m] = v
				}
			}
			if err := compare(blocks[c], mk.ByMethod); err != nil {
				return err
			}
		}
		mt, err := faithfulness.MakeMaps(ctx, &exText, img, shuffled, opts.Methods, params, seed)
		if err != nil {
			return err
		}
		if err := compare(textKey, mt.ByMethod); err != nil {
			return err
		}
		for _, k := range order {
			sc := scores[k]
			if sc == nil {
				sc = &acc{}
				scores[k] = sc
			}
			sc.rho, sc.ssim = append(sc.rho, mine[k].rho...), append(sc.ssim, mine[k].ssim...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var rows []SanityRow
	for _, m := range methods {
		for _, k := range append(append([]int(nil), blocks...), textKey) {
			sc := scores[key(m, k)]
			if sc == nil {
				continue
			}
			row := SanityRow{Method: m, Blocks: k, Randomized: strconv.Itoa(k), Samples: len(sc.rho),
				Spearman: meanInterval(sc.rho, opts.Seed), SSIM: meanInterval(sc.ssim, opts.Seed+1)}
			if k == textKey {
				row.Blocks, row.Randomized = 0, "text-shuffled"
			}
			rows = append(rows, row)
		}
	}
	if opts.JSON {
		if err := writeJSON(g.Stdout, map[string]any{"dataset": opts.Dataset, "seed": opts.Seed, "blocks": blocks, "copies": opts.Copies,
			"tool": opts.Tool, "failed": failed, "results": rows}); err != nil {
			return err
		}
	} else {
		w := g.Stdout
		fmt.Fprintf(w, "%s (seed %d): similarity to the original model's maps; mean [95%% bootstrap interval]\n", opts.Dataset, opts.Seed)
		fmt.Fprintf(w, "%-24s %-14s %7s  %-22s %-22s\n", "method", "randomized", "samples", "Spearman", "SSIM")
		for _, r := range rows {
			f := func(iv ood.Interval) string { return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Value, iv.Lo, iv.Hi) }
			label := r.Randomized
			if r.Blocks > 0 {
				label = "last " + label + " blocks"
			}
			fmt.Fprintf(w, "%-24s %-14s %7d  %-22s %-22s\n", r.Method, label, r.Samples, f(r.Spearman), f(r.SSIM))
		}
	}
	return batchFailed(g, failed, len(samples))
}

// meanInterval is the mean of v with its 95% bootstrap interval.
func meanInterval(v []float64, seed uint64) ood.Interval {
	b := saliency.Bootstrap(len(v), seed, saliency.MeanOf(v))
	return ood.Interval{Value: b.Mean, Lo: b.Lo, Hi: b.Hi}
}
