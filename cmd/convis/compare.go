package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/render"
)

type compareOptions struct {
	Baseline, Current string
	Tol               compare.Tolerances
	TolFile           string
	AllowMissing      bool
	JSON              bool
	JUnit             string
	Markdown          string
	DiffDir           string
	HTML              string
	Limit             int
}

func newCompareCmd(g *globalOptions) *cobra.Command {
	opts := &compareOptions{Tol: compare.DefaultTolerances()}
	cmd := &cobra.Command{
		Use:   "compare BASELINE CURRENT",
		Short: "Compare two runs' saliency maps: fail when a map moved beyond tolerance",
		Long: `Compare the maps of two convis explain output folders (or two sidecars, or two
.npy maps), paired by image (relative path), concept and method. Per pair:
Pearson and Spearman correlation, peak shift (pixels and share of the image
diagonal), box IoU, IoU of the top-k% masks and mean absolute difference;
maps of different sizes are resampled to the baseline's. When the two runs'
sidecars differ in model, parameters or seed, it says so.

A pair fails when it breaks a tolerance (flags, or --tolerances FILE with
defaults and per-concept bounds) or is missing on one side (unless
--allow-missing). Exit status: 0 within tolerance, 1 a regression or a
missing pair, 2 an unreadable input or a usage error.`,
		Example: `  convis compare golden/ out/
  convis compare golden/ out/ --junit compare.xml --markdown "$GITHUB_STEP_SUMMARY" --diff-dir diffs/
  convis compare a.dog.n.01.json b.dog.n.01.json --min-pearson 0.9 --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Baseline, opts.Current = args[0], args[1]
			return runCompare(cmd.Context(), g, opts)
		},
	}
	addToleranceFlags(cmd, &opts.Tol, &opts.TolFile, &opts.AllowMissing)
	f := cmd.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print the comparison as JSON")
	f.StringVar(&opts.JUnit, "junit", "", "write JUnit XML (one testcase per pair) to this file")
	f.StringVar(&opts.Markdown, "markdown", "", "write a Markdown summary (worst pairs) to this file, e.g. $GITHUB_STEP_SUMMARY")
	f.StringVar(&opts.DiffDir, "diff-dir", "", "write baseline | current | difference pictures of failing pairs to this folder")
	f.StringVar(&opts.HTML, "html", "", "write an offline HTML page of every pair (baseline | current | difference, metrics), worst first")
	f.IntVar(&opts.Limit, "limit", 30, "rows in the table and the Markdown summary (0: all)")
	return cmd
}

// addToleranceFlags are compare's and check's bounds.
func addToleranceFlags(cmd *cobra.Command, t *compare.Tolerances, file *string, allowMissing *bool) {
	f := cmd.Flags()
	f.Float64Var(&t.MinPearson, "min-pearson", t.MinPearson, "fail below this Pearson correlation")
	f.Float64Var(&t.MinSpearman, "min-spearman", t.MinSpearman, "fail below this Spearman correlation (-1: not checked)")
	f.Float64Var(&t.MaxPeakShift, "max-peak-shift", t.MaxPeakShift, "fail when the peak moves more than this share of the image diagonal")
	f.Float64Var(&t.MinTopIoU, "min-top-iou", t.MinTopIoU, "fail below this IoU of the top-k masks")
	f.Float64Var(&t.TopK, "top-k", t.TopK, "share of pixels in the top-k masks")
	f.Float64Var(&t.MinBoxIoU, "min-box-iou", t.MinBoxIoU, "fail below this IoU of the boxes (0: not checked)")
	f.Float64Var(&t.MaxMAD, "max-mean-abs-diff", t.MaxMAD, "fail above this mean absolute difference (1: not checked)")
	f.StringVar(file, "tolerances", "", "YAML or JSON file of bounds: default: {...}, concepts: {SYNSET: {...}}")
	f.BoolVar(allowMissing, "allow-missing", false, "a pair present on one side only does not fail")
}

// regressionError is a comparison outside tolerance (exit 1), already
// reported.
type regressionError struct{ msg string }

func (e regressionError) Error() string { return e.msg }

func compareOptionsFor(tol compare.Tolerances, file string, allowMissing bool) (compare.Options, error) {
	if err := tol.Validate(); err != nil {
		return compare.Options{}, usageError{err}
	}
	o := compare.Options{Tolerances: tol, AllowMissing: allowMissing}
	if file != "" {
		t, per, err := compare.LoadTolerances(file, tol)
		if err != nil {
			return o, err
		}
		o.Tolerances, o.PerConcept = t, per
	}
	return o, nil
}

func runCompare(_ context.Context, g *globalOptions, opts *compareOptions) error {
	o, err := compareOptionsFor(opts.Tol, opts.TolFile, opts.AllowMissing)
	if err != nil {
		return err
	}
	o.KeepMaps = opts.DiffDir != "" || opts.HTML != ""
	res, err := compare.Run(opts.Baseline, opts.Current, o)
	if err != nil {
		return err
	}
	return reportComparison(g, res, opts)
}

// reportComparison prints and writes a comparison's reports and says how
// it ended (shared by compare and check).
func reportComparison(g *globalOptions, res *compare.Result, opts *compareOptions) error {
	if opts.JUnit != "" {
		if err := render.WriteAtomicMkdir(opts.JUnit, res.JUnit); err != nil {
			return err
		}
	}
	if opts.Markdown != "" {
		if err := writeMarkdown(opts.Markdown, res, opts.Limit); err != nil {
			return err
		}
	}
	if opts.HTML != "" {
		if err := writeComparisonHTML(opts.HTML, res); err != nil {
			return err
		}
	}
	if opts.DiffDir != "" {
		files, err := res.WriteDiffImages(opts.DiffDir)
		if err != nil {
			return err
		}
		if len(files) > 0 {
			g.Log.Info(fmt.Sprintf("wrote %d difference pictures", len(files)), "dir", opts.DiffDir)
		}
	}
	if opts.JSON {
		if err := writeJSON(g.Stdout, res); err != nil {
			return err
		}
	} else {
		res.Text(g.Stdout, opts.Limit)
	}
	if opts.JSON {
		// The table has them as notes; JSON on stdout has them as data, so
		// people see them once, on stderr.
		for _, s := range res.Settings {
			g.Log.Warn("the compared runs differ in settings: " + s)
		}
	}
	if res.Failed > 0 {
		msg := fmt.Sprintf("%d of %d maps outside tolerance or missing", res.Failed, len(res.Pairs))
		fmt.Fprintln(g.Stderr, "convis: "+msg)
		return silentError{regressionError{msg}}
	}
	return nil
}

// writeMarkdown appends to an existing file ($GITHUB_STEP_SUMMARY is
// shared by every step of a job), or creates it.
func writeMarkdown(path string, res *compare.Result, limit int) error {
	return appendFile(path, func(w io.Writer) error { return res.Markdown(w, limit) })
}

func appendFile(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", path, errtext.UnwrapPath(err))
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
