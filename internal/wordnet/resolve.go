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
	// query was a word.
	Others []*Synset
	// Preferred is set when a word's first sense was passed over for the
	// first one that is a physical thing and not a person (tiger: the cat,
	// not "a fierce or audacious person").
	Preferred bool
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
// takes its first noun sense that can be seen (ResolveIn).
func (db *DB) Resolve(query string) (Resolution, error) { return db.ResolveIn(query, nil) }

// ResolveIn is Resolve for a vocabulary: a word takes, in WordNet order,
// the first sense that is a physical thing, not a person, and in the
// vocabulary (inT; nil: any); failing that the first physical non-person
// sense; failing that its first sense. Images show tigers, not "fierce or
// audacious persons", and kites, not fraudulent bank checks.
func (db *DB) ResolveIn(query string, inT func(int32) bool) (Resolution, error) {
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
			pick := db.pickSense(ss, inT)
			var others []*Synset
			for i, s := range ss {
				if i != pick {
					others = append(others, s)
				}
			}
			return Resolution{Query: query, Synset: ss[pick], Via: "word", Others: others, Preferred: pick != 0}, nil
		}
	}
	return Resolution{}, &UnknownConceptError{Query: query, Suggestions: db.suggest(wordForms(q)[0])}
}

// pickSense chooses a word's sense (see ResolveIn).
func (db *DB) pickSense(ss []*Synset, inT func(int32) bool) int {
	visible := func(s *Synset) bool { return db.IsPhysical(s.Index) && !db.IsPerson(s.Index) }
	if inT != nil {
		for i, s := range ss {
			if visible(s) && inT(s.Index) {
				return i
			}
		}
	}
	for i, s := range ss {
		if visible(s) {
			return i
		}
	}
	return 0
}

// IsPhysical reports whether a synset is a physical entity (a hyponym or
// instance of physical_entity.n.01).
func (db *DB) IsPhysical(i int32) bool { return db.descendsFrom(i, "physical_entity.n.01") }

// IsPerson reports whether a synset is a person (under person.n.01).
func (db *DB) IsPerson(i int32) bool { return db.descendsFrom(i, "person.n.01") }

func (db *DB) descendsFrom(i int32, ancestor string) bool {
	a, ok := db.byName[ancestor]
	if !ok {
		return false
	}
	seen := map[int32]bool{}
	stack := []int32{i}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c == a {
			return true
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		stack = append(stack, db.Synsets[c].Hypernyms...)
		stack = append(stack, db.Synsets[c].InstanceHypernyms...)
	}
	return false
}

// offensiveDomains are WordNet's usage labels whose terms are never
// suggested: a typo must not be answered with a slur.
var offensiveDomains = []string{"ethnic_slur.n.01", "obscenity.n.02", "disparagement.n.01"}

// Offensive reports whether any noun sense of a lemma carries one of
// WordNet's offensive usage labels.
func (db *DB) Offensive(lemma string) bool {
	db.offensiveOnce.Do(func() {
		for _, n := range offensiveDomains {
			if i, ok := db.byName[n]; ok {
				db.offensive = append(db.offensive, i)
			}
		}
	})
	bad := db.offensive
	for _, i := range db.index[lemma] {
		for _, d := range db.Synsets[i].UsageDomains {
			for _, b := range bad {
				if d == b {
					return true
				}
			}
		}
	}
	return false
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

// suggest returns up to 5 lemmas within a small edit distance of word
// (transpositions count one edit: dgo → dog), nearest first, then the most
// frequent in WordNet's tagged corpus; never a term WordNet labels as a
// slur or an obscenity.
func (db *DB) suggest(word string) []string {
	word = strings.ToLower(word)
	maxDist := 1
	if len(word) > 4 {
		maxDist = 2
	}
	type cand struct {
		lemma      string
		dist, freq int
	}
	var cands []cand
	for lemma := range db.index {
		if d := abs(len(lemma) - len(word)); d > maxDist {
			continue
		}
		if d := EditDistance(word, lemma, maxDist); d <= maxDist && !db.Offensive(lemma) {
			cands = append(cands, cand{lemma, d, db.tagged[lemma]})
		}
	}
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].dist != cands[b].dist {
			return cands[a].dist < cands[b].dist
		}
		if cands[a].freq != cands[b].freq {
			return cands[a].freq > cands[b].freq
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

// EditDistance is the optimal string alignment distance over bytes
// (Levenshtein plus adjacent transpositions), giving up (returning max+1)
// once every cell of a row exceeds max.
func EditDistance(a, b string, max int) int {
	prev2 := make([]int, len(b)+1)
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
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
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
