package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/convis/convis/models"
)

type modelPullOptions struct {
	Name    string
	Offline bool
	Retries int
}

func newModelPullCmd(g *globalOptions) *cobra.Command {
	opts := &modelPullOptions{}
	cmd := &cobra.Command{
		Use:   "pull NAME|hf:OWNER/REPO[@REVISION]",
		Short: "Download a CLIP model in the ONNX layout from the Hugging Face Hub",
		Long: `Download a model into the model store. Only the files a model needs are
fetched (configs, tokenizer, the two encoders of --variant); the revision is
pinned to a commit, every file is verified against the hash the Hub
publishes, an interrupted download resumes where it stopped, and the model
appears in the store only when complete.

Environment: HF_TOKEN for gated repositories, HF_ENDPOINT for a mirror,
HF_HUB_OFFLINE=1 (or --offline) to refuse network access.`,
		Example: `  convis model pull clip-vit-base-patch32
  convis model pull clip-vit-base-patch32 --variant quantized
  convis model pull hf:Xenova/clip-vit-base-patch16@main`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			return runModelPull(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "refuse network access (as HF_HUB_OFFLINE=1)")
	cmd.Flags().IntVar(&opts.Retries, "retries", 5, "tries again per file after a dropped connection or a server error, resuming where it stopped (0: none)")
	return cmd
}

func storeDir(g *globalOptions) (string, error) {
	cache, err := cacheDir(g)
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "models"), nil
}

func runModelPull(ctx context.Context, g *globalOptions, opts *modelPullOptions) error {
	ref, err := models.ParseRef(opts.Name)
	if err != nil {
		return usageError{err}
	}
	store, err := storeDir(g)
	if err != nil {
		return err
	}
	offline := opts.Offline
	if v := os.Getenv("HF_HUB_OFFLINE"); v != "" && v != "0" && strings.ToLower(v) != "false" {
		offline = true
	}
	prog := newProgress(g.Stderr)
	start := time.Now()
	var lastFile string
	var fileStart time.Time
	var resumedAt int64
	in, err := models.Pull(ctx, ref, models.PullOptions{
		Store: store, Variant: g.Variant, Endpoint: os.Getenv("HF_ENDPOINT"), Token: os.Getenv("HF_TOKEN"), Offline: offline,
		Retries: retriesOption(opts.Retries),
		Progress: func(file string, done, total int64) {
			// The first report of a transfer says where it starts: 0, or
			// the bytes a partial file already holds.
			if file != lastFile || done < resumedAt {
				first := file != lastFile
				lastFile, fileStart, resumedAt = file, time.Now(), done
				if !prog.on {
					// Not a terminal: one plain line per transfer, no bar.
					how := ""
					switch {
					case done > 0 && first:
						how = fmt.Sprintf(", resuming at %s", human(done))
					case done > 0:
						how = fmt.Sprintf(", retrying from %s", human(done))
					}
					fmt.Fprintf(g.Stderr, "convis: fetching %s (%s%s)\n", file, human(total), how)
				}
			}
			if !prog.on {
				return
			}
			el := time.Since(fileStart).Seconds()
			speed := float64(done-resumedAt) / max(el, 1e-3)
			eta := "?"
			if speed > 0 && total > 0 {
				eta = (time.Duration(float64(total-done)/speed) * time.Second).Round(time.Second).String()
			}
			prog.Update(fmt.Sprintf("%s %s/%s %s/s eta %s", file, human(done), human(total), human(int64(speed)), eta), int(done>>10), int(max(total, 1)>>10))
		},
	})
	prog.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "pulled %s (%s@%.12s, %s; installed variants: %s) into %s in %s\n", in.Name, in.Repo, in.Revision, in.Variant, strings.Join(in.AllVariants(), ", "), in.Path, time.Since(start).Round(time.Millisecond))
	hint := "convis explain IMAGE --concept dog --model " + opts.Name
	if in.Variant != "fp32" {
		hint += " --variant " + in.Variant
	}
	fmt.Fprintf(g.Stdout, "use it with: %s\n", hint)
	return nil
}

// retriesOption maps the flag (0: none) to PullOptions (0: the default).
func retriesOption(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func newModelListCmd(g *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List installed models and the known model names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := storeDir(g)
			if err != nil {
				return err
			}
			installed, err := models.List(store)
			if err != nil {
				return err
			}
			known := models.KnownModels()
			if asJSON {
				type row struct {
					Name     string `json:"name"`
					Revision string `json:"revision,omitempty"`
					Variant  string `json:"variant,omitempty"`
					Size     int64  `json:"size_bytes"`
					Path     string `json:"path"`
				}
				var rows []row
				for _, in := range installed {
					rows = append(rows, row{in.Name, in.Revision, strings.Join(in.AllVariants(), ","), in.Size, in.Path})
				}
				return writeJSON(g.Stdout, map[string]any{"installed": orEmptyRows(rows), "known": known,
					"builtin": map[string]any{"name": models.BuiltinName, "objects": models.BuiltinObjects(), "about": "the default without --model: a small CLIP trained by this project on emoji scenes"}})
			}
			fmt.Fprintf(g.Stdout, "built in (the default without --model):\n  %-28s a small CLIP trained on %d emoji objects, for trying convis out and tests\n", models.BuiltinName, models.BuiltinObjects())
			fmt.Fprintf(g.Stdout, "installed in %s:\n", store)
			if len(installed) == 0 {
				fmt.Fprintln(g.Stdout, "  (none)")
			}
			for _, in := range installed {
				rev := in.Revision
				if len(rev) > 12 {
					rev = rev[:12]
				}
				fmt.Fprintf(g.Stdout, "  %-28s %-12s %-14s %9s  %s\n", in.Name, rev, strings.Join(in.AllVariants(), ","), human(in.Size), in.Path)
			}
			fmt.Fprintln(g.Stdout, "known models (convis model pull NAME):")
			for _, n := range slices.Sorted(maps.Keys(known)) {
				k := known[n]
				fmt.Fprintf(g.Stdout, "  %-28s hf:%s  %s %d px, %s tokenizer, %d-d; %s. Licence: %s\n", n, k.Repo, k.Family, k.InputSize, k.Tokenizer, k.Dim, k.About, k.License)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func orEmptyRows[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func newModelRmCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove an installed model",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := storeDir(g)
			if err != nil {
				return err
			}
			if err := models.Remove(store, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.Stdout, "removed %s\n", args[0])
			return nil
		},
	}
}
