package wordnet

import (
	"bufio"
	_ "embed"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
)

//go:embed vocab/paper.txt
var paperVocab string

// Vocabulary names accepted besides a file path.
const (
	VocabPaper   = "paper"   // the ConVis reference's 1,979 physical-object words
	VocabWordNet = "wordnet" // every noun synset under entity.n.01
)

// RootName is the root of every hierarchy.
const RootName = "entity.n.01"

// Hierarchy is the ConVis concept hierarchy T: a DAG of synsets joined by
// regular hypernym links, every node on a path to entity.n.01.
type Hierarchy struct {
	DB    *DB
	Vocab string
	// Nodes lists the synsets of T in data.noun order. Positions in this
	// slice are the rows of prompt embedding matrices.
	Nodes []int32
	// Unknown lists the words of a word-list vocabulary that are no
	// WordNet noun (they add nothing to T).
	Unknown  []string
	position map[int32]int
	children [][]int32
	edges    int
}

// PaperWords returns the bundled reference word list.
func PaperWords() []string { return splitWords(paperVocab) }

func splitWords(text string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			out = append(out, w)
		}
	}
	return out
}

var (
	hierMu    sync.Mutex
	hierCache = map[string]*Hierarchy{}
)

// LoadHierarchy returns T for a vocabulary: "paper", "wordnet", or the path of
// a file with one word per line. Built hierarchies are kept for the process.
func (db *DB) LoadHierarchy(vocab string) (*Hierarchy, error) {
	if vocab == "" {
		vocab = VocabPaper
	}
	hierMu.Lock()
	defer hierMu.Unlock()
	if h, ok := hierCache[vocab]; ok && h.DB == db {
		return h, nil
	}
	var h *Hierarchy
	switch vocab {
	case VocabPaper:
		h = db.HierarchyFromWords(PaperWords(), vocab)
	case VocabWordNet:
		h = db.fullHierarchy()
	default:
		data, err := os.ReadFile(vocab)
		if err != nil {
			return nil, fmt.Errorf("vocabulary %s: %w (use paper, wordnet or a file with one word per line)", vocab, err)
		}
		// A byte-order mark (files saved by Windows editors) is not part
		// of the first word; "ice cream" is WordNet's ice_cream.
		words := splitWords(strings.TrimPrefix(string(data), "\ufeff"))
		for i, w := range words {
			words[i] = strings.Join(strings.Fields(w), "_")
		}
		h = db.HierarchyFromWords(words, vocab)
		for _, w := range words {
			if len(db.SynsetsOf(w)) == 0 {
				h.Unknown = append(h.Unknown, w)
			}
		}
		if len(h.Nodes) == 0 {
			return nil, fmt.Errorf("vocabulary %s: none of its %d words is a WordNet noun", vocab, len(words))
		}
	}
	hierCache[vocab] = h
	return h, nil
}

// HierarchyFromWords builds T as the ConVis reference does: for every noun
// sense of every word (NLTK lookup, morphology included), every regular
// hypernym path up to entity.n.01.
func (db *DB) HierarchyFromWords(words []string, vocab string) *Hierarchy {
	root, _ := db.ByName(RootName)
	reaches := db.reachesRoot(root.Index)
	in := map[int32]bool{}
	var visit func(int32)
	visit = func(s int32) {
		if in[s] || !reaches[s] {
			return
		}
		in[s] = true
		for _, p := range db.Synsets[s].Hypernyms {
			visit(p)
		}
	}
	for _, w := range words {
		for _, s := range db.SynsetsOf(w) {
			visit(s.Index)
		}
	}
	return db.newHierarchy(in, vocab)
}

// fullHierarchy is every synset with a regular hypernym path to the root.
func (db *DB) fullHierarchy() *Hierarchy {
	root, _ := db.ByName(RootName)
	return db.newHierarchy(db.reachesRoot(root.Index), VocabWordNet)
}

// reachesRoot marks the synsets from which regular hypernym links lead to
// root (instance-only synsets such as people and places do not).
func (db *DB) reachesRoot(root int32) map[int32]bool {
	ok := map[int32]bool{root: true}
	for _, d := range db.HyponymClosure(root) {
		ok[d] = true
	}
	return ok
}

func (db *DB) newHierarchy(in map[int32]bool, vocab string) *Hierarchy {
	h := &Hierarchy{DB: db, Vocab: vocab, position: make(map[int32]int, len(in))}
	for s, ok := range in {
		if ok {
			h.Nodes = append(h.Nodes, s)
		}
	}
	sort.Slice(h.Nodes, func(a, b int) bool { return h.Nodes[a] < h.Nodes[b] })
	for i, s := range h.Nodes {
		h.position[s] = i
	}
	h.children = make([][]int32, len(h.Nodes))
	for i, s := range h.Nodes {
		for _, p := range db.Synsets[s].Hypernyms {
			if pi, ok := h.position[p]; ok {
				h.children[pi] = append(h.children[pi], s)
				h.edges++
			}
		}
		_ = i
	}
	return h
}

// Len is |T|.
func (h *Hierarchy) Len() int { return len(h.Nodes) }

// Edges is the number of hypernym links inside T.
func (h *Hierarchy) Edges() int { return h.edges }

// Contains reports whether synset s is in T.
func (h *Hierarchy) Contains(s int32) bool { _, ok := h.position[s]; return ok }

// Position is the row of synset s in T's node order.
func (h *Hierarchy) Position(s int32) (int, bool) { p, ok := h.position[s]; return p, ok }

// Children are the hyponyms of s inside T, sorted by name.
func (h *Hierarchy) Children(s int32) []int32 {
	p, ok := h.position[s]
	if !ok {
		return nil
	}
	out := append([]int32(nil), h.children[p]...)
	sort.Slice(out, func(a, b int) bool { return h.DB.Synsets[out[a]].Name < h.DB.Synsets[out[b]].Name })
	return out
}

// Subtree is the concept set S of s: s and every descendant in T, as
// positions in T's node order, ascending.
func (h *Hierarchy) Subtree(s int32) []int {
	p, ok := h.position[s]
	if !ok {
		return nil
	}
	seen := map[int]bool{p: true}
	stack := []int{p}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range h.children[cur] {
			cp := h.position[c]
			if !seen[cp] {
				seen[cp] = true
				stack = append(stack, cp)
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
