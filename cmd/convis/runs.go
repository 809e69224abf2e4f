package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/render"
)

func newRunsCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "Read the run logs of explain batches"}
	cmd.AddCommand(newRunsSummaryCmd(g))
	return cmd
}

type runsSummaryOptions struct {
	Paths []string
	JSON  bool
	CSV   string
}

func newRunsSummaryCmd(g *globalOptions) *cobra.Command {
	opts := &runsSummaryOptions{}
	cmd := &cobra.Command{
		Use:   "summary OUT...",
		Short: "Merge the run logs of any number of runs and shards into one summary",
		Long: `Read the run logs (convis-run*.jsonl) of output folders, or log files, and
merge them: for each (image, concept, method) the latest record counts, so
shards, reruns and resumed runs add up to what one run would report.
Prints images, failures, pairs done (made or found up to date), passes and
time per image; --csv writes one row per (image, concept).`,
		Example: `  convis runs summary out/
  convis runs summary /shared/out --csv summary.csv --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			return runRunsSummary(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the summary as JSON")
	cmd.Flags().StringVar(&opts.CSV, "csv", "", "also write one CSV row per (image, concept) to this file")
	return cmd
}

func runRunsSummary(_ context.Context, g *globalOptions, opts *runsSummaryOptions) error {
	s, err := record.Summarize(opts.Paths)
	if err != nil {
		return err
	}
	for _, t := range s.Torn {
		g.Log.Warn(t.String())
	}
	if opts.CSV != "" {
		if err := render.WriteAtomic(opts.CSV, func(w io.Writer) error { return s.WriteCSV(w) }); err != nil {
			return err
		}
	}
	if opts.JSON {
		return writeJSON(g.Stdout, s)
	}
	s.Text(g.Stdout)
	return nil
}
