package wordnet

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

type nltkFacts struct {
	SenseNames []struct {
		Name   string `json:"name"`
		Synset string `json:"synset"`
	} `json:"sense_names"`
	Synsets []struct {
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
		HyponymClosure    int      `json:"hyponym_closure"`
	} `json:"synsets"`
	Lookups []struct {
		Word    string   `json:"word"`
		Synsets []string `json:"synsets"`
	} `json:"lookups"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestAgreesWithNLTK checks facts that NLTK 3.8's WordNet reader reported
// (testdata/nltk_facts.json, made by scripts/nltk_facts.py).
func TestAgreesWithNLTK(t *testing.T) {
	raw, err := os.ReadFile("testdata/nltk_facts.json")
	if err != nil {
		t.Fatal(err)
	}
	var facts nltkFacts
	if err := json.Unmarshal(raw, &facts); err != nil {
		t.Fatal(err)
	}
	if len(facts.Synsets) < 250 || len(facts.Lookups) < 200 {
		t.Fatalf("fact file too small: %d synsets, %d lookups", len(facts.Synsets), len(facts.Lookups))
	}
	db := MustLoad()
	// NLTK-style names that are not canonical (issue 16.2): wn.synset()
	// takes the NN-th sense of the lemma.
	nonCanonical := 0
	for _, f := range facts.SenseNames {
		r, err := db.Resolve(f.Name)
		if err != nil || r.Synset.Name != f.Synset {
			t.Errorf("%s: resolved to %v (%v), NLTK says %s", f.Name, r.Synset, err, f.Synset)
			continue
		}
		if f.Name != f.Synset {
			nonCanonical++
			if r.Via != "sense" {
				t.Errorf("%s: resolved via %q, want sense", f.Name, r.Via)
			}
		}
	}
	if nonCanonical < 30 {
		t.Errorf("only %d non-canonical names in the facts", nonCanonical)
	}
	for _, f := range facts.Synsets {
		s, ok := db.ByName(f.Name)
		if !ok {
			t.Errorf("%s: not found", f.Name)
			continue
		}
		byID, ok := db.ByWNID(f.WNID)
		if !ok || byID != s || s.WNID() != f.WNID || s.Offset != f.Offset {
			t.Errorf("%s: id %s offset %d, NLTK says %s %d", f.Name, s.WNID(), s.Offset, f.WNID, f.Offset)
		}
		check := func(what string, got, want []string) {
			if !reflect.DeepEqual(nonNil(got), nonNil(want)) {
				t.Errorf("%s %s: got %q, NLTK %q", f.Name, what, got, want)
			}
		}
		check("lemmas", s.Lemmas, f.Lemmas)
		check("examples", s.Examples, f.Examples)
		check("hypernyms", Names(db.Related(s.Hypernyms)), f.Hypernyms)
		check("instance hypernyms", Names(db.Related(s.InstanceHypernyms)), f.InstanceHypernyms)
		check("hyponyms", Names(db.Related(s.Hyponyms)), f.Hyponyms)
		check("instance hyponyms", Names(db.Related(s.InstanceHyponyms)), f.InstanceHyponyms)
		if s.Definition != f.Definition {
			t.Errorf("%s definition: got %q, NLTK %q", f.Name, s.Definition, f.Definition)
		}
		if got := len(db.HyponymClosure(s.Index)); got != f.HyponymClosure {
			t.Errorf("%s hyponym closure: %d, NLTK %d", f.Name, got, f.HyponymClosure)
		}
	}
	for _, l := range facts.Lookups {
		got := Names(db.SynsetsOf(l.Word))
		if !reflect.DeepEqual(nonNil(got), nonNil(l.Synsets)) {
			t.Errorf("synsets(%q): got %q, NLTK %q", l.Word, got, l.Synsets)
		}
	}
}

func TestKnownFacts(t *testing.T) {
	db := MustLoad()
	if db.Len() != 82115 {
		t.Fatalf("%d noun synsets, want 82115", db.Len())
	}
	dog, _ := db.ByName("dog.n.01")
	if dog.WNID() != "n02084071" {
		t.Errorf("dog.n.01 is %s", dog.WNID())
	}
	if got := Names(db.Related(dog.Hypernyms)); !reflect.DeepEqual(got, []string{"canine.n.02", "domestic_animal.n.01"}) {
		t.Errorf("dog hypernyms %v", got)
	}
	if n := len(db.HyponymClosure(dog.Index)); n != 189 {
		t.Errorf("dog hyponym closure %d, want 189", n)
	}
	for word, want := range map[string]string{"mice": "mouse.n.01", "geese": "goose.n.01", "dogs": "dog.n.01", "Dogs": "dog.n.01"} {
		if ss := db.SynsetsOf(word); len(ss) == 0 || ss[0].Name != want {
			t.Errorf("synsets(%q)[0] = %v, want %s", word, Names(ss), want)
		}
	}
}

// TestEmbeddedGraphMatchesGenerator regenerates the graph from the WordNet
// database and compares it with the embedded file. CI installs wordnet-base,
// so there it must run; elsewhere it is skipped when the database is absent.
func TestEmbeddedGraphMatchesGenerator(t *testing.T) {
	const dir = "/usr/share/wordnet"
	if _, err := os.Stat(dir + "/data.noun"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must install wordnet-base: %v", err)
		}
		t.Skip("WordNet database not installed (apt-get install wordnet-base)")
	}
	want, err := GenerateGraph(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := gunzip(embeddedGraph)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/wordnet/data/wn30-noun.txt.gz is stale: run `make wordnet`")
	}
}

// Regression (issue 20.14): a plain word takes its first sense that is a
// physical thing and not a person.
func TestWordsTakeAVisibleSense(t *testing.T) {
	db := MustLoad()
	for word, want := range map[string]string{"tiger": "tiger.n.02", "hot dog": "hotdog.n.02", "kite": "kite.n.03", "dog": "dog.n.01", "mouse": "mouse.n.01"} {
		r, err := db.Resolve(word)
		if err != nil || r.Synset.Name != want {
			t.Errorf("%q → %v (%v), want %s", word, r.Synset, err, want)
		}
	}
	if r, _ := db.Resolve("tiger"); !r.Preferred || len(r.Others) != 1 || r.Others[0].Name != "tiger.n.01" {
		t.Errorf("tiger: preferred %v, others %v", r.Preferred, Names(r.Others))
	}
}

// Regression (issue 20.15): typos are answered by nearness with
// transpositions, then by frequency, and never with a slur.
func TestSuggestions(t *testing.T) {
	db := MustLoad()
	for typo, first := range map[string]string{"dgo": "dog", "cta": "cat", "vehicel": "vehicle", "elefant": "element"} {
		_, err := db.Resolve(typo)
		var u *UnknownConceptError
		if !errors.As(err, &u) || len(u.Suggestions) == 0 || u.Suggestions[0] != first {
			t.Errorf("%q: suggestions %v, want %q first", typo, u, first)
			continue
		}
		for _, s := range u.Suggestions {
			if db.Offensive(strings.ReplaceAll(s, " ", "_")) {
				t.Errorf("%q: suggested %q, which WordNet labels offensive", typo, s)
			}
		}
	}
	if !db.Offensive("dago") || db.Offensive("dog") {
		t.Error("usage labels not read")
	}
	if d := EditDistance("dgo", "dog", 2); d != 1 {
		t.Errorf("a transposition costs %d", d)
	}
}
