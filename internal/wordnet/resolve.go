package wordnet

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	nameRE = regexp.MustCompile(`^(.+)\.n\.(\d{2,})$`)
	wnidRE = regexp.MustCompile(`^[nN]\d{8}$`)
)

// Resolution is how a user's concept text was understood.
type Resolution struct {
	Query  string
	Synset *Synset
	// Via is "name", "wnid", "word", or "sense" for an NLTK-style name
	// that is not canonical (trumpet.n.01: sense 1 of the lemma trumpet,
	// which is cornet.n.01).
	Via string
	// Others are the word's other noun senses, in WordNet order, when the
	// query was a word and its first sense was chosen.
	Others []*Synset
}

// UnknownConceptError is returned when a query names no noun synset.
type UnknownConceptError struct {
	Query       string
	Suggestions []string
}

func (e *UnknownConceptError) Error() string {
	msg := fmt.Sprintf("unknown concept %q: no WordNet noun synset has that name, id or word", e.Query)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + strings.Join(e.Suggestions, ", ") + "?"
	}
	return msg
}

// Resolve understands a concept as users type it: an NLTK name (dog.n.01), an
// ImageNet id (n02084071), or a word (dog, Dogs, ice cream, tow-truck), which
// takes its first noun sense.
func (db *DB) Resolve(query string) (Resolution, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return Resolution{}, &UnknownConceptError{Query: query}
	}
	if wnidRE.MatchString(q) {
		if s, ok := db.ByWNID(q); ok {
			return Resolution{Query: query, Synset: s, Via: "wnid"}, nil
		}
		return Resolution{}, &UnknownConceptError{Query: query}
	}
	if m := nameRE.FindStringSubmatch(strings.ToLower(q)); m != nil {
		if s, ok := db.ByName(q); ok {
			return Resolution{Query: query, Synset: s, Via: "name"}, nil
		}
		// As NLTK's wn.synset(): the NN-th noun sense of the lemma, the
		// lemma taken as written (lower case, no morphology).
		if n, err := strconv.Atoi(m[2]); err == nil && n >= 1 {
			if senses := db.index[m[1]]; n <= len(senses) {
				return Resolution{Query: query, Synset: &db.Synsets[senses[n-1]], Via: "sense"}, nil
			}
		}
		var sugg []string
		for _, s := range db.SynsetsOf(m[1]) {
			sugg = append(sugg, s.Name)
		}
		if len(sugg) == 0 {
			sugg = db.suggest(m[1])
		}
		return Resolution{}, &UnknownConceptError{Query: query, Suggestions: limit(sugg, 6)}
	}
	for _, form := range wordForms(q) {
		if ss := db.SynsetsOf(form); len(ss) > 0 {
			return Resolution{Query: query, Synset: ss[0], Via: "word", Others: ss[1:]}, nil
		}
	}
	return Resolution{}, &UnknownConceptError{Query: query, Suggestions: db.suggest(wordForms(q)[0])}
}

// wordForms are the spellings tried for a word: WordNet joins multiword
// lemmas with underscores, and a few lemmas keep their hyphen (t-shirt).
func wordForms(q string) []string {
	q = strings.ToLower(strings.Join(strings.Fields(q), " "))
	forms := []string{q, strings.ReplaceAll(q, " ", "_")}
	forms = append(forms, strings.NewReplacer(" ", "_", "-", "_").Replace(q))
	forms = append(forms, strings.ReplaceAll(q, " ", "-"))
	return forms
}

func limit(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// suggest returns up to 5 lemmas within a small edit distance of word.
func (db *DB) suggest(word string) []string {
	word = strings.ToLower(word)
	maxDist := 1
	if len(word) > 4 {
		maxDist = 2
	}
	type cand struct {
		lemma string
		dist  int
	}
	var cands []cand
	for lemma := range db.index {
		if d := abs(len(lemma) - len(word)); d > maxDist {
			continue
		}
		if d := editDistance(word, lemma, maxDist); d <= maxDist {
			cands = append(cands, cand{lemma, d})
		}
	}
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].dist != cands[b].dist {
			return cands[a].dist < cands[b].dist
		}
		return cands[a].lemma < cands[b].lemma
	})
	var out []string
	for _, c := range cands {
		out = append(out, strings.ReplaceAll(c.lemma, "_", " "))
	}
	return limit(out, 5)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is Levenshtein distance over bytes, giving up (returning
// max+1) once every cell of a row exceeds max.
func editDistance(a, b string, max int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// NotInHierarchyError is returned for a concept outside the chosen T.
type NotInHierarchyError struct {
	Synset  *Synset
	Vocab   string
	Nearest []string // closest synsets that are in T: ancestors first, then descendants
}

func (e *NotInHierarchyError) Error() string {
	msg := fmt.Sprintf("concept %s (%s) is not in the %q concept hierarchy", e.Synset.Name, e.Synset.Definition, e.Vocab)
	if len(e.Nearest) > 0 {
		msg += "; nearest concepts in it: " + strings.Join(e.Nearest, ", ")
	}
	if e.Vocab != VocabWordNet {
		msg += "; or use --vocab wordnet to explain any noun"
	}
	return msg
}

// Check returns a NotInHierarchyError when s is not in T.
func (h *Hierarchy) Check(s *Synset) error {
	if h.Contains(s.Index) {
		return nil
	}
	return &NotInHierarchyError{Synset: s, Vocab: h.Vocab, Nearest: h.nearest(s.Index)}
}

// nearest finds the closest synsets of T: the first ancestors met going up
// (hypernyms and instance hypernyms) and the first descendants going down.
func (h *Hierarchy) nearest(s int32) []string {
	up := h.firstInT(s, func(x *Synset) []int32 { return append(append([]int32{}, x.Hypernyms...), x.InstanceHypernyms...) })
	down := h.firstInT(s, func(x *Synset) []int32 { return append(append([]int32{}, x.Hyponyms...), x.InstanceHyponyms...) })
	return limit(append(up, down...), 5)
}

func (h *Hierarchy) firstInT(start int32, next func(*Synset) []int32) []string {
	seen := map[int32]bool{start: true}
	level := []int32{start}
	for len(level) > 0 {
		var found []string
		var nextLevel []int32
		for _, cur := range level {
			for _, n := range next(&h.DB.Synsets[cur]) {
				if seen[n] {
					continue
				}
				seen[n] = true
				if h.Contains(n) {
					found = append(found, h.DB.Synsets[n].Name)
				} else {
					nextLevel = append(nextLevel, n)
				}
			}
		}
		if len(found) > 0 {
			sort.Strings(found)
			return found
		}
		level = nextLevel
	}
	return nil
}
