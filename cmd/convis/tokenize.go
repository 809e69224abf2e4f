package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
)

type tokenizeOptions struct {
	Texts []string
	JSON  bool
}

func newTokenizeCmd(g *globalOptions) *cobra.Command {
	opts := &tokenizeOptions{}
	cmd := &cobra.Command{
		Use:   "tokenize TEXT...",
		Short: "Print the token ids of texts as the model's text encoder takes them",
		Long: `Print the token ids of each text, one line per text: the special tokens the
tokenizer adds (CLIP: start and end), the ids, truncated to the context length
with the end token kept last, padded where the tokenizer pads to a fixed
length (SigLIP: 64).
Without --model: OpenAI's CLIP BPE vocabulary (context 77). With --model, the
model folder's tokenizer.json (BPE, WordPiece or Unigram), else its vocab.txt
(WordPiece, BERT's defaults), else its spiece.model (SentencePiece Unigram),
else OpenAI's vocabulary when config.json says the model is an OpenAI CLIP;
otherwise an error. No ONNX Runtime is needed.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Texts = args
			return runTokenize(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, `print a JSON array of {"text", "ids"}`)
	return cmd
}

func runTokenize(ctx context.Context, g *globalOptions, opts *tokenizeOptions) error {
	tok, err := tokenizerFor(g)
	if err != nil {
		return err
	}
	type entry struct {
		Text string  `json:"text"`
		IDs  []int32 `json:"ids"`
	}
	out := make([]entry, len(opts.Texts))
	for i, t := range opts.Texts {
		out[i] = entry{t, tok.Tokenize(t)}
	}
	if opts.JSON {
		return writeJSON(g.Stdout, out)
	}
	for _, e := range out {
		parts := make([]string, len(e.IDs))
		for i, id := range e.IDs {
			parts[i] = fmt.Sprint(id)
		}
		fmt.Fprintln(g.Stdout, strings.Join(parts, " "))
	}
	return nil
}

// tokenizerFor is the tokenizer of --model (clip.TokenizerForDir), else
// OpenAI's default vocabulary. It never loads ONNX Runtime.
func tokenizerFor(g *globalOptions) (*clip.Tokenizer, error) {
	if g.Model != "" {
		dir, err := resolveModelDir(g)
		if err != nil {
			return nil, err
		}
		tok, err := clip.TokenizerForDir(dir)
		if err != nil {
			return nil, &clip.ModelError{Path: dir, Msg: err.Error()}
		}
		return tok, nil
	}
	return clip.DefaultTokenizer()
}
