package clip

import (
	"bytes"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// FuzzDecodeImage: any bytes give an image within the pixel limit or an
// error naming the file, never a panic.
func FuzzDecodeImage(f *testing.F) {
	// Small seeds: the fuzzer's engine slows to a few inputs a minute on
	// the 30–60 kB test photographs, so each format is an 8×6 picture.
	for _, p := range []string{"../../testdata/images/tiny.png", "../../testdata/images/exif-rotated.jpg"} {
		if data, err := os.ReadFile(p); err == nil && len(data) < 8<<10 {
			f.Add(data)
		}
	}
	for _, data := range smallImages(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		t0 := time.Now()
		im, _, err := DecodeImageWith("fuzz.png", data, DecodeOptions{MaxPixels: 1 << 20})
		if el := time.Since(t0); el > 2*time.Second {
			t.Fatalf("decoding %d bytes took %v", len(data), el)
		}
		if err != nil {
			return
		}
		if im.W <= 0 || im.H <= 0 || im.W*im.H > 1<<20 || len(im.Pix) != 3*im.W*im.H {
			t.Fatalf("image %dx%d with %d bytes", im.W, im.H, len(im.Pix))
		}
		if max(im.W, im.H) > MaxAspect*min(im.W, im.H) {
			t.Fatalf("image %dx%d passed the aspect limit", im.W, im.H)
		}
	})
}

// FuzzTokenize: any text gives, with every tokenizer convis reads (OpenAI's
// bundled BPE and the parity tokenizers: WordPiece from tokenizer.json and
// vocab.txt, Unigram from tokenizer.json and spiece.model, with and without
// byte fallback, byte-level BPE),
// ids from the vocabulary, no longer than the context (exactly the fixed
// length where the tokenizer pads), with the special tokens at both ends
// and a mask that covers the real tokens.
func FuzzTokenize(f *testing.F) {
	def, err := DefaultTokenizer()
	if err != nil {
		f.Fatal(err)
	}
	toks := []*Tokenizer{def}
	for _, load := range []func() (*Tokenizer, error){
		func() (*Tokenizer, error) { return LoadTokenizerJSON("testdata/tokenizers/wordpiece/tokenizer.json") },
		func() (*Tokenizer, error) { return LoadVocabTxt("testdata/tokenizers/wordpiece/vocab.txt") },
		func() (*Tokenizer, error) { return LoadTokenizerJSON(unigramJSON(f)) },
		func() (*Tokenizer, error) { return LoadTokenizerJSON("testdata/tokenizers/unigram-unk/tokenizer.json") },
		func() (*Tokenizer, error) { return LoadSentencePiece("testdata/tokenizers/unigram/spiece.model") },
		func() (*Tokenizer, error) { return LoadTokenizerJSON("testdata/tokenizers/bpe/tokenizer.json") },
	} {
		tok, err := load()
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, tok)
	}
	for _, s := range []string{"a photo of a dog.", "", "ÄÖÜ ß 日本語 😀", "it's  don't\tWON'T", "&amp; <b>x</b>", "[CLS] </s> <|endoftext|> <0x41>", "\xff\xfe broken utf-8", "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if def.Tokenize(text)[0] != StartToken {
			t.Fatalf("%q: OpenAI ids do not start with %d", text, StartToken)
		}
		for _, tok := range toks {
			ids, mask := tok.TokenizeMask(text)
			n := 0
			for _, m := range mask {
				n += int(m)
			}
			switch {
			case len(ids) != len(mask) || n < 1:
				t.Fatalf("%s %q: %d ids, mask %v", tok.Source(), text, len(ids), mask)
			case tok.FixedLength() > 0 && len(ids) != tok.FixedLength():
				t.Fatalf("%s %q: %d ids, want the fixed %d", tok.Source(), text, len(ids), tok.FixedLength())
			case tok.FixedLength() == 0 && (len(ids) > tok.ContextLength() || n != len(ids)):
				t.Fatalf("%s %q: %d ids (%d real) past the context %d", tok.Source(), text, len(ids), n, tok.ContextLength())
			case tok.EndToken() >= 0 && ids[n-1] != tok.EndToken():
				t.Fatalf("%s %q: last real id %d, want %d", tok.Source(), text, ids[n-1], tok.EndToken())
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%s %q: id %d outside the vocabulary of %d", tok.Source(), text, id, tok.VocabSize())
				}
			}
		}
	})
}

// smallImages encodes one 8×6 picture in each format convis reads.
func smallImages(f *testing.F) [][]byte {
	rgba := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	g16 := image.NewGray16(image.Rect(0, 0, 8, 6))
	pal := image.NewPaletted(image.Rect(0, 0, 8, 6), palette.Plan9[:16])
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 37)
	}
	for y := 0; y < 6; y++ {
		for x := 0; x < 8; x++ {
			g16.SetGray16(x, y, color.Gray16{Y: uint16(x*500 + y*40)})
			pal.SetColorIndex(x, y, uint8((x+y)%16))
		}
	}
	var out [][]byte
	enc := func(fn func(w io.Writer) error) {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			f.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	enc(func(w io.Writer) error { return png.Encode(w, rgba) })
	enc(func(w io.Writer) error { return png.Encode(w, g16) })
	enc(func(w io.Writer) error { return gif.Encode(w, pal, nil) })
	enc(func(w io.Writer) error { return jpeg.Encode(w, rgba, nil) })
	enc(func(w io.Writer) error { return bmp.Encode(w, rgba) })
	enc(func(w io.Writer) error { return tiff.Encode(w, rgba, nil) })
	return out
}
