package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/errtext"
	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/record"
	"github.com/convis/convis/internal/saliency"
)

// DefaultScoreMethod is score's default and explain's presence method:
// chosen from the out-of-distribution experiment (docs/ood.md).
const DefaultScoreMethod = saliency.ScoreRank

// conceptScore is one concept's scores on one whole image.
type conceptScore struct {
	Naive, Hierarchy, Lemmas float64
	Rank                     int
}

func (c conceptScore) by(m saliency.ScoreMethod) float64 {
	switch m {
	case saliency.ScoreNaive:
		return c.Naive
	case saliency.ScoreHierarchy:
		return c.Hierarchy
	case saliency.ScoreLemmas:
		return c.Lemmas
	}
	return float64(-c.Rank)
}

// scorer scores whole images for concepts with one model and its indexes.
type scorer struct {
	m        *clip.Model
	defs     []saliency.Concept
	lemmas   []saliency.Concept // nil when the lemma index is not needed
	defIx    *saliency.ConceptIndex
	lemmaIx  *saliency.ConceptIndex
	resolved []string
}

// newScorer loads the model, the definitions index and (withLemmas) the
// lemma index, and resolves the concepts.
func newScorer(ctx context.Context, g *globalOptions, index indexOptions, queries []string, withLemmas bool) (*scorer, error) {
	db, h, err := loadHierarchy(g, index.Vocab)
	if err != nil {
		return nil, err
	}
	res, err := resolveConcepts(g, db, h, queries)
	if err != nil {
		return nil, err
	}
	m, err := loadModel(g)
	if err != nil {
		return nil, err
	}
	s := &scorer{m: m}
	prog := newProgress(g.Stderr)
	defOpts := index
	defOpts.Prompts = string(saliency.PromptDefinitions)
	if s.defIx, err = loadIndex(ctx, g, m, h, defOpts, prog); err != nil {
		m.Close()
		return nil, err
	}
	if withLemmas {
		lemOpts := index
		lemOpts.Prompts = string(saliency.PromptLemmas)
		if s.lemmaIx, err = loadIndex(ctx, g, m, h, lemOpts, prog); err != nil {
			m.Close()
			return nil, err
		}
	}
	for _, r := range res {
		c, err := s.defIx.Concept(r.Query, r.Synset)
		if err != nil {
			m.Close()
			return nil, err
		}
		s.defs = append(s.defs, c)
		s.resolved = append(s.resolved, r.Synset.Name)
		if s.lemmaIx != nil {
			lc, err := s.lemmaIx.Concept(r.Query, r.Synset)
			if err != nil {
				m.Close()
				return nil, err
			}
			s.lemmas = append(s.lemmas, lc)
		}
	}
	return s, nil
}

func (s *scorer) Close() {
	s.defIx.Close()
	s.lemmaIx.Close()
	s.m.Close()
}

// score embeds one image (CLIP's own preprocessing) and scores it for
// every concept.
func (s *scorer) score(ctx context.Context, img *clip.RGB) ([]conceptScore, error) {
	embs, err := s.m.EmbedImages(ctx, []*clip.RGB{img}, 1)
	if err != nil {
		return nil, err
	}
	e := clip.Normalize(embs[0])
	wd := saliency.NewWholeImage(s.defIx, e)
	var wl *saliency.WholeImage
	if s.lemmaIx != nil {
		wl = saliency.NewWholeImage(s.lemmaIx, e)
	}
	out := make([]conceptScore, len(s.defs))
	for i, c := range s.defs {
		out[i] = conceptScore{Naive: wd.Naive(c), Hierarchy: wd.Best(c), Rank: wd.Rank(c)}
		if wl != nil {
			out[i].Lemmas = wl.Best(s.lemmas[i])
		}
	}
	return out, nil
}

type scoreOptions struct {
	Inputs    []string
	Concepts  []string
	Method    string
	Index     indexOptions
	Recursive bool
	FromFile  string
	Shard     string
	JSONL     bool
	CSV       bool
	Decode    decodeFlags
}

// scoreRecord is one (image, concept) of convis score.
type scoreRecord struct {
	Status  string   `json:"status"`
	Image   string   `json:"image"`
	Rel     string   `json:"relative_path"`
	Concept string   `json:"concept,omitempty"`
	Method  string   `json:"method,omitempty"`
	Score   *float64 `json:"score,omitempty"`
	Rank    *int     `json:"rank,omitempty"` // best rank of the concept's subtree among all of T (0 = first)
	Error   string   `json:"error,omitempty"`
}

func newScoreCmd(g *globalOptions) *cobra.Command {
	opts := &scoreOptions{}
	cmd := &cobra.Command{
		Use:   "score IMAGE|DIR... --concept CONCEPT...",
		Short: "Score how present concepts are in whole images (for filtering datasets)",
		Long: `Score each image for each concept from its whole-image CLIP embedding:

  naive      the cosine with the concept's own WordNet definition
  hierarchy  the best cosine over the definitions of the concept's subtree in T
  lemmas     the best cosine over the lemmas of the subtree
  rank       ConVis's score on the whole image: the best rank of the subtree
             among all of T's definitions, as −rank (0 is the best score)

The default, rank, separated concepts best in the out-of-distribution
experiment (docs/ood.md). Higher scores mean more present; every record also
carries the rank. Inputs as explain takes them (folders, -r, --from-file,
--shard); bad images are reported and the others scored.`,
		Example: `  convis score photos/ -r -c vehicle --jsonl > vehicle.jsonl
  convis score scans/ -c tumor --vocab wordnet --method hierarchy --csv > tumor.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if len(args) == 0 && opts.FromFile == "" {
				return usageErrorf("give images or folders, or --from-file")
			}
			return runScore(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Concepts, "concept", "c", nil, "concept: word, synset name or ImageNet id (repeatable, or comma-separated)")
	f.StringVar(&opts.Method, "method", string(DefaultScoreMethod), "naive, hierarchy, lemmas or rank")
	addIndexFlags(f, &opts.Index)
	f.BoolVarP(&opts.Recursive, "recursive", "r", false, "descend into subfolders")
	f.StringVar(&opts.FromFile, "from-file", "", "read image paths from a file, one per line (- for stdin)")
	f.StringVar(&opts.Shard, "shard", "", "take part K of N of the images (K/N), or auto")
	f.BoolVar(&opts.JSONL, "jsonl", false, "stream one JSON line per (image, concept)")
	f.BoolVar(&opts.CSV, "csv", false, "print CSV (a header, then one row per (image, concept))")
	addDecodeFlags(f, &opts.Decode)
	return cmd
}

func runScore(ctx context.Context, g *globalOptions, opts *scoreOptions) error {
	if len(opts.Concepts) == 0 {
		return usageErrorf("give at least one --concept")
	}
	method, err := saliency.ParseScoreMethod(opts.Method)
	if err != nil {
		return usageError{err}
	}
	if opts.JSONL && opts.CSV {
		return usageErrorf("--jsonl and --csv: choose one")
	}
	do, err := opts.Decode.singleFrame("score")
	if err != nil {
		return err
	}
	jobs, _, err := explainJobs(ctx, g, &explainOptions{Inputs: opts.Inputs, FromFile: opts.FromFile, Recursive: opts.Recursive, Shard: opts.Shard})
	if err != nil {
		return err
	}
	s, err := newScorer(ctx, g, opts.Index, opts.Concepts, method == saliency.ScoreLemmas)
	if err != nil {
		return err
	}
	defer s.Close()
	enc := json.NewEncoder(g.Stdout)
	enc.SetEscapeHTML(false)
	cw := csv.NewWriter(g.Stdout)
	if opts.CSV {
		cw.Write([]string{"relative_path", "image", "concept", "method", "score", "rank", "status", "error"})
		cw.Flush()
	}
	emit := func(r scoreRecord) {
		switch {
		case opts.JSONL:
			enc.Encode(r)
		case opts.CSV:
			sc, rk := "", ""
			if r.Score != nil {
				sc, rk = strconv.FormatFloat(*r.Score, 'g', 6, 64), strconv.Itoa(*r.Rank)
			}
			cw.Write([]string{r.Rel, r.Image, r.Concept, r.Method, sc, rk, r.Status, r.Error})
			cw.Flush()
		case r.Status == record.StatusOK:
			fmt.Fprintf(g.Stdout, "%s  %s  %s %.4f  rank %d\n", escapeName(r.Image), r.Concept, r.Method, *r.Score, *r.Rank)
		}
		if r.Status == record.StatusError {
			fmt.Fprintln(g.Stderr, "convis: "+escapeName(r.Error))
		}
	}
	prog := newBatchProgress(g, len(jobs))
	failed, err := pipeline.Each(ctx, jobs, pipeline.EachOptions{
		Decode:   do,
		Prefetch: pipeline.DefaultPrefetch,
		Progress: prog.Update,
		Failed: func(j pipeline.Job, err error) {
			emit(scoreRecord{Status: record.StatusError, Image: j.Path, Rel: j.Rel, Error: errtext.OneLine(err.Error())})
		},
	}, func(ctx context.Context, _ int, j pipeline.Job, img *clip.RGB) error {
		scores, err := s.score(ctx, img)
		if err != nil {
			return err
		}
		for k, c := range scores {
			v, rank := c.by(method), c.Rank
			emit(scoreRecord{Status: record.StatusOK, Image: j.Path, Rel: j.Rel, Concept: s.resolved[k], Method: string(method), Score: &v, Rank: &rank})
		}
		return nil
	})
	if err != nil {
		return err
	}
	prog.Done()
	if failed > 0 {
		msg := fmt.Sprintf("%d of %d images failed", failed, len(jobs))
		fmt.Fprintln(g.Stderr, "convis: "+msg)
		return silentError{errors.New(msg)}
	}
	return nil
}
