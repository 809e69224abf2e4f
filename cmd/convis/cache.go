package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/embedcache"
)

func newCacheCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show or clear convis's caches (window embeddings, concept indexes)",
		Long: `convis keeps two caches in --cache-dir (default: the user cache directory/convis):

  embeddings/  the window embeddings of explained images (and their
               whole-image embedding), so that asking again about an image
               (another concept, vocabulary, prompt mode or rendering)
               encodes nothing; bounded by explain's --cache-size (default
               2GB), least recently used first
  index/       the prompt embeddings of a vocabulary, one file per model,
               vocabulary and prompt mode

Installed and built-in models (models/) are not a cache: "convis model rm"
removes them. --no-cache on explain, eval and score turns every cache off.`,
	}
	cmd.AddCommand(newCacheInfoCmd(g), newCacheClearCmd(g))
	return cmd
}

type cacheInfoOptions struct{ JSON bool }

// cacheReport is what cache info prints.
type cacheReport struct {
	Dir        string          `json:"dir"`
	Embeddings embedcache.Info `json:"embeddings"`
	Bound      int64           `json:"embeddings_bound_bytes"`
	Indexes    int             `json:"indexes"`
	IndexBytes int64           `json:"index_bytes"`
}

func newCacheInfoCmd(g *globalOptions) *cobra.Command {
	opts := &cacheInfoOptions{}
	cmd := &cobra.Command{
		Use:     "info",
		Short:   "Say where the caches are and how much they hold",
		Example: "  convis cache info\n  convis cache info --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCacheInfo(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func runCacheInfo(_ context.Context, g *globalOptions, opts *cacheInfoOptions) error {
	dir, err := cacheDir(g)
	if err != nil {
		return err
	}
	emb := embedcache.NewEmbeddings(filepath.Join(dir, "embeddings"), 0)
	r := cacheReport{Dir: dir, Bound: emb.MaxBytes}
	if r.Embeddings, err = emb.Info(); err != nil {
		return err
	}
	idx, err := embedcache.IndexInfo(filepath.Join(dir, "index"))
	if err != nil {
		return err
	}
	r.Indexes, r.IndexBytes = idx.Entries, idx.Bytes
	if opts.JSON {
		return writeJSON(g.Stdout, r)
	}
	w := g.Stdout
	fmt.Fprintf(w, "cache:       %s\n", dir)
	fmt.Fprintf(w, "embeddings:  %d entries, %s (bound %s by default; explain --cache-size)\n", r.Embeddings.Entries, human(r.Embeddings.Bytes), human(r.Bound))
	if r.Embeddings.Entries > 0 {
		fmt.Fprintf(w, "             used from %s to %s\n", r.Embeddings.Oldest.Local().Format(time.DateTime), r.Embeddings.Newest.Local().Format(time.DateTime))
	}
	fmt.Fprintf(w, "indexes:     %d, %s\n", r.Indexes, human(r.IndexBytes))
	return nil
}

type cacheClearOptions struct {
	What []string
}

func newCacheClearCmd(g *globalOptions) *cobra.Command {
	opts := &cacheClearOptions{}
	cmd := &cobra.Command{
		Use:   "clear",
		Short: "Remove cached embeddings and concept indexes",
		Long: `Remove the cached window embeddings and concept indexes (both unless
--only names one). Nothing is lost: convis recomputes what it needs. Models
are kept. Safe while other convis processes run: they recompute what they
miss.`,
		Example: "  convis cache clear\n  convis cache clear --only embeddings",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCacheClear(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.What, "only", nil, "clear only these: embeddings, index")
	return cmd
}

func runCacheClear(_ context.Context, g *globalOptions, opts *cacheClearOptions) error {
	want := map[string]bool{"embeddings": len(opts.What) == 0, "index": len(opts.What) == 0}
	for _, w := range opts.What {
		if _, ok := want[w]; !ok {
			return usageErrorf("--only %q: want embeddings or index", w)
		}
		want[w] = true
	}
	dir, err := cacheDir(g)
	if err != nil {
		return err
	}
	if want["embeddings"] {
		n, bytes, err := embedcache.NewEmbeddings(filepath.Join(dir, "embeddings"), 0).Clear()
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Stdout, "removed %d embedding entries (%s)\n", n, human(bytes))
	}
	if want["index"] {
		n, bytes, err := embedcache.ClearIndexes(filepath.Join(dir, "index"))
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Stdout, "removed %d concept indexes (%s)\n", n, human(bytes))
	}
	return nil
}
