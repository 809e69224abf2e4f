// Package saliency computes ConVis maps: the occlusion canvas, window plans,
// batched patch embedding, rank scoring, accumulation, boxes and metrics.
// It knows nothing of terminals or files; progress goes through a callback.
package saliency

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/convis/convis/internal/clip"
)

// Fill is what surrounds the image on the canvas (and pads it to a square).
type Fill string

const (
	FillNoise Fill = "noise" // uniform random RGB, as the reference
	FillGray  Fill = "gray"  // mid grey (128)
	FillBlur  Fill = "blur"  // a heavily blurred stretch of the image itself
)

// CropMode says how a non-square image becomes the square placed on the canvas.
type CropMode string

const (
	CropPad    CropMode = "pad"    // pad to a square with the fill: the map covers the whole image
	CropCenter CropMode = "center" // the reference: centre-crop to a square
)

// CanvasOptions are the reference's canvas numbers.
type CanvasOptions struct {
	Size      int // canvas side (480)
	ImageSize int // side of the image on the canvas (224)
	Offset    int // where the image's top-left corner goes (128)
	Fill      Fill
	Crop      CropMode
	Seed      uint64
}

// DefaultCanvas is the reference implementation's canvas.
func DefaultCanvas() CanvasOptions {
	return CanvasOptions{Size: 480, ImageSize: 224, Offset: 128, Fill: FillNoise, Crop: CropPad}
}

func (o CanvasOptions) validate() error {
	if o.Size <= 0 || o.ImageSize <= 0 || o.Offset < 0 || o.Offset+o.ImageSize > o.Size {
		return fmt.Errorf("canvas: image of %d at offset %d does not fit a canvas of %d", o.ImageSize, o.Offset, o.Size)
	}
	switch o.Fill {
	case FillNoise, FillGray, FillBlur:
	default:
		return fmt.Errorf("unknown fill %q (want noise, gray or blur)", o.Fill)
	}
	switch o.Crop {
	case CropPad, CropCenter:
	default:
		return fmt.Errorf("unknown crop mode %q (want pad or center)", o.Crop)
	}
	return nil
}

// Canvas is the image placed on its canvas, and where the source image lies.
type Canvas struct {
	Img  *clip.RGB
	Opts CanvasOptions
	// The source image, after cropping or padding to a square, was resized
	// to ImageSize. Content is the part of the ImageSize square (in square
	// coordinates, 0..ImageSize) that shows the source image; SrcX0/SrcY0
	// and SrcW/SrcH say which source pixels it shows.
	ContentX0, ContentY0, ContentX1, ContentY1 float64
	SrcX0, SrcY0, SrcW, SrcH                   int
	ImgW, ImgH                                 int // the whole source image
}

// NewCanvas builds the canvas of an image. The random fill is drawn from a
// PCG stream seeded with opts.Seed, so a seed gives the same canvas anywhere.
func NewCanvas(src *clip.RGB, opts CanvasOptions) (*Canvas, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &Canvas{Opts: opts, ImgW: src.W, ImgH: src.H}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x636f6e766973)) // "convis"
	var square *clip.RGB
	side := max(src.W, src.H)
	switch opts.Crop {
	case CropCenter:
		s := min(src.W, src.H)
		x0, y0 := (src.W-s)/2, (src.H-s)/2
		square = src.SubImage(x0, y0, s, s)
		c.SrcX0, c.SrcY0, c.SrcW, c.SrcH = x0, y0, s, s
		c.ContentX0, c.ContentY0, c.ContentX1, c.ContentY1 = 0, 0, float64(opts.ImageSize), float64(opts.ImageSize)
	default:
		// Resize the image first, then pad the small result: padding the
		// source to max(W,H)² first costs memory in the square of the long
		// side (a 200000×16 strip would need 120 GB). The padding then gets
		// the same fill, at the same scale, as the rest of the canvas.
		scale := float64(opts.ImageSize) / float64(side)
		w := max(1, int(math.Round(float64(src.W)*scale)))
		h := max(1, int(math.Round(float64(src.H)*scale)))
		resized := src
		if w != src.W || h != src.H {
			resized = clip.ResizeBicubic(src, w, h)
		}
		square = clip.NewRGB(opts.ImageSize, opts.ImageSize)
		x0, y0 := (opts.ImageSize-w)/2, (opts.ImageSize-h)/2
		if w != opts.ImageSize || h != opts.ImageSize {
			fillRGB(square, opts.Fill, src, rng)
		}
		for y := 0; y < h; y++ {
			copy(square.Pix[((y0+y)*opts.ImageSize+x0)*3:((y0+y)*opts.ImageSize+x0+w)*3], resized.Pix[y*w*3:(y+1)*w*3])
		}
		c.SrcX0, c.SrcY0, c.SrcW, c.SrcH = 0, 0, src.W, src.H
		c.ContentX0, c.ContentY0 = float64(x0), float64(y0)
		c.ContentX1, c.ContentY1 = float64(x0+w), float64(y0+h)
	}
	small := square
	if square.W != opts.ImageSize {
		small = clip.ResizeBicubic(square, opts.ImageSize, opts.ImageSize)
	}
	c.Img = clip.NewRGB(opts.Size, opts.Size)
	fillRGB(c.Img, opts.Fill, small, rng)
	for y := 0; y < opts.ImageSize; y++ {
		dst := ((opts.Offset+y)*opts.Size + opts.Offset) * 3
		copy(c.Img.Pix[dst:dst+opts.ImageSize*3], small.Pix[y*opts.ImageSize*3:(y+1)*opts.ImageSize*3])
	}
	return c, nil
}

// fillRGB paints dst with a fill; blur stretches a blurred ref over it.
func fillRGB(dst *clip.RGB, fill Fill, ref *clip.RGB, rng *rand.Rand) {
	switch fill {
	case FillGray:
		for i := range dst.Pix {
			dst.Pix[i] = 128
		}
	case FillBlur:
		// A small bilinear thumbnail blown up: a smooth wash of the image's colours.
		thumb := clip.ResizeBicubic(ref, 8, 8)
		big := clip.ResizeBicubic(thumb, dst.W, dst.H)
		copy(dst.Pix, big.Pix)
	default:
		for i := 0; i < len(dst.Pix); i += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && i+k < len(dst.Pix); k++ {
				dst.Pix[i+k] = uint8(v >> (8 * k))
			}
		}
	}
}

// ImageRect is the image's square on the canvas: [x0, x1) × [y0, y1).
func (c *Canvas) ImageRect() (x0, y0, x1, y1 int) {
	o := c.Opts
	return o.Offset, o.Offset, o.Offset + o.ImageSize, o.Offset + o.ImageSize
}

// ContentRect is the part of the canvas that shows the source image: the
// image square, less the padding of a non-square image (whole-image mode).
func (c *Canvas) ContentRect() (x0, y0, x1, y1 int) {
	o := c.Opts.Offset
	return o + int(c.ContentX0), o + int(c.ContentY0), o + int(c.ContentX1), o + int(c.ContentY1)
}

// Crop copies a box of the canvas; parts outside the canvas are black, as
// Pillow's crop leaves them.
func (c *Canvas) Crop(b Box) *clip.RGB {
	out := clip.NewRGB(b.W, b.H)
	for y := 0; y < b.H; y++ {
		cy := b.Y + y
		if cy < 0 || cy >= c.Img.H {
			continue
		}
		x0, x1 := max(b.X, 0), min(b.X+b.W, c.Img.W)
		if x0 >= x1 {
			continue
		}
		copy(out.Pix[(y*b.W+(x0-b.X))*3:(y*b.W+(x1-b.X))*3], c.Img.Pix[(cy*c.Img.W+x0)*3:(cy*c.Img.W+x1)*3])
	}
	return out
}
