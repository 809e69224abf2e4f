package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/compare"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/wordnet"
)

// Exit codes, mapped from errors in one place (exitCode).
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// usageError marks bad flags or arguments (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// silentError is a failure already reported (a batch with bad images).
type silentError struct{ err error }

func (e silentError) Error() string { return e.err.Error() }

// globalOptions are the persistent flags every command sees.
type globalOptions struct {
	Model    string
	OrtLib   string
	Threads  int
	CacheDir string
	LogLevel string
	Variant  string
	// ImageOutput and TextOutput override the encoders' embedding outputs.
	ImageOutput, TextOutput string

	builtinNoted bool

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
}

// Main runs convis with args and returns the process exit code; tests call it
// directly through testscript.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	code, usage := classify(ctx, err)
	if err != nil && code != exitOK {
		var silent silentError
		switch {
		case errors.As(err, &silent):
		case code == exitInterrupted:
			fmt.Fprintln(stderr, "convis: interrupted")
		default:
			fmt.Fprintln(stderr, "convis: "+escapeName(errtext.OneLine(err.Error())))
		}
		// Only a usage error sends the user to --help: an unreadable input
		// (exit 2 as well) ends with the line naming the file.
		if usage {
			fmt.Fprintln(stderr, "Run 'convis --help' for usage.")
		}
	}
	return code
}

func exitCode(ctx context.Context, err error) int {
	code, _ := classify(ctx, err)
	return code
}

// classify maps an error to its exit code, and says whether it is a usage
// error (bad flags or arguments, as opposed to bad data that shares exit 2).
func classify(ctx context.Context, err error) (code int, usage bool) {
	switch {
	case err == nil:
		return exitOK, false
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return exitInterrupted, false
	}
	var u usageError
	if errors.As(err, &u) {
		return exitUsage, true
	}
	// An input compare cannot read is a broken pipeline, not a moved map:
	// exit 2, but not a usage error.
	var in *compare.InputError
	if errors.As(err, &in) {
		return exitUsage, false
	}
	// cobra reports unknown commands and argument counts as plain errors
	// of its own: unwrapped, and starting with these words. Errors from
	// convis's work wrap their cause (an I/O "invalid argument" among
	// them), so they never match.
	if errors.Unwrap(err) == nil {
		msg := err.Error()
		for _, p := range []string{"unknown command ", "unknown flag: ", "unknown shorthand flag: ", "invalid argument ", "accepts ", "requires at least ", "requires at most ", "requires exactly ", "flag needs an argument: ", "required flag(s) "} {
			if strings.HasPrefix(msg, p) {
				return exitUsage, true
			}
		}
	}
	return exitFailure, false
}

var flagParseRE = regexp.MustCompile(`^invalid argument "(.*)" for "(.*)" flag: strconv\.Parse(\w+): .*$`)

// flagBoundRE is a bounded flag's refusal (boundedInt).
var flagBoundRE = regexp.MustCompile(`^invalid argument ".*" for "(.*)" flag: (must be in .*)$`)

// friendlyFlagError turns pflag's strconv messages ("strconv.ParseUint:
// parsing "-1": invalid syntax") into what the flag wants.
func friendlyFlagError(err error) error {
	if b := flagBoundRE.FindStringSubmatch(err.Error()); b != nil {
		flag := b[1]
		if i := strings.LastIndex(flag, "--"); i >= 0 {
			flag = flag[i:]
		}
		return fmt.Errorf("%s %s", flag, b[2])
	}
	m := flagParseRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	want := map[string]string{"Uint": "a whole number ≥ 0", "Int": "a whole number", "Float": "a number", "Bool": "true or false"}[m[3]]
	if want == "" {
		return err
	}
	flag := m[2]
	if i := strings.LastIndex(flag, "--"); i >= 0 {
		flag = flag[i:]
	}
	return fmt.Errorf("%s: %q is not %s", flag, m[1], want)
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "convis",
		Short: "Explain CLIP image embeddings with WordNet concepts (ConVis)",
		Long: `convis shows where a CLIP model sees a concept in an image.

Give it an image and any WordNet noun concept ("dog", "animal.n.01",
"n02084071"): occluded patches of the image are embedded with CLIP's image
encoder and ranked against the text embeddings of WordNet definitions, and a
concept scores by the best rank of any synset in its subtree.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version(),
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			switch strings.ToLower(g.LogLevel) {
			case "debug":
				level = slog.LevelDebug
			case "info", "":
				level = slog.LevelInfo
			case "warn", "warning":
				level = slog.LevelWarn
			case "error":
				level = slog.LevelError
			default:
				return usageErrorf("--log-level %q: want debug, info, warn or error", g.LogLevel)
			}
			if v, _ := cmd.Flags().GetBool("verbose"); v {
				level = slog.LevelDebug
			}
			g.Log = newPlainLogger(g.Stderr, level)
			if g.Threads < 0 || g.Threads > maxThreads() {
				return usageErrorf("--threads must be in [0, %d] (0: one per core; at most 4 per core), got %d", maxThreads(), g.Threads)
			}
			switch g.Variant {
			case "fp32", "fp16", "quantized":
			default:
				return usageErrorf("--variant %q: want fp32, fp16 or quantized", g.Variant)
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{suggestFlag(cmd, friendlyFlagError(err))} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.Model, "model", os.Getenv("CONVIS_MODEL"), "model directory or installed model name (default: the built-in demo model; env CONVIS_MODEL)")
	pf.StringVar(&g.Variant, "variant", "fp32", "ONNX variant of the model: fp32, fp16 or quantized")
	pf.StringVar(&g.ImageOutput, "image-output", "", "the vision model's embedding output (default: image_embeds, else pooler_output, else the only [B, D] output)")
	pf.StringVar(&g.TextOutput, "text-output", "", "the text model's embedding output (default: text_embeds, else pooler_output, else the only [B, D] output)")
	pf.StringVar(&g.OrtLib, "ort-lib", "", "path to the ONNX Runtime shared library (env CONVIS_ORT_LIB)")
	pf.IntVar(&g.Threads, "threads", 0, "inference threads (0: one per core)")
	pf.StringVar(&g.CacheDir, "cache-dir", os.Getenv("CONVIS_CACHE_DIR"), "cache directory (default: the user cache directory/convis; env CONVIS_CACHE_DIR)")
	pf.StringVar(&g.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.BoolP("verbose", "v", false, "verbose logging (same as --log-level debug)")

	root.AddCommand(
		newVersionCmd(g),
		newConceptsCmd(g),
		newTokenizeCmd(g),
		newEmbedCmd(g),
		newModelCmd(g),
		newExplainCmd(g),
		newClassifyCmd(g),
		newEvalCmd(g),
		newRunsCmd(g),
		newCompareCmd(g),
		newCheckCmd(g),
		newReportCmd(g),
		newScoreCmd(g),
		newCacheCmd(g),
	)
	root.InitDefaultCompletionCmd()
	registerCompletions(root, g)
	var groups func(c *cobra.Command)
	groups = func(c *cobra.Command) {
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			c.Args = cobra.ArbitraryArgs
			c.RunE = groupRunE
		}
		for _, sub := range c.Commands() {
			groups(sub)
		}
	}
	for _, c := range root.Commands() {
		groups(c)
	}
	return root
}

// groupRunE runs a command group (model, concepts, eval, runs,
// completion): its help without arguments; a usage error naming the
// nearest subcommands for a mistyped one (cobra printed help and exit 0).
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	var names, near []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
			if wordnet.EditDistance(args[0], c.Name(), 2) <= 2 || strings.HasPrefix(c.Name(), args[0]) {
				near = append(near, c.Name())
			}
		}
	}
	if len(near) > 0 {
		msg += "; did you mean " + strings.Join(near, ", ") + "?"
	} else {
		msg += "; its commands: " + strings.Join(names, ", ")
	}
	return usageErrorf("%s", msg)
}

// suggestFlag adds the nearest flag names to an unknown flag error.
func suggestFlag(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return err
	}
	var near []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && wordnet.EditDistance(name, f.Name, 2) <= 2 {
			near = append(near, "--"+f.Name)
		}
	})
	if len(near) == 0 {
		return err
	}
	return fmt.Errorf("%s; did you mean %s?", msg, strings.Join(near, ", "))
}
