package main

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/render"
	"github.com/convis/convis/internal/wordnet"
	"github.com/convis/convis/models"
)

// registerCompletions gives shell completion the values of convis's
// choice flags, concept names and model names, on every command that has
// the flag.
func registerCompletions(root *cobra.Command, g *globalOptions) {
	fixed := func(values ...string) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
	}
	byFlag := map[string]cobra.CompletionFunc{
		"method":        fixed("grid", "stochastic", "occlusion"),
		"colormap":      fixed(render.ColormapNames()...),
		"style":         fixed("heatmap", "fade"),
		"fill":          fixed("noise", "gray", "blur"),
		"crop":          fixed("pad", "center"),
		"refine-region": fixed("image", "box"),
		"budget":        fixed("fast", "default", "full"),
		"box-rule":      fixed("rel:0.4", "rel:0.8", "0.7", "otsu"),
		"boxes":         fixed("best", "all"),
		"prompts":       fixed("definitions", "lemmas", "a photo of a {}"),
		"variant":       fixed("fp32", "fp16", "quantized"),
		"gray16":        fixed("range", "high-byte"),
		"voi":           fixed("stored", "minmax", "percentile", "none"),
		"frame":         fixed("0", "all"),
		"window":        fixed("40,400", "-600,1500", "400,1800"),
		"concept-level": fixed("object", "parent", "ancestor:2"),
		"concept":       completeConcepts,
		"model":         completeModels(g),
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range byFlag {
			if c.LocalFlags().Lookup(name) != nil || (c == root && c.PersistentFlags().Lookup(name) != nil) {
				c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, path := range [][]string{{"concepts", "show"}, {"concepts", "tree"}, {"concepts", "search"}} {
		if c, _, err := root.Find(path); err == nil {
			c.ValidArgsFunction = completeConcepts
		}
	}
}

// completeConcepts offers WordNet lemmas (and synset names, once a dot is
// typed) that start with what was typed, the 50 most common first.
func completeConcepts(_ *cobra.Command, _ []string, typed string) ([]cobra.Completion, cobra.ShellCompDirective) {
	db, err := wordnet.Load()
	if err != nil || typed == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	typed = strings.ToLower(typed)
	var out []string
	if strings.Contains(typed, ".") {
		for i := range db.Synsets {
			if strings.HasPrefix(db.Synsets[i].Name, typed) {
				out = append(out, db.Synsets[i].Name)
			}
		}
	} else {
		out = db.LemmasWithPrefix(strings.ReplaceAll(typed, " ", "_"))
		sort.SliceStable(out, func(a, b int) bool { return db.Tagged(out[a]) > db.Tagged(out[b]) })
	}
	if len(out) > 50 {
		out = out[:50]
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeModels offers installed and known model names; a folder is a
// file completion.
func completeModels(g *globalOptions) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []string
		for n := range models.KnownModels() {
			out = append(out, n)
		}
		if store, err := storeDir(g); err == nil {
			if installed, err := models.List(store); err == nil {
				for _, in := range installed {
					out = append(out, in.Name)
				}
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveDefault
	}
}
