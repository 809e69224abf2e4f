package render

import (
	"image/color"
	"math"
)

// Diverging is a blue–white–red colormap for signed maps drawn on [0, 1]
// (0.5 is zero): contrastive maps (--versus). Its ends are the ColorBrewer
// RdBu ends; the middle is white so that "neither" shows the picture.
func Diverging(v float64) color.NRGBA {
	v = clamp01(v)
	lo := [3]float64{33, 102, 172}   // blue: the other concept
	hi := [3]float64{178, 24, 43}    // red: the concept
	mid := [3]float64{247, 247, 247} // neither
	a, b, t := mid, hi, 2*v-1
	if v < 0.5 {
		a, b, t = mid, lo, 1-2*v
	}
	var c [3]uint8
	for i := range c {
		c[i] = uint8(math.Round(a[i] + (b[i]-a[i])*t))
	}
	return color.NRGBA{c[0], c[1], c[2], 255}
}
