package wordnet

import "testing"

// The reference implementation's numbers for its word list (DESIGN.md).
func TestPaperHierarchyMatchesReference(t *testing.T) {
	db := MustLoad()
	h, err := db.LoadHierarchy(VocabPaper)
	if err != nil {
		t.Fatal(err)
	}
	if h.Len() != 7080 || h.Edges() != 7314 {
		t.Fatalf("paper T has %d synsets and %d edges, want 7080 and 7314", h.Len(), h.Edges())
	}
	for name, want := range map[string]int{
		"entity.n.01": 7080, "animal.n.01": 485, "food.n.01": 257, "bird.n.01": 91,
		"building.n.01": 72, "feline.n.01": 19, "dog.n.01": 7,
	} {
		s, ok := db.ByName(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		if got := len(h.Subtree(s.Index)); got != want {
			t.Errorf("subtree(%s) = %d, want %d", name, got, want)
		}
	}
}

func TestWordNetHierarchyCoversEveryHyponymOfEntity(t *testing.T) {
	db := MustLoad()
	h, err := db.LoadHierarchy(VocabWordNet)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := db.ByName(RootName)
	if got, want := h.Len(), len(db.HyponymClosure(root.Index))+1; got != want {
		t.Fatalf("wordnet T has %d synsets, want %d", got, want)
	}
	if got := len(h.Subtree(root.Index)); got != h.Len() {
		t.Fatalf("entity subtree %d != |T| %d", got, h.Len())
	}
}
