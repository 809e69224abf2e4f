package wordnet

import "testing"

// BenchmarkLoad measures decompressing and parsing the embedded graph, the
// work Load does once per process (target: under 150 ms).
func BenchmarkLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		raw, err := gunzip(embeddedGraph)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}
