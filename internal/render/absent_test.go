package render

import (
	"image"
	"testing"

	"github.com/convis/convis/internal/clip"
)

// An absent-looking concept's overlay carries the "looks absent" mark and
// no solid box: dashed by default, none with --box-when-absent none; a
// present concept's box is solid and unmarked.
func TestAbsentOverlayIsMarkedWithoutSolidBox(t *testing.T) {
	t.Parallel()
	img := clip.NewRGB(100, 80) // black: the box's white line stands out
	box := image.Rect(10, 10, 70, 50)
	draw := func(absent bool, mode AbsentBox) *image.NRGBA {
		ov := Overlay(img, make([]float32, 100*80), OverlayOptions{Style: StyleFade, Exponent: 10})
		for i := range ov.Pix {
			if i%4 != 3 {
				ov.Pix[i] = 0
			}
		}
		return Annotate(ov, Annotation{Label: "guitar", Box: &box, Footer: "ConVis grid", Style: StyleFade, Exponent: 10,
			Presence: "best rank 595 whole image, 91 in a window", Absent: absent, AbsentBox: mode})
	}
	k := (MinAnnotatedSide + 79) / 80
	// The share of the box's top edge drawn white, and the pixels of the mark.
	measure := func(im *image.NRGBA) (edge float64, mark int) {
		lw := max(2, (float64(min(100*k, 80*k))*1.5/28)/6) // as Annotate's line width
		y := int(float64(box.Min.Y*k) + lw)
		x0, x1 := box.Min.X*k+int(3*lw), box.Max.X*k-int(3*lw)
		white := 0
		for x := x0; x < x1; x++ {
			if p := im.Pix[im.PixOffset(x, y):]; p[0] > 200 && p[1] > 200 && p[2] > 200 {
				white++
			}
		}
		for y := 0; y < 80*k; y++ {
			for x := 0; x < 100*k; x++ {
				if p := im.Pix[im.PixOffset(x, y):]; p[0] == AbsentMarkColor.R && p[1] == AbsentMarkColor.G && p[2] == AbsentMarkColor.B {
					mark++
				}
			}
		}
		return float64(white) / float64(x1-x0), mark
	}
	if edge, mark := measure(draw(false, "")); edge < 0.95 || mark != 0 {
		t.Errorf("present: box edge %.2f white (want a solid line), %d mark pixels (want none)", edge, mark)
	}
	if edge, mark := measure(draw(true, AbsentBoxDashed)); edge < 0.2 || edge > 0.8 || mark < 500 {
		t.Errorf("absent, dashed: box edge %.2f white (want dashes), %d mark pixels (want the mark)", edge, mark)
	}
	if edge, mark := measure(draw(true, AbsentBoxNone)); edge != 0 || mark < 500 {
		t.Errorf("absent, none: box edge %.2f white (want no box), %d mark pixels", edge, mark)
	}
	if edge, _ := measure(draw(true, AbsentBoxSolid)); edge < 0.95 {
		t.Errorf("absent, solid: box edge %.2f white, want a solid line", edge)
	}
}
