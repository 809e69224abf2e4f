package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
)

type embedOptions struct {
	Images    []string
	Texts     []string
	JSON      bool
	Normalize bool
	Batch     int
	Decode    decodeFlags
}

func newEmbedCmd(g *globalOptions) *cobra.Command {
	opts := &embedOptions{}
	cmd := &cobra.Command{
		Use:   "embed (IMAGE... | --text TEXT...)",
		Short: "Print CLIP embeddings of images or texts",
		Long: `Print the CLIP embedding of each image (or each --text), one per line:
the input, a tab, and the values. --normalize scales them to unit length.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			return runEmbed(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Texts, "text", nil, "text to embed (repeatable)")
	f.BoolVar(&opts.JSON, "json", false, `print a JSON array of {"input","kind","embedding"}`)
	f.BoolVar(&opts.Normalize, "normalize", false, "L2-normalise the embeddings")
	boundedIntVar(f, &opts.Batch, "batch", 32, 1, maxBatch, "inputs per encoder pass")
	addDecodeFlags(f, &opts.Decode)
	return cmd
}

func runEmbed(ctx context.Context, g *globalOptions, opts *embedOptions) error {
	if (len(opts.Images) == 0) == (len(opts.Texts) == 0) {
		return usageErrorf("give image files or --text, not both and not neither")
	}
	if opts.Batch < 1 {
		return usageErrorf("--batch must be at least 1")
	}
	do, err := opts.Decode.singleFrame("embed")
	if err != nil {
		return err
	}
	// Decode every image before loading the model: bad input fails fast.
	imgs := make([]*clip.RGB, len(opts.Images))
	for i, p := range opts.Images {
		im, _, err := clip.LoadImageWith(p, do)
		if err != nil {
			return err
		}
		imgs[i] = im
	}
	m, err := loadModel(g)
	if err != nil {
		return err
	}
	defer m.Close()
	var embs [][]float32
	kind, inputs := "image", opts.Images
	if len(imgs) > 0 {
		embs, err = m.EmbedImages(ctx, imgs, opts.Batch)
	} else {
		kind, inputs = "text", opts.Texts
		embs, err = m.EmbedTexts(ctx, opts.Texts, opts.Batch)
	}
	if err != nil {
		return err
	}
	if opts.Normalize {
		for _, e := range embs {
			clip.Normalize(e)
		}
	}
	if opts.JSON {
		type entry struct {
			Input     string    `json:"input"`
			Kind      string    `json:"kind"`
			Embedding []float32 `json:"embedding"`
		}
		out := make([]entry, len(embs))
		for i, e := range embs {
			out[i] = entry{inputs[i], kind, e}
		}
		return writeJSON(g.Stdout, out)
	}
	for i, e := range embs {
		vals := make([]string, len(e))
		for j, v := range e {
			vals[j] = strconv.FormatFloat(float64(v), 'g', 7, 32)
		}
		fmt.Fprintf(g.Stdout, "%s\t%s\n", escapeName(inputs[i]), strings.Join(vals, " "))
	}
	return nil
}
