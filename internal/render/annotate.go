package render

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"

	"github.com/fogleman/gg"
	"github.com/golang/freetype/truetype"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomedium"
)

// Annotation is what an overlay tells besides the map: the concept, the
// box, how the map was made, and why there is no box when there is none.
type Annotation struct {
	Label  string            // the concept ("dog (dog.n.01)")
	Box    *image.Rectangle  // in image pixels
	More   []image.Rectangle // further boxes (--boxes all), drawn alike
	NoBox  string            // why there is no box ("the map is flat")
	Footer string            // method and model ("grid · convis-tiny")
	// Presence is how present the concept looks, for the legend
	// ("whole-image rank 3 of 7080"); Absent, when set, says it looks
	// absent: the picture then carries a "looks absent" mark and its boxes
	// are drawn as AbsentBox says.
	Presence  string
	Absent    bool
	AbsentBox AbsentBox
	// Scale names the colour scale's ends and middle when they are not
	// "low", "relative to this image" and "high" (a contrastive map).
	Scale    *[3]string
	Style    Style
	Colormap Colormap
	Alpha    float64
	Exponent float64
}

// AbsentBox is how the box of an absent-looking concept is drawn
// (--box-when-absent): a solid box would claim a find the numbers do not.
type AbsentBox string

const (
	AbsentBoxDashed AbsentBox = "dashed" // the default
	AbsentBoxNone   AbsentBox = "none"
	AbsentBoxSolid  AbsentBox = "solid" // as a present concept's
)

// AbsentMark is the text the picture of an absent-looking concept carries.
const AbsentMark = "looks absent"

// AbsentMarkColor is the mark's background (tests find it by colour).
var AbsentMarkColor = color.NRGBA{200, 30, 30, 255}

// MinAnnotatedSide is the smallest side an annotated overlay is drawn at:
// smaller images are enlarged by a whole factor (nearest neighbour, so no
// pixel is invented) until their label and legend are readable.
const MinAnnotatedSide = 320

var (
	fontOnce sync.Once
	fontTTF  *truetype.Font
)

// face is Go Medium (BSD licence, in golang.org/x/image) at px pixels:
// a scalable font, so labels grow with the picture.
func face(px float64) font.Face {
	fontOnce.Do(func() { fontTTF, _ = truetype.Parse(gomedium.TTF) })
	return truetype.NewFace(fontTTF, &truetype.Options{Size: px, DPI: 72, Hinting: font.HintingFull})
}

// Annotate draws the box and its label on an overlay (scaled with the
// picture, outlined to stand out on any colours) and adds a legend band
// below it: the concept, the colour scale from low to high salience, and
// how the map was made.
func Annotate(ov *image.NRGBA, a Annotation) *image.NRGBA {
	w, h := ov.Rect.Dx(), ov.Rect.Dy()
	k := 1
	if s := min(w, h); s < MinAnnotatedSide {
		k = min(int(math.Ceil(float64(MinAnnotatedSide)/float64(s))), 16)
	}
	W, H := w*k, h*k
	unit := math.Max(12, math.Min(float64(W), float64(H)*1.5)/28) // font size in pixels
	band := int(math.Ceil(unit * 2.6))
	extra := 0 // a line for the presence
	if a.Presence != "" {
		extra = int(math.Ceil(unit * 0.9))
	}
	dc := gg.NewContext(W, H+band+extra)
	dc.SetColor(color.White)
	dc.Clear()
	img := ov
	if k > 1 {
		img = enlarge(ov, k)
	}
	dc.DrawImage(img, 0, 0)

	dc.SetFontFace(face(unit))
	boxes := a.More
	if a.Box != nil {
		boxes = append([]image.Rectangle{*a.Box}, a.More...)
	}
	dashed := a.Absent && a.AbsentBox != AbsentBoxSolid
	if a.Absent && a.AbsentBox == AbsentBoxNone {
		boxes = nil
	}
	for _, b := range boxes {
		r := image.Rect(b.Min.X*k, b.Min.Y*k, b.Max.X*k, b.Max.Y*k)
		lw := math.Max(2, unit/6)
		x0, y0 := float64(r.Min.X)+lw, float64(r.Min.Y)+lw
		bw, bh := float64(r.Dx())-2*lw, float64(r.Dy())-2*lw
		// A white line with a black edge on both sides shows on dark maps,
		// bright maps and busy photographs alike.
		if dashed {
			// Dashes with gaps as long: the box is where the map peaks, not
			// a find.
			dc.SetDash(lw*4, lw*4)
		}
		dc.SetLineWidth(lw * 2)
		dc.SetColor(color.Black)
		dc.DrawRectangle(x0, y0, bw, bh)
		dc.Stroke()
		dc.SetLineWidth(lw)
		dc.SetColor(color.White)
		dc.DrawRectangle(x0, y0, bw, bh)
		dc.Stroke()
		dc.SetDash()
		if a.Label != "" {
			label := fit(dc, a.Label, float64(W)-8)
			tw, th := dc.MeasureString(label)
			pad := unit / 4
			x := math.Max(0, math.Min(float64(r.Min.X), float64(W)-tw-2*pad))
			y := float64(r.Min.Y) - th - 2*pad - lw
			if y < 0 {
				y = float64(r.Min.Y) + 2*lw // inside the box when it touches the top
			}
			dc.SetColor(color.NRGBA{0, 0, 0, 210})
			dc.DrawRectangle(x, y, tw+2*pad, th+2*pad)
			dc.Fill()
			dc.SetColor(color.White)
			dc.DrawStringAnchored(label, x+pad, y+pad, 0, 0.8)
		}
	}
	if a.Absent {
		absentMark(dc, W, H, unit)
	}
	legend(dc, a, W, H, band, extra, unit)
	out := image.NewNRGBA(image.Rect(0, 0, W, H+band+extra))
	src := dc.Image().(*image.RGBA)
	for i := 0; i < len(out.Pix); i += 4 {
		// Everything drawn is opaque: RGBA and NRGBA agree.
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = src.Pix[i], src.Pix[i+1], src.Pix[i+2], 255
	}
	return out
}

// absentMark writes "looks absent" across the bottom of the picture, on
// a red band, so that the picture says what the presence numbers say
// wherever it is shown without its sidecar.
func absentMark(dc *gg.Context, W, H int, unit float64) {
	dc.SetFontFace(face(unit))
	tw, th := dc.MeasureString(AbsentMark)
	pad := unit / 3
	bw, bh := math.Min(tw+2*pad, float64(W)), th+2*pad
	x, y := (float64(W)-bw)/2, float64(H)-bh-unit/2
	dc.SetColor(AbsentMarkColor)
	dc.DrawRectangle(x, y, bw, bh)
	dc.Fill()
	dc.SetColor(color.White)
	dc.DrawStringAnchored(fit(dc, AbsentMark, bw), x+pad, y+bh/2, 0, 0.35)
}

// legend draws the band under the picture: the concept (or why there is
// no box) on the left, the colour scale with its ends named, the method
// and model under it.
func legend(dc *gg.Context, a Annotation, W, H, band, extra int, unit float64) {
	y0 := float64(H)
	dc.SetColor(color.NRGBA{245, 245, 245, 255})
	dc.DrawRectangle(0, y0, float64(W), float64(band+extra))
	dc.Fill()
	small := face(unit * 0.8)
	dc.SetFontFace(small)
	scaleW := math.Min(float64(W)*0.4, unit*14)
	text := a.Label
	if a.Box == nil && a.NoBox != "" {
		text = fmt.Sprintf("%s: no box, %s", a.Label, a.NoBox)
	}
	footer := a.Footer
	if a.Absent {
		text += " · looks absent"
	}
	if a.Presence != "" {
		dc.SetColor(color.NRGBA{20, 20, 20, 255})
		if a.Absent {
			dc.SetColor(AbsentMarkColor)
		}
		dc.DrawStringAnchored(fit(dc, "presence: "+a.Presence, float64(W)-unit*0.8), unit*0.4, y0+float64(band)+float64(extra)*0.35, 0, 0.5)
	}
	dc.SetColor(color.NRGBA{20, 20, 20, 255})
	dc.DrawStringAnchored(fit(dc, text, float64(W)-scaleW-unit*1.5), unit*0.4, y0+float64(band)*0.33, 0, 0.5)
	if footer != "" {
		dc.SetColor(color.NRGBA{90, 90, 90, 255})
		dc.DrawStringAnchored(fit(dc, footer, float64(W)-scaleW-unit*1.5), unit*0.4, y0+float64(band)*0.72, 0, 0.5)
	}
	// The colour scale: what the map's values look like, low to high.
	x0 := float64(W) - scaleW - unit*0.4
	by, bh := y0+float64(band)*0.15, float64(band)*0.35
	steps := int(scaleW)
	for i := 0; i < steps; i++ {
		v := float64(i) / float64(max(steps-1, 1))
		var c color.Color
		switch a.Style {
		case StyleFade:
			s := math.Pow(v, a.Exponent)
			g := uint8(math.Round((1-s)*255 + s*96)) // fading towards a mid grey stands for "the picture"
			c = color.NRGBA{g, g, g, 255}
		default:
			c = a.Colormap(v)
		}
		dc.SetColor(c)
		dc.DrawRectangle(x0+float64(i), by, 1.5, bh)
		dc.Fill()
	}
	dc.SetColor(color.NRGBA{60, 60, 60, 255})
	dc.SetLineWidth(1)
	dc.DrawRectangle(x0, by, scaleW, bh)
	dc.Stroke()
	dc.SetColor(color.NRGBA{20, 20, 20, 255})
	ty := by + bh + float64(band)*0.25
	// Every map is min-max normalised to its own image: the scale ranks
	// this picture's pixels, it does not say how sure the concept is.
	lo, mid, hi := "low", "relative to this image", "high"
	if a.Scale != nil {
		lo, mid, hi = fit(dc, a.Scale[0], scaleW*0.4), a.Scale[1], fit(dc, a.Scale[2], scaleW*0.4)
	}
	dc.DrawStringAnchored(lo, x0, ty, 0, 0.5)
	dc.DrawStringAnchored(hi, x0+scaleW, ty, 1, 0.5)
	lw, _ := dc.MeasureString(lo)
	hw, _ := dc.MeasureString(hi)
	dc.SetFontFace(face(unit * 0.6))
	dc.DrawStringAnchored(fit(dc, mid, scaleW-lw-hw-unit*0.6), x0+lw+(scaleW-lw-hw)/2, ty, 0.5, 0.5)
}

// fit shortens s with an ellipsis until it is at most width wide.
func fit(dc *gg.Context, s string, width float64) string {
	if w, _ := dc.MeasureString(s); w <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		if w, _ := dc.MeasureString(string(r) + "…"); w <= width {
			return string(r) + "…"
		}
	}
	return "…"
}

func enlarge(im *image.NRGBA, k int) *image.NRGBA {
	w, h := im.Rect.Dx(), im.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w*k, h*k))
	for y := 0; y < h*k; y++ {
		for x := 0; x < w*k; x++ {
			copy(out.Pix[out.PixOffset(x, y):out.PixOffset(x, y)+4], im.Pix[im.PixOffset(x/k, y/k):im.PixOffset(x/k, y/k)+4])
		}
	}
	return out
}

// Captioned puts names over the equal-width panels of a side-by-side
// picture and a caption under it.
func Captioned(im *image.NRGBA, panels []string, caption string) *image.NRGBA {
	W, H := im.Rect.Dx(), im.Rect.Dy()
	unit := math.Max(12, float64(W)/60)
	top, bottom := int(unit*1.6), int(unit*1.8)
	dc := gg.NewContext(W, H+top+bottom)
	dc.SetColor(color.White)
	dc.Clear()
	dc.DrawImage(im, 0, top)
	dc.SetFontFace(face(unit))
	dc.SetColor(color.NRGBA{20, 20, 20, 255})
	pw := float64(W) / float64(max(len(panels), 1))
	for i, name := range panels {
		dc.DrawStringAnchored(name, pw*(float64(i)+0.5), float64(top)/2, 0.5, 0.5)
	}
	dc.SetFontFace(face(unit * 0.9))
	dc.DrawStringAnchored(fit(dc, caption, float64(W)-unit), unit/2, float64(top+H)+float64(bottom)/2, 0, 0.5)
	src := dc.Image().(*image.RGBA)
	out := image.NewNRGBA(src.Rect)
	copy(out.Pix, src.Pix) // opaque: RGBA and NRGBA agree
	return out
}
