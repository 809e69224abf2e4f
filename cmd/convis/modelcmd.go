package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
)

func newModelCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Inspect and manage CLIP models",
	}
	cmd.AddCommand(newModelInfoCmd(g), newModelPullCmd(g), newModelListCmd(g), newModelRmCmd(g))
	return cmd
}

type modelInfoOptions struct {
	Dir  string
	JSON bool
}

func newModelInfoCmd(g *globalOptions) *cobra.Command {
	opts := &modelInfoOptions{}
	cmd := &cobra.Command{
		Use:   "info [DIR]",
		Short: "Show a model's files, inputs, outputs, embedding size and content hash",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			return runModelInfo(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

type modelInfo struct {
	Path    string            `json:"path"`
	Variant string            `json:"variant"`
	Hash    string            `json:"hash"`
	Size    int64             `json:"size_bytes"`
	Dim     int               `json:"embedding_dim"`
	Input   int               `json:"image_size"`
	Vision  modelFileInfo     `json:"vision"`
	Text    modelFileInfo     `json:"text"`
	Runtime string            `json:"onnxruntime"`
	Config  clip.ModelConfig  `json:"config"`
	Extra   map[string]string `json:"-"`
}

type modelFileInfo struct {
	File    string            `json:"file"`
	Inputs  []clip.TensorInfo `json:"inputs"`
	Outputs []clip.TensorInfo `json:"outputs"`
}

func runModelInfo(ctx context.Context, g *globalOptions, opts *modelInfoOptions) error {
	if opts.Dir != "" {
		g.Model = opts.Dir
	}
	dir, err := openModelDir(g)
	if err != nil {
		return err
	}
	rt, err := runtimeLoader(g)
	if err != nil {
		return err
	}
	hash, err := dir.Hash()
	if err != nil {
		return err
	}
	info := modelInfo{Path: dir.Path, Variant: dir.Variant, Hash: hash, Size: dir.Size(), Input: dir.Pre.InputSize(), Runtime: rt.Version(), Config: dir.Config}
	for _, f := range []struct {
		path string
		dst  *modelFileInfo
	}{{dir.VisionPath, &info.Vision}, {dir.TextPath, &info.Text}} {
		ins, outs, err := rt.Inspect(f.path)
		if err != nil {
			return err
		}
		*f.dst = modelFileInfo{File: f.path, Inputs: ins, Outputs: outs}
	}
	for _, o := range info.Vision.Outputs {
		if o.Name == "image_embeds" && len(o.Shape) == 2 {
			info.Dim = int(o.Shape[1])
		}
	}
	if opts.JSON {
		return writeJSON(g.Stdout, info)
	}
	w := g.Stdout
	fmt.Fprintf(w, "model:      %s (%s)\n", info.Path, info.Variant)
	if info.Config.Description != "" {
		fmt.Fprintf(w, "about:      %s\n", info.Config.Description)
	}
	fmt.Fprintf(w, "hash:       sha256:%s\n", info.Hash)
	fmt.Fprintf(w, "size:       %.1f MB\n", float64(info.Size)/1e6)
	fmt.Fprintf(w, "embedding:  %d\n", info.Dim)
	fmt.Fprintf(w, "image size: %d\n", info.Input)
	for _, f := range []struct {
		label string
		fi    modelFileInfo
	}{{"vision", info.Vision}, {"text", info.Text}} {
		fmt.Fprintf(w, "%s:     %s\n", f.label, f.fi.File)
		for _, x := range f.fi.Inputs {
			fmt.Fprintf(w, "  in  %-16s %-8s %v\n", x.Name, x.Type, x.Shape)
		}
		for _, x := range f.fi.Outputs {
			fmt.Fprintf(w, "  out %-16s %-8s %v\n", x.Name, x.Type, x.Shape)
		}
	}
	fmt.Fprintf(w, "onnxruntime: %s\n", info.Runtime)
	return nil
}
