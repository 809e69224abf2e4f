package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/saliency"
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
		return nil, &compare.InputError{Path: path, Msg: errtext.UnwrapPath(err).Error()}
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
	if err := s.checkArgs(path); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Suite) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.dir, p)
}

// suiteOwnedFlags are the explain flags a suite's args cannot hold: the
// suite sets them with its own fields, or check sets them (where the maps
// go, which formats the goldens hold), and in args they would fight.
var suiteOwnedFlags = map[string]string{
	"output":    "check writes the maps itself (--keep DIR keeps them, golden: names the goldens)",
	"format":    "goldens are overlay, npy and json",
	"seed":      "use the suite's seed:",
	"concept":   "use the suite's concepts:",
	"method":    "use the suite's method:",
	"recursive": "use the suite's recursive:",
	"from-file": "use the suite's images:",
	"shard":     "a suite's maps are made in one run",
	"model":     "use the suite's model: (or --model on the command line)",
	"json":      "check prints the comparison",
	"jsonl":     "check prints the comparison",
}

// checkArgs validates the suite's args against explain's flags and the
// global ones (--threads, --variant…), on a command of their own so the
// real run parses them afresh: an unknown flag, a flag the suite owns or
// a stray argument is an error naming the suite file.
func (s *Suite) checkArgs(path string) error {
	root := newRootCmd(&globalOptions{Stdout: io.Discard, Stderr: io.Discard})
	explain, _, err := root.Find([]string{"explain"})
	if err != nil {
		return err
	}
	if err := explain.ParseFlags(s.Args); err != nil {
		return &compare.InputError{Path: path, Msg: "args: " + suggestFlag(explain, friendlyFlagError(err)).Error()}
	}
	var owned []string
	explain.Flags().Visit(func(f *pflag.Flag) {
		if why, ok := suiteOwnedFlags[f.Name]; ok {
			owned = append(owned, "--"+f.Name+" ("+why+")")
		}
	})
	if len(owned) > 0 {
		return &compare.InputError{Path: path, Msg: "args cannot hold " + strings.Join(owned, ", ")}
	}
	if rest := explain.Flags().Args(); len(rest) > 0 {
		return &compare.InputError{Path: path, Msg: fmt.Sprintf("args hold %q, which is not a flag: images go in images:", rest[0])}
	}
	return nil
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
(they are ordinary explain output, overlays included) and commit them. It
refuses a golden folder that holds anything but goldens. args cannot hold
what the suite sets (-o, --format, --seed, --concept, --method, --model…).

  name: my model's saliency
  model: models/my-clip          # or builtin
  images: [scans/a.png, scans/b.png]
  concepts: [lung, rib]
  method: grid
  seed: 0
  args: [--batch, "16"]          # other explain flags, and --threads, --variant
  golden: golden/                # a folder of its own: --update replaces it
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
	golden := filepath.Clean(s.path(s.Golden))
	var out, tmp string // tmp: a folder of this run's, removed at the end
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	switch {
	case opts.Update:
		// --update replaces the whole golden folder: refuse one that holds
		// anything else (the suite's images, the suite itself, other work).
		if err := checkGoldenFolder(golden); err != nil {
			return err
		}
		// The new goldens go to a fresh folder beside the old ones,
		// swapped in when complete: stale maps of images or concepts no
		// longer in the suite go too.
		parent := filepath.Dir(golden)
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		if tmp, err = os.MkdirTemp(parent, "."+filepath.Base(golden)+".new-"); err != nil {
			return err
		}
		out = tmp
	case opts.Keep != "":
		if same, _ := samePath(opts.Keep, golden); same {
			return usageErrorf("--keep %s is the golden folder: the run would compare the goldens with themselves", opts.Keep)
		}
		out = opts.Keep
	default:
		if tmp, err = os.MkdirTemp("", "convis-check-"); err != nil {
			return err
		}
		out = tmp
	}
	if err := runSuite(ctx, g, s, out, cmd); err != nil {
		if _, lerr := os.Stat(filepath.Join(out, record.RunLogName)); lerr == nil && tmp != "" {
			// Explain's last line points to its run log: keep it.
			msg := "the run's maps and run log are kept in " + out
			if opts.Update {
				msg = "the goldens are unchanged; " + msg
			}
			fmt.Fprintf(g.Stderr, "convis: suite %s: %s\n", opts.Suite, msg)
			tmp = ""
		}
		return fmt.Errorf("suite %s: %w", opts.Suite, err)
	}
	if opts.Update {
		// Goldens are the maps; the run log (hosts, times) is not.
		os.Remove(filepath.Join(out, record.RunLogName))
		if err := checkGoldenFolder(out); err != nil {
			return err // never: explain wrote only the suite's formats
		}
		if err := swapFolder(out, golden); err != nil {
			return err
		}
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
		g.Log.Warn(fmt.Sprintf("the goldens were made with other settings (%s): to keep them, give the suite's args the old values (%s); to take the new maps, run convis check %s --update and review them", strings.Join(res.Settings, "; "), oldValuesHint(res.Settings), opts.Suite))
	}
	return reportComparison(g, res, &opts.compareOptions)
}

// oldValuesHint says how a suite keeps goldens made before a default
// changed, for the defaults that changed: the seeds (one canvas before
// issue 27) and the refined map.
func oldValuesHint(settings []string) string {
	var h []string
	for _, d := range settings {
		switch {
		case strings.HasPrefix(d, "seeds "):
			// "seeds A → B": the goldens were made on A canvases.
			was, _, _ := strings.Cut(strings.TrimPrefix(d, "seeds "), " ")
			canvases := was + " canvases"
			if was == "1" {
				canvases = "one canvas"
			}
			h = append(h, `args: [--seeds, "`+was+`"] for goldens made on `+canvases+" (explain's default is now "+strconv.Itoa(saliency.DefaultSeeds)+")")
		case strings.HasPrefix(d, "refine "):
			h = append(h, "args: [--refine=false] for maps made before convis refined them by default")
		}
	}
	if len(h) == 0 {
		return "e.g. args: [--seeds, \"1\"] or [--refine=false]"
	}
	return strings.Join(h, "; ")
}

// runSuite explains the suite's images into out, through the root command
// so that the suite's args may hold global flags (--threads, --variant);
// the global flags given to check come after them and win.
func runSuite(ctx context.Context, g *globalOptions, s *Suite, out string, cmd *cobra.Command) error {
	args := append([]string{"explain"}, s.explainArgs(out)...)
	// The suite's model, unless --model (or CONVIS_MODEL) overrides it.
	model := g.Model
	if model == "" && s.Model != "" && s.Model != "builtin" {
		model = s.Model
		if strings.ContainsAny(s.Model, "/.") {
			model = s.path(s.Model)
		}
	}
	if model != "" {
		args = append(args, "--model="+model)
	}
	for _, name := range []string{"variant", "ort-lib", "threads", "cache-dir", "log-level", "verbose"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			args = append(args, "--"+name+"="+f.Value.String())
		}
	}
	// The comparison is the output, not explain's lines.
	sg := &globalOptions{Stdin: g.Stdin, Stdout: io.Discard, Stderr: g.Stderr}
	root := newRootCmd(sg)
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(g.Stderr)
	return root.ExecuteContext(ctx)
}

// checkGoldenFolder refuses a golden folder that holds anything but
// goldens (sidecars and the outputs they list), since --update replaces
// it whole. A folder that does not exist yet is fine.
func checkGoldenFolder(dir string) error {
	st, err := os.Lstat(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return &compare.InputError{Path: dir, Msg: errtext.UnwrapPath(err).Error()}
	}
	if !st.IsDir() {
		return &compare.InputError{Path: dir, Msg: "the golden folder is not a folder"}
	}
	goldens := map[string]bool{}
	var files []string
	dirsWithGoldens := map[string]bool{}
	var dirs []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if p != dir {
				dirs = append(dirs, p)
			}
		case !d.Type().IsRegular():
			files = append(files, p) // a link, a FIFO: never a golden
		default:
			files = append(files, p)
			if strings.HasSuffix(p, ".json") {
				if sc, err := record.ReadSidecar(p); err == nil {
					goldens[p] = true
					for format := range sc.Outputs {
						if out, ok := sc.OutputPath(p, format); ok {
							goldens[filepath.Clean(out)] = true
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return &compare.InputError{Path: dir, Msg: errtext.UnwrapPath(err).Error()}
	}
	// Files first, then folders without goldens, by name, relative to dir.
	var others, emptyDirs []string
	rel := func(p string) string {
		if r, err := filepath.Rel(dir, p); err == nil {
			return r
		}
		return p
	}
	for _, f := range files {
		if !goldens[f] {
			others = append(others, rel(f))
			continue
		}
		for d := filepath.Dir(f); d != dir && len(d) > len(dir); d = filepath.Dir(d) {
			dirsWithGoldens[d] = true
		}
	}
	for _, d := range dirs {
		if !dirsWithGoldens[d] {
			emptyDirs = append(emptyDirs, rel(d)+string(filepath.Separator))
		}
	}
	sort.Strings(others)
	sort.Strings(emptyDirs)
	others = append(others, emptyDirs...)
	if len(others) == 0 {
		return nil
	}
	what := strings.Join(others[:min(3, len(others))], ", ")
	if len(others) > 3 {
		what += fmt.Sprintf(" and %d more", len(others)-3)
	}
	return &compare.InputError{Path: dir, Msg: fmt.Sprintf("the golden folder holds what is not a golden (%s); check --update replaces the whole folder: give golden: a folder of its own", what)}
}

// swapFolder replaces dst (if any) by src, keeping dst if the swap fails.
func swapFolder(src, dst string) error {
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".old-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		old = filepath.Join(tmp, filepath.Base(dst))
		if err := os.Rename(dst, old); err != nil {
			return err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return err
	}
	return nil
}

// samePath reports whether two paths name the same file or folder.
func samePath(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		aa, _ := filepath.Abs(a)
		bb, _ := filepath.Abs(b)
		return aa == bb, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
