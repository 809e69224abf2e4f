package wordnet

import (
	"errors"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	db := MustLoad()
	cases := []struct{ query, want, via string }{
		{"dog", "dog.n.01", "word"},
		{"Dogs", "dog.n.01", "word"},
		{"dog.n.01", "dog.n.01", "name"},
		{"n02084071", "dog.n.01", "wnid"},
		{"ice cream", "ice_cream.n.01", "word"},
		{"tow-truck", "tow_truck.n.01", "word"},
		{"t-shirt", "jersey.n.03", "word"},
		{"geese", "goose.n.01", "word"},
		{"animal", "animal.n.01", "word"},
		{"Mouse.N.04", "mouse.n.04", "name"},
	}
	for _, c := range cases {
		r, err := db.Resolve(c.query)
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		if r.Synset.Name != c.want || r.Via != c.via {
			t.Errorf("%q → %s via %s, want %s via %s", c.query, r.Synset.Name, r.Via, c.want, c.via)
		}
	}
	r, _ := db.Resolve("dog")
	if len(r.Others) != 6 || r.Others[0].Name != "frump.n.01" {
		t.Errorf("dog alternatives %v", Names(r.Others))
	}
}

func TestResolveUnknownSuggests(t *testing.T) {
	db := MustLoad()
	_, err := db.Resolve("elefant")
	var ue *UnknownConceptError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "elephant") {
		t.Fatalf("want suggestion of elephant, got %v", err)
	}
	_, err = db.Resolve("dog.n.99")
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "dog.n.01") {
		t.Fatalf("want dog senses suggested, got %v", err)
	}
	if _, err := db.Resolve("n99999999"); !errors.As(err, &ue) {
		t.Fatalf("bad wnid: %v", err)
	}
}

func TestConceptOutsideHierarchy(t *testing.T) {
	db := MustLoad()
	h, _ := db.LoadHierarchy(VocabPaper)
	s, _ := db.ByName("einstein.n.01")
	err := h.Check(s)
	var ne *NotInHierarchyError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "--vocab wordnet") || len(ne.Nearest) == 0 {
		t.Fatalf("got %v", err)
	}
	dog, _ := db.ByName("dog.n.01")
	if err := h.Check(dog); err != nil {
		t.Fatal(err)
	}
}
