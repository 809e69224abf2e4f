package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/convis/convis/internal/compare"
)

// Suite is a `convis check` file (YAML or JSON): which images and concepts
// to explain with which model and settings, and the golden folder their
// maps must stay close to. Paths are relative to the suite file.
type Suite struct {
	Name       string             `yaml:"name" json:"name"`
	Model      string             `yaml:"model" json:"model"` // "builtin" (or empty), a model folder, or an installed model's name
	Images     []string           `yaml:"images" json:"images"`
	Recursive  bool               `yaml:"recursive" json:"recursive"`
	Concepts   []string           `yaml:"concepts" json:"concepts"`
	Method     string             `yaml:"method" json:"method"`
	Seed       uint64             `yaml:"seed" json:"seed"`
	Args       []string           `yaml:"args" json:"args"` // any other explain flags
	Golden     string             `yaml:"golden" json:"golden"`
	Tolerances map[string]float64 `yaml:"tolerances" json:"tolerances"`
	dir        string
}

func loadSuite(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &compare.InputError{Path: path, Msg: unwrapPath(err).Error()}
	}
	var s Suite
	if err := yaml.Unmarshal(data, &s); err != nil {
		return nil, &compare.InputError{Path: path, Msg: "not a suite: " + err.Error()}
	}
	switch {
	case len(s.Images) == 0:
		return nil, &compare.InputError{Path: path, Msg: "the suite names no images"}
	case len(s.Concepts) == 0:
		return nil, &compare.InputError{Path: path, Msg: "the suite names no concepts"}
	case s.Golden == "":
		return nil, &compare.InputError{Path: path, Msg: "the suite names no golden folder"}
	}
	s.dir = filepath.Dir(path)
	return &s, nil
}

func (s *Suite) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.dir, p)
}

// explainArgs are the explain arguments that make the suite's maps in out.
func (s *Suite) explainArgs(out string) []string {
	args := []string{"--format", "overlay,npy,json", "-o", out, "--seed", strconv.FormatUint(s.Seed, 10)}
	for _, im := range s.Images {
		args = append(args, s.path(im))
	}
	for _, c := range s.Concepts {
		args = append(args, "--concept", c)
	}
	if s.Method != "" {
		args = append(args, "--method", s.Method)
	}
	if s.Recursive {
		args = append(args, "--recursive")
	}
	return append(args, s.Args...)
}

type checkOptions struct {
	Suite  string
	Update bool
	Keep   string
	compareOptions
}

func newCheckCmd(g *globalOptions) *cobra.Command {
	opts := &checkOptions{compareOptions: compareOptions{Tol: compare.DefaultTolerances()}}
	cmd := &cobra.Command{
		Use:   "check SUITE",
		Short: "Run a suite of images and concepts and compare its maps with the suite's goldens",
		Long: `Run a suite (YAML or JSON: model, images, concepts, method, seed, other
explain flags, golden folder, tolerances) into a temporary folder and compare
its maps with the golden folder, as convis compare does (same reports and
exit status). --update rewrites the goldens instead: review them as pictures
(they are ordinary explain output, overlays included) and commit them.

  name: my model's saliency
  model: models/my-clip          # or builtin
  images: [scans/a.png, scans/b.png]
  concepts: [lung, rib]
  method: grid
  seed: 0
  args: [--batch, "16"]
  golden: golden/
  tolerances: {min_pearson: 0.95, max_peak_shift: 0.05}`,
		Example: `  convis check testdata/suite/suite.yaml
  convis check ci/saliency.yaml --junit saliency.xml --diff-dir diffs/
  convis check ci/saliency.yaml --update`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Suite = args[0]
			return runCheck(cmd.Context(), g, opts, cmd)
		},
	}
	addToleranceFlags(cmd, &opts.Tol, &opts.TolFile, &opts.AllowMissing)
	f := cmd.Flags()
	f.BoolVar(&opts.Update, "update", false, "rewrite the golden folder from this run instead of comparing")
	f.StringVar(&opts.Keep, "keep", "", "write this run's maps to this folder (kept) instead of a temporary one")
	f.BoolVar(&opts.JSON, "json", false, "print the comparison as JSON")
	f.StringVar(&opts.JUnit, "junit", "", "write JUnit XML (one testcase per pair) to this file")
	f.StringVar(&opts.Markdown, "markdown", "", "write a Markdown summary to this file, e.g. $GITHUB_STEP_SUMMARY")
	f.StringVar(&opts.DiffDir, "diff-dir", "", "write baseline | current | difference pictures of failing pairs to this folder")
	f.IntVar(&opts.Limit, "limit", 30, "rows in the table and the Markdown summary (0: all)")
	return cmd
}

func runCheck(ctx context.Context, g *globalOptions, opts *checkOptions, cmd *cobra.Command) error {
	s, err := loadSuite(opts.Suite)
	if err != nil {
		return err
	}
	// The suite's bounds, then the flags the user set, over the defaults.
	tol, err := compare.Apply(compare.DefaultTolerances(), s.Tolerances, "tolerances")
	if err != nil {
		return &compare.InputError{Path: opts.Suite, Msg: err.Error()}
	}
	set := map[string]float64{}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		// Tolerance flags are the file's bound names with dashes.
		if v, err := strconv.ParseFloat(fl.Value.String(), 64); err == nil && fl.Value.Type() == "float64" {
			set[strings.ReplaceAll(fl.Name, "-", "_")] = v
		}
	})
	if tol, err = compare.Apply(tol, set, "flags"); err != nil {
		return usageError{err}
	}
	golden := s.path(s.Golden)
	out := opts.Keep
	if opts.Update {
		// A fresh folder beside the golden one, swapped in when complete:
		// stale maps of images or concepts no longer in the suite go too.
		out = golden + ".new"
		os.RemoveAll(out)
	} else if out == "" {
		tmp, err := os.MkdirTemp("", "convis-check-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		out = tmp
	}
	// The suite's model, unless --model overrides it.
	sg := *g
	sg.Stdout = io.Discard // the comparison is the output, not explain's lines
	if g.Model == "" && s.Model != "" && s.Model != "builtin" {
		sg.Model = s.Model
		if strings.ContainsAny(s.Model, "/.") {
			sg.Model = s.path(s.Model)
		}
	}
	explain := newExplainCmd(&sg)
	explain.SetArgs(s.explainArgs(out))
	explain.SetOut(g.Stdout)
	explain.SilenceErrors, explain.SilenceUsage = true, true
	if err := explain.ExecuteContext(ctx); err != nil {
		return fmt.Errorf("suite %s: %w", opts.Suite, err)
	}
	if opts.Update {
		// Goldens are the maps; the run log (hosts, times) is not.
		os.Remove(filepath.Join(out, "convis-run.jsonl"))
		old := golden + ".old"
		os.RemoveAll(old)
		if _, err := os.Stat(golden); err == nil {
			if err := os.Rename(golden, old); err != nil {
				return err
			}
		}
		if err := os.Rename(out, golden); err != nil {
			return err
		}
		os.RemoveAll(old)
		fmt.Fprintf(g.Stdout, "updated the goldens of %s in %s\n", opts.Suite, golden)
		return nil
	}
	if _, err := os.Stat(golden); err != nil {
		return &compare.InputError{Path: golden, Msg: "no golden folder: run convis check " + opts.Suite + " --update, review the pictures and commit them"}
	}
	co, err := compareOptionsFor(tol, opts.TolFile, opts.AllowMissing)
	if err != nil {
		return err
	}
	co.KeepMaps = opts.DiffDir != ""
	res, err := compare.Run(golden, out, co)
	if err != nil {
		return err
	}
	if res.Failed > 0 && len(res.Settings) > 0 {
		// Most often convis's defaults changed (a new version): say how
		// to keep the old maps or take the new ones.
		g.Log.Warn(fmt.Sprintf("the goldens were made with other settings: to keep them, give the suite's args the old values (e.g. --refine=false for maps made before convis refined them by default); to take the new maps, run convis check %s --update and review them", opts.Suite))
	}
	return reportComparison(g, res, &opts.compareOptions)
}
