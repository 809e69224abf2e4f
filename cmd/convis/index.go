package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/clip/ort"
	"github.com/convis/convis/internal/embedcache"
	"github.com/convis/convis/internal/saliency"
	"github.com/convis/convis/internal/wordnet"
)

// indexOptions are the flags that choose the concept index.
type indexOptions struct {
	Vocab     string
	Prompts   string
	NoCache   bool
	CacheSize string
}

// loadHierarchy loads WordNet and the concept hierarchy T of a vocabulary;
// a word list's words that are no WordNet noun are named in a warning.
func loadHierarchy(g *globalOptions, vocab string) (*wordnet.DB, *wordnet.Hierarchy, error) {
	db, err := wordnet.Load()
	if err != nil {
		return nil, nil, err
	}
	h, err := db.LoadHierarchy(vocab)
	if err != nil {
		return nil, nil, usageError{err} // a vocabulary is an argument: a bad one is a usage error
	}
	if len(h.Unknown) > 0 && g != nil && g.Log != nil {
		g.Log.Warn(fmt.Sprintf("vocabulary %s: %d words are no WordNet noun and add nothing: %s", vocab, len(h.Unknown), joinMax(h.Unknown, 8)))
	}
	return db, h, err
}

// addIndexFlags registers the flags that choose the concept index.
func addIndexFlags(f *pflag.FlagSet, o *indexOptions) {
	f.StringVar(&o.Prompts, "prompts", string(saliency.PromptDefinitions), `prompts: definitions, lemmas, or a template such as "a photo of a {}"`)
	f.StringVar(&o.Vocab, "vocab", wordnet.VocabPaper, "concept hierarchy: paper, wordnet or a word-list file")
	f.BoolVar(&o.NoCache, "no-cache", false, "do not read or write any cache (concept index, window embeddings)")
	f.StringVar(&o.CacheSize, "cache-size", "2GB", "bound of the window-embedding cache; least recently used entries go first (e.g. 500MB, 10GB; 0: no window cache, for one-pass batches)")
}

// embeddingCache is the window-embedding cache of --cache-dir, or nil with
// --no-cache. A cache that cannot be read or written costs only reuse: it
// warns and the run goes on.
func embeddingCache(g *globalOptions, opts indexOptions) (*embedcache.Embeddings, error) {
	size, err := parseBytes(opts.CacheSize)
	if err != nil {
		return nil, usageErrorf("--cache-size: %v", err)
	}
	if opts.NoCache || size == 0 {
		return nil, nil // --cache-size 0: no window cache, the index cache stays
	}
	dir, err := cacheDir(g)
	if err != nil {
		return nil, err
	}
	c := embedcache.NewEmbeddings(filepath.Join(dir, "embeddings"), size)
	warned := false
	c.Warn = func(err error) {
		if !warned || g.Log.Enabled(context.Background(), slog.LevelDebug) {
			g.Log.Warn(err.Error())
		}
		warned = true
	}
	return c, nil
}

// parseBytes reads a size such as 2GB, 500MB, 1.5GiB or 1048576 (bytes).
// Units are powers of 1024, whether written GB or GiB (as convis prints them).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || v < 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a size (want e.g. 500MB, 2GB, 1GiB)", s)
	}
	return int64(v * mult), nil
}

// vocabKey names a vocabulary in cache keys: its name, or its file's hash.
func vocabKey(vocab string) (string, error) {
	if vocab == wordnet.VocabPaper || vocab == wordnet.VocabWordNet || vocab == "" {
		if vocab == "" {
			vocab = wordnet.VocabPaper
		}
		return vocab, nil
	}
	data, err := os.ReadFile(vocab)
	if err != nil {
		return "", fmt.Errorf("vocabulary %s: %w", vocab, err)
	}
	sum := sha256.Sum256(data)
	return "file:" + hex.EncodeToString(sum[:]), nil
}

// loadIndex returns the prompt embeddings of T for the model, from the
// cache when it holds a valid copy.
func loadIndex(ctx context.Context, g *globalOptions, m *clip.Model, h *wordnet.Hierarchy, opts indexOptions, prog *progressLine) (*saliency.ConceptIndex, error) {
	hash, err := m.Hash()
	if err != nil {
		return nil, err
	}
	vk, err := vocabKey(opts.Vocab)
	if err != nil {
		return nil, err
	}
	dir := ""
	if !opts.NoCache {
		cache, err := cacheDir(g)
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(cache, "index")
	}
	key := embedcache.IndexKey{ModelHash: hash, Vocab: vk, Mode: opts.Prompts, Synsets: h.Len(), Data: wordnet.DataVersion() + " " + m.TokenizerVersion()}
	ix, cached, err := saliency.LoadOrBuildIndex(ctx, dir, key, h, func() (*saliency.ConceptIndex, error) {
		g.Log.Info("building the concept index (once per model, vocabulary and prompt mode)", "synsets", h.Len(), "prompts", opts.Prompts)
		ip := newIndexProgress(g, prog)
		// Batched by token count: a batch is padded to its longest prompt
		// (same embeddings, bit for bit, on the built-in model; faster).
		ix, err := saliency.BuildIndexByLength(ctx, h, saliency.PromptMode(opts.Prompts), m.EmbedTexts, 256, func(s string) int { return len(m.Tokenizer.Tokenize(s)) }, ip.Update)
		if err == nil {
			ip.Done(ix.Len())
		} else {
			prog.Done()
		}
		return ix, err
	}, embedcache.IndexOptions{
		Waiting: func() {
			g.Log.Info("another convis process is building this concept index; waiting for it", "cache", dir)
		},
		Warn: func(err error) {
			g.Log.Warn("the concept index was built but cannot be cached; it will be built again next time", "error", err)
		},
	})
	if err != nil {
		return nil, err
	}
	g.Log.Debug("concept index", "cached", cached, "prompts", ix.Len(), "dim", ix.Dim)
	if rt, err := runtimeLoader(g); err == nil {
		if mk, ok := rt.(matMulMaker); ok {
			ix.Kernel = &lazyKernel{make: func() (saliency.SimilarityKernel, error) { return mk.NewMatMul(ix.Emb, ix.Len(), ix.Dim) }}
		}
	}
	// The image encoder is opened lazily: its size is checked against the
	// index's where its embeddings are first scored (SimilaritiesBatch).
	return ix, nil
}

// newExplainer makes the explainer of a loaded model and index, with the
// embedding cache unless --no-cache.
func newExplainer(g *globalOptions, m *clip.Model, ix *saliency.ConceptIndex, opts indexOptions) (*saliency.Explainer, error) {
	hash, err := m.Hash()
	if err != nil {
		return nil, err
	}
	cache, err := embeddingCache(g, opts)
	if err != nil {
		return nil, err
	}
	return &saliency.Explainer{Encoder: m.Image, Pre: m.Pre, Index: ix, Cache: cache, ModelKey: hash + "/" + m.Dir.Variant}, nil
}

// matMulMaker is ONNX Runtime's vectorised product (ort.Runtime); test
// runtimes without one leave the ranking to scalar Go.
type matMulMaker interface {
	NewMatMul(b []float32, p, d int) (*ort.MatMul, error)
}

// lazyKernel makes the product's session on first use: commands that load
// an index without ranking windows never pay for it.
type lazyKernel struct {
	make func() (saliency.SimilarityKernel, error)
	once sync.Once
	k    saliency.SimilarityKernel
	err  error
}

// Close frees the session, if one was made.
func (l *lazyKernel) Close() error {
	l.once.Do(func() { l.err = errors.New("ranking session: closed") })
	if c, ok := l.k.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (l *lazyKernel) Products(ctx context.Context, rows []float32, n int, out []float32) error {
	l.once.Do(func() {
		if l.k, l.err = l.make(); l.err != nil {
			// Every image would fail alike: a batch stops at it.
			l.err = &clip.OpenError{Err: fmt.Errorf("ranking session: %w", l.err)}
		}
	})
	if l.err != nil {
		return l.err
	}
	return l.k.Products(ctx, rows, n, out)
}

// resolveConcepts turns the user's concept texts into synsets of T, failing
// on the first one that is unknown, ambiguous or outside T.
func resolveConcepts(g *globalOptions, db *wordnet.DB, h *wordnet.Hierarchy, queries []string) ([]wordnet.Resolution, error) {
	var out []wordnet.Resolution
	seen := map[string]string{}
	split, err := splitConcepts(queries)
	if err != nil {
		return nil, err
	}
	for _, q := range split {
		r, err := db.ResolveIn(q, h.Contains)
		if err != nil {
			return nil, usageError{err}
		}
		if r.Via == "word" && !h.Contains(r.Synset.Index) {
			// The first sense is not in T: if other senses are, the word is
			// ambiguous and the user must pick one.
			var inT []string
			for _, o := range r.Others {
				if h.Contains(o.Index) {
					inT = append(inT, o.Name+" ("+truncate(o.Definition, 50)+")")
				}
			}
			if len(inT) > 0 {
				return nil, usageErrorf("concept %q is ambiguous: its first sense %s is not in the %q hierarchy, but these are: %s; name one of them", q, r.Synset.Name, h.Vocab, joinMax(inT, 4))
			}
		}
		if err := h.Check(r.Synset); err != nil {
			return nil, usageError{err}
		}
		if first, ok := seen[r.Synset.Name]; ok {
			g.note("%q and %q both mean %s: explained once", first, q, r.Synset.Name)
			continue
		}
		seen[r.Synset.Name] = q
		noteSense(g, r)
		out = append(out, r)
	}
	return out, nil
}

// splitConcepts splits --concept values on commas (-c dog,cat), as
// --format is split; WordNet names hold no commas. A blank concept (-c "",
// -c " ", -c dog,) is a usage error: it once made a run that did nothing
// and exited 0.
func splitConcepts(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				return nil, usageErrorf("--concept %q: a concept is empty; give a word, synset name or ImageNet id", v)
			}
			out = append(out, part)
		}
	}
	return out, nil // none at all is for the caller to judge (explain --top needs none)
}

func joinMax(s []string, n int) string {
	if len(s) > n {
		s = append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
