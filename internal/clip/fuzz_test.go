package clip

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeImage: any bytes give an image within the pixel limit or an
// error naming the file, never a panic.
func FuzzDecodeImage(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/images/*")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, _, err := DecodeImageWith("fuzz.png", data, DecodeOptions{MaxPixels: 1 << 20})
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

// FuzzTokenize: any text gives at most 77 ids from the vocabulary, starting
// and ending with the special tokens.
func FuzzTokenize(f *testing.F) {
	tok, err := DefaultTokenizer()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"a photo of a dog.", "", "ÄÖÜ ß 日本語 😀", "it's  don't\tWON'T", "&amp; <b>x</b>", "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.Tokenize(text)
		if len(ids) < 2 || len(ids) > ContextLength || ids[0] != StartToken || ids[len(ids)-1] != EndToken {
			t.Fatalf("%q: ids %v", text, ids)
		}
		for _, id := range ids {
			if id < 0 || id > EndToken {
				t.Fatalf("%q: id %d outside the vocabulary", text, id)
			}
		}
	})
}
