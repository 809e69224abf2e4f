package render

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fogleman/gg"

	"github.com/convis/convis/internal/clip"
)

func TestEncodeNPY(t *testing.T) {
	var b bytes.Buffer
	v := []float32{0, 0.5, 1, 0.25, 0.75, 1}
	if err := EncodeNPY(&b, v, 3, 2); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	if !bytes.HasPrefix(data, []byte("\x93NUMPY\x01\x00")) {
		t.Fatal("magic")
	}
	hlen := int(binary.LittleEndian.Uint16(data[8:10]))
	header := string(data[10 : 10+hlen])
	if (10+hlen)%64 != 0 || !strings.Contains(header, "'shape': (2, 3)") || !strings.Contains(header, "'<f4'") {
		t.Fatalf("header %q (total %d)", header, 10+hlen)
	}
	body := data[10+hlen:]
	if len(body) != 24 || math.Float32frombits(binary.LittleEndian.Uint32(body[4:])) != 0.5 {
		t.Fatal("body")
	}
}

func TestColormapsEnds(t *testing.T) {
	for name, cm := range Colormaps {
		lo, hi := cm(0), cm(1)
		if lo == hi || cm(-1) != lo || cm(2) != hi {
			t.Errorf("%s: ends %v %v", name, lo, hi)
		}
	}
	if c := Colormaps["viridis"](0); c != (color.NRGBA{0x44, 0x01, 0x54, 255}) {
		t.Errorf("viridis(0) = %v", c)
	}
	if _, err := LookupColormap("rainbow"); err == nil {
		t.Fatal("unknown colormap accepted")
	}
}

func TestOverlayStyles(t *testing.T) {
	img := clip.NewRGB(4, 1)
	for i := range img.Pix {
		img.Pix[i] = 100
	}
	v := []float32{0, 0.5, 0.9, 1}
	fade := Overlay(img, v, OverlayOptions{Style: StyleFade, Exponent: 10})
	if fade.Pix[0] != 255 || fade.Pix[12] != 100 {
		t.Fatalf("fade: non-salient → white, salient → pixel: %v", fade.Pix)
	}
	heat := Overlay(img, v, OverlayOptions{Style: StyleHeatmap, Colormap: Colormaps["jet"], Alpha: 1})
	if c := Colormaps["jet"](1); heat.Pix[12] != c.R || heat.Pix[14] != c.B {
		t.Fatal("alpha 1 shows the colormap")
	}
	boxed := Overlay(clip.NewRGB(100, 80), make([]float32, 8000), OverlayOptions{Style: StyleHeatmap, Colormap: Colormaps["turbo"], Alpha: 0.5,
		Box: &image.Rectangle{Min: image.Pt(10, 20), Max: image.Pt(60, 70)}, Label: "dog"})
	// The outline is white with a black core; inside and outside stay the map's colour.
	edge, inside := boxed.NRGBAAt(10, 40), boxed.NRGBAAt(30, 40)
	if edge == inside || boxed.NRGBAAt(5, 40) != inside {
		t.Fatalf("box outline: edge %v inside %v outside %v", edge, inside, boxed.NRGBAAt(5, 40))
	}
}

func TestWriteAtomicLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.png")
	err := WriteAtomic(p, func(w io.Writer) error { return os.ErrInvalid })
	entries, _ := os.ReadDir(dir)
	if err == nil || len(entries) != 0 {
		t.Fatalf("err %v, files %v", err, entries)
	}
	if err := WritePNG(p, Gray16([]float32{0, 1}, 2, 1)); err != nil {
		t.Fatal(err)
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%v", entries)
	}
}

// Regression (issue 20.8): a NaN value made the anchored colormaps index
// out of range.
func TestColormapsTakeNaN(t *testing.T) {
	for _, name := range ColormapNames() {
		c, err := LookupColormap(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c(math.NaN()), c(0); got != want {
			t.Errorf("%s(NaN) = %v, want %v (as 0)", name, got, want)
		}
	}
}

// Regression (issue 20.17): overlays carry a colour scale and the concept,
// small pictures are enlarged so the label is whole, and a missing box says
// why.
func TestAnnotate(t *testing.T) {
	ov := Overlay(clip.NewRGB(40, 30), make([]float32, 40*30), OverlayOptions{Style: StyleHeatmap, Colormap: Colormaps["viridis"], Alpha: 1})
	box := image.Rect(5, 5, 30, 25)
	a := Annotate(ov, Annotation{Label: "dog (dog.n.01)", Box: &box, Footer: "ConVis grid", Style: StyleHeatmap, Colormap: Colormaps["viridis"]})
	if k := (MinAnnotatedSide + 29) / 30; a.Rect.Dx() != 40*k || a.Rect.Dy() <= 30*k {
		t.Fatalf("40x30 annotated as %v, want enlarged by a whole factor to 320 or more, with a legend band", a.Rect)
	}
	// The legend's colour scale runs from the map's low to its high colour.
	low, high := Colormaps["viridis"](0), Colormaps["viridis"](1)
	near := func(want color.NRGBA) bool {
		for y := 30 * 11; y < a.Rect.Dy(); y++ {
			for x := 0; x < a.Rect.Dx(); x++ {
				c := a.NRGBAAt(x, y)
				d := max(absDiff(c.R, want.R), absDiff(c.G, want.G), absDiff(c.B, want.B))
				if d <= 8 {
					return true
				}
			}
		}
		return false
	}
	if !near(low) || !near(high) {
		t.Error("no colour scale in the legend")
	}
	// The label fits: the band's text is not cut.
	dc := gg.NewContext(10, 10)
	dc.SetFontFace(face(12))
	if got := fit(dc, "dog (dog.n.01)", 1000); got != "dog (dog.n.01)" {
		t.Errorf("fit cut a short label: %q", got)
	}
	if got := fit(dc, "a very long concept label that cannot fit", 60); !strings.HasSuffix(got, "…") {
		t.Errorf("fit did not shorten: %q", got)
	}
	big := Annotate(Overlay(clip.NewRGB(1024, 1024), make([]float32, 1024*1024), OverlayOptions{Style: StyleFade, Exponent: 10}), Annotation{Label: "dog", NoBox: "the map is flat", Style: StyleFade, Exponent: 10})
	if big.Rect.Dx() != 1024 {
		t.Errorf("a large picture was rescaled to %v", big.Rect)
	}
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}
