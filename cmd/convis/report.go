package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/report"
)

type reportOptions struct {
	Dirs   []string
	Output string
	Embed  bool
	Title  string
}

func newReportCmd(g *globalOptions) *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report OUTDIR... -o report.html",
		Short: "Write an offline HTML gallery of explain outputs",
		Long: `Write one self-contained HTML page (inline style and script, no network) of
the maps in explain output folders: a row per image, a column per concept,
each cell the overlay's thumbnail with its box; the concept's definition on
hover; filter by concept or file name, sort by file name; a click shows the
overlay, the raw map in its colour scale and the original image. Failed
images are listed with their errors. Thumbnails go to a folder beside the
page (REPORT_files/), or into the page itself with --embed. Open it in any
browser, from a laptop, a CI artifact or an air-gapped machine.`,
		Example: `  convis report out/ -o out/report.html
  convis report out/ -o report.html --embed      # one file to mail or attach`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dirs = args
			return runReport(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "convis-report.html", "the HTML file to write")
	cmd.Flags().BoolVar(&opts.Embed, "embed", false, "embed the pictures in the page (one file; larger)")
	cmd.Flags().StringVar(&opts.Title, "title", "", "the page's title (default: convis report)")
	return cmd
}

func runReport(_ context.Context, g *globalOptions, opts *reportOptions) error {
	t0 := time.Now()
	w := report.NewWriter(opts.Output, opts.Embed)
	prog := newProgress(g.Stderr)
	// Whole or absent: pictures of a page that is not written go.
	defer w.Discard()
	p, err := report.Gallery(opts.Dirs, w, func(done, total int) { prog.Update("report", done, total) })
	prog.Done()
	if err != nil {
		return err
	}
	for _, warn := range p.Warnings {
		g.Log.Warn(warn)
	}
	if opts.Title != "" {
		p.Title = opts.Title
	}
	if err := w.Write(p); err != nil {
		return err
	}
	st, _ := os.Stat(opts.Output)
	size := int64(0)
	if st != nil {
		size = st.Size()
	}
	fmt.Fprintf(g.Stdout, "wrote %s (%d images, %d concepts, %d failed, %s) in %s\n", opts.Output, len(p.Rows), len(p.Columns), len(p.Failures), human(size), time.Since(t0).Round(time.Millisecond))
	return nil
}

// writeComparisonHTML is compare --html.
func writeComparisonHTML(path string, res *compare.Result) error {
	w := report.NewWriter(path, false)
	defer w.Discard()
	p, err := report.Comparison(res, w)
	if err != nil {
		return err
	}
	return w.Write(p)
}
