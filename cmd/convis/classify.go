package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
)

type classifyOptions struct {
	Image  string
	Top    int
	Index  indexOptions
	JSON   bool
	Decode decodeFlags
}

func newClassifyCmd(g *globalOptions) *cobra.Command {
	opts := &classifyOptions{}
	cmd := &cobra.Command{
		Use:   "classify IMAGE",
		Short: "List the concepts of T closest to a whole image",
		Long: `Embed the whole image and list the synsets of the concept hierarchy T whose
prompts are most similar: what the embedding contains, before asking where.`,
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
	return cmd
}

type classifyEntry struct {
	Rank       int     `json:"rank"`
	Synset     string  `json:"synset"`
	Similarity float32 `json:"similarity"`
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
	img, _, err := clip.LoadImageWith(opts.Image, do)
	if err != nil {
		return err
	}
	db, h, err := loadHierarchy(g, opts.Index.Vocab)
	if err != nil {
		return err
	}
	m, err := loadModel(g)
	if err != nil {
		return err
	}
	defer m.Close()
	ix, err := loadIndex(ctx, g, m, h, opts.Index, newProgress(g.Stderr))
	if err != nil {
		return err
	}
	defer ix.Close()
	embs, err := m.EmbedImages(ctx, []*clip.RGB{img}, 1)
	if err != nil {
		return err
	}
	sims := make([]float32, ix.Len())
	ix.Similarities(clip.Normalize(embs[0]), sims)
	// Each synset scores by its best prompt (several in lemma modes).
	best := map[int32]float32{}
	for i, o := range ix.Owner {
		if v, ok := best[o]; !ok || sims[i] > v {
			best[o] = sims[i]
		}
	}
	var out []classifyEntry
	for pos, v := range best {
		s := db.Get(h.Nodes[pos])
		out = append(out, classifyEntry{Synset: s.Name, Similarity: v, Definition: s.Definition})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Similarity != out[b].Similarity {
			return out[a].Similarity > out[b].Similarity
		}
		return out[a].Synset < out[b].Synset
	})
	out = out[:min(opts.Top, len(out))]
	for i := range out {
		out[i].Rank = i + 1 // the closest is rank 1
	}
	if opts.JSON {
		return writeJSON(g.Stdout, out)
	}
	fmt.Fprintf(g.Stdout, "%4s  %-6s  %-28s %s\n", "rank", "cosine", "synset", "definition")
	for _, e := range out {
		fmt.Fprintf(g.Stdout, "%4d  %.4f  %-28s %s\n", e.Rank, e.Similarity, e.Synset, truncate(e.Definition, 70))
	}
	return nil
}
