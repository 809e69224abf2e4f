package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/wordnet"
)

func newConceptsCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "concepts",
		Short: "Look up WordNet concepts and the ConVis concept hierarchy",
		Long: `Look up WordNet 3.0 noun concepts. A concept is a synset, named as NLTK
names it (dog.n.01), by its ImageNet id (n02084071) or by a word (dog), which
takes the word's first sense. None of these commands needs a model.`,
	}
	cmd.AddCommand(newConceptsSearchCmd(g), newConceptsShowCmd(g), newConceptsTreeCmd(g))
	return cmd
}

type conceptsSearchOptions struct {
	Word  string
	Vocab string
	JSON  bool
}

func newConceptsSearchCmd(g *globalOptions) *cobra.Command {
	opts := &conceptsSearchOptions{}
	cmd := &cobra.Command{
		Use:   "search WORD",
		Short: "List the noun senses of a word, in WordNet's sense order",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Word = args[0]
			return runConceptsSearch(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&opts.Vocab, "vocab", wordnet.VocabPaper, "concept hierarchy whose senses are marked: paper, wordnet or a word-list file")
	return cmd
}

func runConceptsSearch(ctx context.Context, g *globalOptions, opts *conceptsSearchOptions) error {
	db, h, err := loadHierarchy(g, opts.Vocab)
	if err != nil {
		return err
	}
	r, err := db.ResolveIn(opts.Word, h.Contains)
	if err != nil {
		return usageError{err}
	}
	found := []*wordnet.Synset{r.Synset}
	if r.Via == "word" {
		// Every sense in WordNet order, the chosen one among them.
		found = nil
		for _, form := range []string{opts.Word, strings.Join(strings.Fields(opts.Word), "_")} {
			if ss := db.SynsetsOf(form); len(ss) > 0 {
				found = ss
				break
			}
		}
	}
	type entry struct {
		Name       string `json:"name"`
		WNID       string `json:"wnid"`
		Definition string `json:"definition"`
		InVocab    bool   `json:"in_vocab"`
		Chosen     bool   `json:"chosen"` // what the bare word (or name) resolves to
	}
	out := make([]entry, len(found))
	for i, s := range found {
		out[i] = entry{s.Name, s.WNID(), s.Definition, h.Contains(s.Index), s == r.Synset}
	}
	if opts.JSON {
		return writeJSON(g.Stdout, out)
	}
	fmt.Fprintf(g.Stdout, "   %-28s %-9s  %s  (* %q resolves to it; T: in the %s vocabulary)\n", "sense", "id", "definition", opts.Word, h.Vocab)
	for _, e := range out {
		mark := "  "
		if e.Chosen {
			mark = "* "
		}
		t := " "
		if e.InVocab {
			t = "T"
		}
		fmt.Fprintf(g.Stdout, "%s%s %-28s %s  %s\n", mark, t, e.Name, e.WNID, e.Definition)
	}
	return nil
}

type conceptsShowOptions struct {
	Concept string
	JSON    bool
}

func newConceptsShowCmd(g *globalOptions) *cobra.Command {
	opts := &conceptsShowOptions{}
	cmd := &cobra.Command{
		Use:   "show SYNSET",
		Short: "Show a synset: id, lemmas, definition, examples and relations",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Concept = args[0]
			return runConceptsShow(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// synsetJSON is the `concepts show --json` record.
type synsetJSON struct {
	Name              string   `json:"name"`
	WNID              string   `json:"wnid"`
	Offset            int      `json:"offset"`
	Lemmas            []string `json:"lemmas"`
	Definition        string   `json:"definition"`
	Examples          []string `json:"examples"`
	Hypernyms         []string `json:"hypernyms"`
	InstanceHypernyms []string `json:"instance_hypernyms"`
	Hyponyms          []string `json:"hyponyms"`
	InstanceHyponyms  []string `json:"instance_hyponyms"`
}

func runConceptsShow(ctx context.Context, g *globalOptions, opts *conceptsShowOptions) error {
	db, err := wordnet.Load()
	if err != nil {
		return err
	}
	r, err := db.Resolve(opts.Concept)
	if err != nil {
		return usageError{err}
	}
	s := r.Synset
	rec := synsetJSON{
		Name: s.Name, WNID: s.WNID(), Offset: s.Offset, Lemmas: s.Lemmas, Definition: s.Definition,
		Examples:          orEmpty(s.Examples),
		Hypernyms:         orEmpty(wordnet.Names(db.Related(s.Hypernyms))),
		InstanceHypernyms: orEmpty(wordnet.Names(db.Related(s.InstanceHypernyms))),
		Hyponyms:          orEmpty(wordnet.Names(db.Related(s.Hyponyms))),
		InstanceHyponyms:  orEmpty(wordnet.Names(db.Related(s.InstanceHyponyms))),
	}
	noteSense(g, r)
	if opts.JSON {
		return writeJSON(g.Stdout, rec)
	}
	w := g.Stdout
	fmt.Fprintf(w, "%s  (%s, offset %d)\n", rec.Name, rec.WNID, rec.Offset)
	fmt.Fprintf(w, "  lemmas:      %s\n", strings.Join(rec.Lemmas, ", "))
	fmt.Fprintf(w, "  definition:  %s\n", rec.Definition)
	for _, e := range rec.Examples {
		fmt.Fprintf(w, "  example:     %q\n", e)
	}
	list := func(label string, names []string) {
		if len(names) > 0 {
			fmt.Fprintf(w, "  %-12s %s\n", label+":", strings.Join(names, ", "))
		}
	}
	list("hypernyms", rec.Hypernyms)
	list("instance of", rec.InstanceHypernyms)
	list("hyponyms", rec.Hyponyms)
	list("instances", rec.InstanceHyponyms)
	return nil
}

// noteSense tells on stderr which sense a bare word resolved to.
func noteSense(g *globalOptions, r wordnet.Resolution) {
	if r.Via == "sense" {
		g.note("%q is not a synset's own name; as in NLTK it means sense %s of %q: %s (%s)", r.Query, strings.TrimLeft(r.Query[strings.LastIndex(r.Query, ".")+1:], "0"), r.Query[:strings.Index(strings.ToLower(r.Query), ".n.")], r.Synset.Name, r.Synset.Definition)
		return
	}
	if r.Via != "word" || len(r.Others) == 0 {
		return
	}
	others := wordnet.Names(r.Others)
	if len(others) > 4 {
		others = append(others[:4], fmt.Sprintf("… (%d more)", len(r.Others)-4))
	}
	why := ""
	if r.Preferred {
		why = ", its first sense that is a physical thing, not a person, and in the vocabulary"
	}
	g.note("%q means %s (%s)%s; other senses: %s", r.Query, r.Synset.Name, r.Synset.Definition, why, strings.Join(others, ", "))
}

type conceptsTreeOptions struct {
	Concept string
	Depth   int
	Vocab   string
	JSON    bool
}

func newConceptsTreeCmd(g *globalOptions) *cobra.Command {
	opts := &conceptsTreeOptions{}
	cmd := &cobra.Command{
		Use:   "tree SYNSET",
		Short: "Show a concept's subtree in the ConVis hierarchy T",
		Long: `Show the subtree of a concept inside the concept hierarchy T: the synsets
whose best rank scores the concept. --vocab chooses T: "paper" (the ConVis
reference word list, 7,080 synsets), "wordnet" (every noun under entity.n.01)
or a file with one word per line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Concept = args[0]
			return runConceptsTree(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Depth, "depth", 2, "levels to print (0: all)")
	cmd.Flags().StringVar(&opts.Vocab, "vocab", wordnet.VocabPaper, "hierarchy vocabulary: paper, wordnet or a word-list file")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runConceptsTree(ctx context.Context, g *globalOptions, opts *conceptsTreeOptions) error {
	if opts.Depth < 0 {
		return usageErrorf("--depth must be 0 or more")
	}
	db, h, err := loadHierarchy(g, opts.Vocab)
	if err != nil {
		return err
	}
	rs, err := resolveConcepts(g, db, h, []string{opts.Concept})
	if err != nil {
		return err
	}
	r := rs[0]
	sub := h.Subtree(r.Synset.Index)
	if opts.JSON {
		names := make([]string, len(sub))
		for i, p := range sub {
			names[i] = db.Get(h.Nodes[p]).Name
		}
		return writeJSON(g.Stdout, map[string]any{
			"root": r.Synset.Name, "vocab": h.Vocab, "size": len(sub), "synsets": names,
		})
	}
	fmt.Fprintf(g.Stdout, "%s: %d synsets in its subtree of T (%s, %d synsets)\n", r.Synset.Name, len(sub), h.Vocab, h.Len())
	printTree(g.Stdout, h, r.Synset.Index, "", 1, opts.Depth)
	return nil
}

func printTree(w io.Writer, h *wordnet.Hierarchy, s int32, indent string, level, depth int) {
	if depth != 0 && level > depth {
		return
	}
	kids := h.Children(s)
	for i, k := range kids {
		branch, next := "├── ", "│   "
		if i == len(kids)-1 {
			branch, next = "└── ", "    "
		}
		syn := h.DB.Get(k)
		size := len(h.Subtree(k))
		extra := ""
		if size > 1 {
			extra = fmt.Sprintf(" [%d]", size)
		}
		fmt.Fprintf(w, "%s%s%s%s  %s\n", indent, branch, syn.Name, extra, truncate(syn.Definition, 60))
		printTree(w, h, k, indent+next, level+1, depth)
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
