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
	for _, p := range []string{"../../testdata/images/tiny.png", "../../testdata/images/exif-rotated.jpg", "../../testdata/dicom/SC_rgb_small_odd.dcm"} {
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
