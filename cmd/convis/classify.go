package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/saliency"
)

type classifyOptions struct {
	Image  string
	Top    int
	Index  indexOptions
	JSON   bool
	Decode decodeFlags
	Seed   uint64
}

func newClassifyCmd(g *globalOptions) *cobra.Command {
	opts := &classifyOptions{}
	cmd := &cobra.Command{
		Use:   "classify IMAGE",
		Short: "List the concepts of T closest to a whole image",
		Long: `List the synsets of the concept hierarchy T that the image ranks highest:
what the embedding contains, before asking where. The rule is explain
--top's: the windows of explain's default map vote, each for the synset
whose own prompt is closest (weighted by the share of the window that shows
the image), and synsets rank by votes, then by the whole image's cosine. The
whole image is seen as explain sees it: padded to a square with the canvas
fill, not centre-cropped. The windows are cached, so explain --top K (or -c
with a listed concept) on the same image encodes nothing more.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Image = args[0]
			return runClassify(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Top, "top", 10, "how many concepts to list")
	addIndexFlags(f, &opts.Index)
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	addDecodeFlags(f, &opts.Decode)
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the canvas fill (as explain's)")
	return cmd
}

type classifyEntry struct {
	Rank       int     `json:"rank"`
	Synset     string  `json:"synset"`
	Similarity float32 `json:"similarity"` // the whole image's cosine with the synset's best prompt
	Votes      float64 `json:"votes"`      // windows that rank the synset first, weighted by their share of image
	Definition string  `json:"definition"`
}

func runClassify(ctx context.Context, g *globalOptions, opts *classifyOptions) error {
	if opts.Top < 1 {
		return usageErrorf("--top must be at least 1")
	}
	do, err := opts.Decode.singleFrame("classify")
	if err != nil {
		return err
	}
	img, _, err := pipeline.LoadImage(opts.Image, do)
	if err != nil {
		return err
	}
	db, h, err := loadHierarchy(g, opts.Index.Vocab)
	if err != nil {
		return err
	}
	m, err := loadModelLazily(g)
	if err != nil {
		return err
	}
	defer m.Close()
	ix, err := loadIndex(ctx, g, m, h, opts.Index, newProgress(g.Stderr))
	if err != nil {
		return err
	}
	defer ix.Close()
	ex, err := newExplainer(g, m, ix, opts.Index)
	if err != nil {
		return err
	}
	p := saliency.DefaultParams() // explain's windows and canvas
	p.Canvas.Seed, p.Stochastic.Seed = opts.Seed, opts.Seed
	pr, err := saliency.Prepare(img, p)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Image, err)
	}
	whole, err := ex.WholeImage(ctx, saliency.WholeView(pr.Canvas))
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Image, err)
	}
	top, err := ex.TopConcepts(ctx, pr, p, whole, opts.Top)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Image, err)
	}
	var out []classifyEntry
	for i, t := range top {
		s := db.Get(h.Nodes[t.Node])
		out = append(out, classifyEntry{Rank: i + 1, Synset: s.Name, Similarity: t.Whole, Votes: t.Votes, Definition: s.Definition}) // the first is rank 1
	}
	if opts.JSON {
		return writeJSON(g.Stdout, out)
	}
	fmt.Fprintf(g.Stdout, "%4s  %-6s  %-28s %6s  %s\n", "rank", "cosine", "synset", "votes", "definition")
	for _, e := range out {
		fmt.Fprintf(g.Stdout, "%4d  %.4f  %-28s %6.1f  %s\n", e.Rank, e.Similarity, e.Synset, e.Votes, truncate(e.Definition, 60))
	}
	return nil
}
