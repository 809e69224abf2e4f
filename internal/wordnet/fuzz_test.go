package wordnet

import "testing"

// FuzzResolve: any concept text resolves to a synset or gives an error,
// never a panic.
func FuzzResolve(f *testing.F) {
	db := MustLoad()
	h, err := db.LoadHierarchy(VocabPaper)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"dog", "dog.n.01", "trumpet.n.01", "n02084071", "ice cream", "Dogs", "x.n.99", "dog.n.00", ".n.01", "n0000", "read/write_head.n.01", "dgo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r, err := db.Resolve(q)
		if err != nil {
			return
		}
		if r.Synset == nil {
			t.Fatalf("%q: no synset and no error", q)
		}
		_ = h.Check(r.Synset)
	})
}
