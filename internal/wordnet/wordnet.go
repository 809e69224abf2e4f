// Package wordnet is the WordNet 3.0 noun graph, embedded in the binary, with
// NLTK-compatible names, lookups and morphology, and the ConVis hierarchy T.
package wordnet

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

//go:embed data/wn30-noun.txt.gz
var embeddedGraph []byte

// Synset is one noun synset. Relations hold indexes into DB.Synsets.
type Synset struct {
	Index             int32
	Offset            int
	Name              string // NLTK name, e.g. dog.n.01
	Lemmas            []string
	Definition        string
	Examples          []string
	Hypernyms         []int32
	InstanceHypernyms []int32
	Hyponyms          []int32
	InstanceHyponyms  []int32
	UsageDomains      []int32 // WordNet's usage labels: ethnic slur, obscenity, slang, trademark…
}

// WNID is the ImageNet-style id, "n" and the 8-digit offset.
func (s *Synset) WNID() string { return fmt.Sprintf("n%08d", s.Offset) }

// DB is the loaded noun graph. It is read-only and safe for concurrent use.
type DB struct {
	Synsets    []Synset
	byName     map[string]int32
	byOffset   map[int]int32
	index      map[string][]int32 // lemma (lower case) → synsets in sense order
	exceptions map[string][]string
	tagged     map[string]int // lemma → times its noun senses were tagged in SemCor (cntlist.rev)

	offensiveOnce sync.Once
	offensive     []int32 // the synsets of offensiveDomains
}

// Tagged is how often a lemma's noun senses occur in WordNet's tagged
// corpus: a frequency for ranking suggestions.
func (db *DB) Tagged(lemma string) int { return db.tagged[strings.ToLower(lemma)] }

var (
	loadOnce sync.Once
	loadedDB *DB
	loadErr  error
)

// Load returns the embedded graph, parsed once per process.
func Load() (*DB, error) {
	loadOnce.Do(func() {
		raw, err := gunzip(embeddedGraph)
		if err != nil {
			loadErr = fmt.Errorf("embedded wordnet graph: %w", err)
			return
		}
		loadedDB, loadErr = Parse(raw)
	})
	return loadedDB, loadErr
}

// gunzip decompresses into a buffer sized from the gzip trailer, which saves
// the repeated growth (and clearing) that io.ReadAll does on 14 MB.
func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	size := 0
	if n := len(data); n >= 4 {
		size = int(binary.LittleEndian.Uint32(data[n-4:]))
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	if _, err := io.Copy(buf, zr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MustLoad is Load for code paths where the embedded data is known good (tests, init of tools).
func MustLoad() *DB {
	db, err := Load()
	if err != nil {
		panic(err)
	}
	return db
}

// Parse reads the text produced by GenerateGraph. It slices one string
// rather than allocating per field, which keeps Load well under 150 ms.
func Parse(raw []byte) (*DB, error) {
	// raw is never written after this point, so the string can share it.
	text := unsafe.String(unsafe.SliceData(raw), len(raw))
	if !strings.HasPrefix(text, formatHeader+"\n") {
		return nil, fmt.Errorf("wordnet graph: unknown format")
	}
	db := &DB{
		Synsets:    make([]Synset, 0, 82115),
		byName:     make(map[string]int32, 82115),
		byOffset:   make(map[int]int32, 82115),
		index:      make(map[string][]int32, 117798),
		exceptions: make(map[string][]string, 2054),
		tagged:     make(map[string]int, 9000),
	}
	// All relation ids live in one backing array; each synset slices it.
	ids := make([]int32, 0, 400000)
	parseIDs := func(list string) ([]int32, error) {
		if list == "" {
			return nil, nil
		}
		start := len(ids)
		for list != "" {
			var tok string
			tok, list, _ = strings.Cut(list, " ")
			v, err := strconv.Atoi(tok)
			if err != nil {
				return nil, err
			}
			ids = append(ids, int32(v))
		}
		return ids[start:len(ids):len(ids)], nil
	}
	var fields [64]string
	lineNo := 0
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		lineNo++
		if line == "" || line[0] == '#' {
			continue
		}
		f := fields[:0]
		for rest := line; ; {
			tok, after, found := strings.Cut(rest, "\t")
			f = append(f, tok)
			if !found {
				break
			}
			rest = after
		}
		bad := func(err error) error { return fmt.Errorf("wordnet graph line %d: %v", lineNo, err) }
		switch f[0] {
		case "S":
			if len(f) < 9 {
				return nil, bad(fmt.Errorf("%d fields", len(f)))
			}
			off, err := strconv.Atoi(f[1])
			if err != nil {
				return nil, bad(err)
			}
			i := int32(len(db.Synsets))
			s := Synset{Index: i, Offset: off, Name: f[2], Lemmas: strings.Split(f[3], " "), Definition: f[8]}
			if len(f) > 9 {
				s.Examples = append([]string(nil), f[9:]...)
			}
			lists := [4]*[]int32{&s.Hypernyms, &s.InstanceHypernyms, &s.Hyponyms, &s.InstanceHyponyms}
			for k, dst := range lists {
				if *dst, err = parseIDs(f[4+k]); err != nil {
					return nil, bad(err)
				}
			}
			db.Synsets = append(db.Synsets, s)
			db.byName[s.Name] = i
			db.byOffset[off] = i
		case "I":
			if len(f) != 4 {
				return nil, bad(fmt.Errorf("bad index record"))
			}
			l, err := parseIDs(f[2])
			if err != nil {
				return nil, bad(err)
			}
			db.index[f[1]] = l
			if f[3] != "0" {
				n, err := strconv.Atoi(f[3])
				if err != nil {
					return nil, bad(err)
				}
				db.tagged[f[1]] = n
			}
		case "U":
			if len(f) != 3 {
				return nil, bad(fmt.Errorf("bad usage record"))
			}
			i, err := strconv.Atoi(f[1])
			if err != nil || i < 0 || i >= len(db.Synsets) {
				return nil, bad(fmt.Errorf("bad synset %q", f[1]))
			}
			if db.Synsets[i].UsageDomains, err = parseIDs(f[2]); err != nil {
				return nil, bad(err)
			}
		case "E":
			if len(f) != 3 {
				return nil, bad(fmt.Errorf("bad exception record"))
			}
			db.exceptions[f[1]] = strings.Split(f[2], " ")
		default:
			return nil, bad(fmt.Errorf("unknown record %q", f[0]))
		}
	}
	n := int32(len(db.Synsets))
	for _, v := range ids {
		if v < 0 || v >= n {
			return nil, fmt.Errorf("wordnet graph: synset id %d out of range", v)
		}
	}
	return db, nil
}

// Len is the number of noun synsets (82,115 for WordNet 3.0).
func (db *DB) Len() int { return len(db.Synsets) }

// ByName finds a synset by its NLTK name (dog.n.01).
func (db *DB) ByName(name string) (*Synset, bool) {
	i, ok := db.byName[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return &db.Synsets[i], true
}

// ByOffset finds a synset by its data.noun byte offset.
func (db *DB) ByOffset(off int) (*Synset, bool) {
	i, ok := db.byOffset[off]
	if !ok {
		return nil, false
	}
	return &db.Synsets[i], true
}

// ByWNID finds a synset by its ImageNet-style id (n02084071).
func (db *DB) ByWNID(id string) (*Synset, bool) {
	if len(id) != 9 || (id[0] != 'n' && id[0] != 'N') {
		return nil, false
	}
	off, err := strconv.Atoi(id[1:])
	if err != nil {
		return nil, false
	}
	return db.ByOffset(off)
}

// Get returns the synset with index i.
func (db *DB) Get(i int32) *Synset { return &db.Synsets[i] }

// nounSubstitutions are WordNet's (and NLTK's) detachment rules for nouns.
var nounSubstitutions = [][2]string{
	{"s", ""}, {"ses", "s"}, {"ves", "f"}, {"xes", "x"}, {"zes", "z"},
	{"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"},
}

// Morphy returns the base forms of a noun that WordNet knows, as NLTK's _morphy.
func (db *DB) Morphy(form string) []string {
	applyRules := func(forms []string) []string {
		var out []string
		for _, f := range forms {
			for _, sub := range nounSubstitutions {
				if strings.HasSuffix(f, sub[0]) {
					out = append(out, f[:len(f)-len(sub[0])]+sub[1])
				}
			}
		}
		return out
	}
	filter := func(forms []string) []string {
		var out []string
		seen := map[string]bool{}
		for _, f := range forms {
			if _, ok := db.index[f]; ok && !seen[f] {
				out = append(out, f)
				seen[f] = true
			}
		}
		return out
	}
	if exc, ok := db.exceptions[form]; ok {
		return filter(append([]string{form}, exc...))
	}
	forms := applyRules([]string{form})
	if r := filter(append([]string{form}, forms...)); len(r) > 0 {
		return r
	}
	for len(forms) > 0 {
		forms = applyRules(forms)
		if r := filter(forms); len(r) > 0 {
			return r
		}
	}
	return nil
}

// SynsetsOf returns the noun synsets of a word in WordNet's sense order, as
// NLTK's wn.synsets(word, pos='n').
func (db *DB) SynsetsOf(word string) []*Synset {
	var out []*Synset
	for _, form := range db.Morphy(strings.ToLower(word)) {
		for _, i := range db.index[form] {
			out = append(out, &db.Synsets[i])
		}
	}
	return out
}

// Related returns the synsets of a relation list sorted by name, as NLTK does.
func (db *DB) Related(ids []int32) []*Synset {
	out := make([]*Synset, len(ids))
	for k, i := range ids {
		out[k] = &db.Synsets[i]
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Names returns the names of the synsets, in the given order.
func Names(ss []*Synset) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

// HyponymClosure returns every synset reachable through hyponym links (not
// instance hyponyms), the root excluded, in breadth-first order.
func (db *DB) HyponymClosure(root int32) []int32 {
	return db.closure(root, func(s *Synset) []int32 { return s.Hyponyms })
}

// HypernymClosure returns every ancestor through hypernym links, breadth first.
func (db *DB) HypernymClosure(root int32) []int32 {
	return db.closure(root, func(s *Synset) []int32 { return s.Hypernyms })
}

func (db *DB) closure(root int32, next func(*Synset) []int32) []int32 {
	seen := map[int32]bool{root: true}
	queue := []int32{root}
	var out []int32
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, n := range next(&db.Synsets[cur]) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
				queue = append(queue, n)
			}
		}
	}
	return out
}

// Lemmas returns every lemma in the index (lower case, underscores), sorted.
func (db *DB) Lemmas() []string {
	return slices.Sorted(maps.Keys(db.index))
}

// DataVersion names the embedded WordNet graph and the paper's word list
// by their content: caches built from definitions and hierarchies key on it.
func DataVersion() string {
	h := sha256.New()
	h.Write(embeddedGraph)
	h.Write([]byte(paperVocab))
	return "wn30:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// LemmasWithPrefix lists the noun lemmas that start with prefix, sorted.
func (db *DB) LemmasWithPrefix(prefix string) []string {
	var out []string
	for l := range db.index {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}
