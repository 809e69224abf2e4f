package render

import (
	"image"
	"image/color"
	"math"

	"github.com/fogleman/gg"

	"github.com/convis/convis/internal/clip"
)

// Style is how the map is drawn over the image.
type Style string

const (
	StyleHeatmap Style = "heatmap" // colormap blended with the image
	StyleFade    Style = "fade"    // the reference: non-salient pixels fade to white
)

// OverlayOptions control the picture.
type OverlayOptions struct {
	Style    Style
	Colormap Colormap
	Alpha    float64 // heatmap weight (0–1)
	Exponent float64 // fade: s = map^k (10)
	Box      *image.Rectangle
	Label    string
}

// Overlay draws map values v (w×h, in [0,1]) over an image of the same size.
func Overlay(img *clip.RGB, v []float32, o OverlayOptions) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for i := 0; i < img.W*img.H; i++ {
		r, g, b := float64(img.Pix[3*i]), float64(img.Pix[3*i+1]), float64(img.Pix[3*i+2])
		m := float64(v[i])
		switch o.Style {
		case StyleFade:
			s := math.Pow(clamp01(m), o.Exponent)
			r, g, b = (1-s)*255+s*r, (1-s)*255+s*g, (1-s)*255+s*b
		default:
			c := o.Colormap(m)
			a := clamp01(o.Alpha)
			r, g, b = (1-a)*r+a*float64(c.R), (1-a)*g+a*float64(c.G), (1-a)*b+a*float64(c.B)
		}
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = uint8(math.Round(r)), uint8(math.Round(g)), uint8(math.Round(b)), 255
	}
	if o.Box != nil {
		drawBox(out, *o.Box, o.Label)
	}
	return out
}

// drawBox outlines the box and labels it, the label inside the picture.
func drawBox(im *image.NRGBA, r image.Rectangle, label string) {
	dc := gg.NewContextForImage(im)
	w := math.Max(2, float64(min(im.Rect.Dx(), im.Rect.Dy()))/150)
	dc.SetLineWidth(w)
	dc.SetColor(color.NRGBA{255, 255, 255, 255})
	dc.DrawRectangle(float64(r.Min.X)+w/2, float64(r.Min.Y)+w/2, float64(r.Dx())-w, float64(r.Dy())-w)
	dc.StrokePreserve()
	dc.SetLineWidth(w / 2)
	dc.SetColor(color.NRGBA{0, 0, 0, 255})
	dc.Stroke()
	if label != "" {
		tw, th := dc.MeasureString(label)
		x := float64(r.Min.X)
		y := float64(r.Min.Y) - th - 4
		if y < 0 {
			y = float64(r.Min.Y) + w
		}
		x = math.Min(x, float64(im.Rect.Dx())-tw-6)
		x = math.Max(x, 0)
		dc.SetColor(color.NRGBA{0, 0, 0, 200})
		dc.DrawRectangle(x, y, tw+6, th+4)
		dc.Fill()
		dc.SetColor(color.NRGBA{255, 255, 255, 255})
		dc.DrawStringAnchored(label, x+3, y+2, 0, 1)
	}
	copy(im.Pix, dc.Image().(*image.RGBA).Pix)
}
