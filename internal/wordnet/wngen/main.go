// Command wngen regenerates internal/wordnet/data/wn30-noun.txt.gz from the
// WordNet 3.0 database files (Debian package wordnet-base).
//
//	go run ./internal/wordnet/wngen -dict /usr/share/wordnet -o internal/wordnet/data/wn30-noun.txt.gz
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convis/convis/internal/atomicfile"
	"github.com/convis/convis/internal/wordnet"
)

func main() {
	dict := flag.String("dict", "/usr/share/wordnet", "WordNet 3.0 dict directory")
	out := flag.String("o", "internal/wordnet/data/wn30-noun.txt.gz", "output file")
	flag.Parse()
	raw, err := wordnet.GenerateGraph(*dict)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wngen:", err)
		os.Exit(1)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	err = os.MkdirAll(filepath.Dir(*out), 0o755)
	if err == nil {
		err = atomicfile.WriteBytes(*out, buf.Bytes())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wngen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d bytes, %d uncompressed)\n", *out, buf.Len(), len(raw))
}
