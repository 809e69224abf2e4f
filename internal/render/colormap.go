// Package render draws saliency maps: colormaps, overlays, boxes and
// labels, and writes maps and images atomically.
package render

import (
	"fmt"
	"image/color"
	"maps"
	"math"
	"slices"
)

// Colormap maps [0,1] to a colour.
type Colormap func(v float64) color.NRGBA

// Colormaps are the names --colormap accepts.
var Colormaps = map[string]Colormap{
	"turbo":   turbo,
	"viridis": anchored(viridisAnchors),
	"inferno": anchored(infernoAnchors),
	"jet":     jet,
}

// ColormapNames lists the colormaps, sorted.
func ColormapNames() []string { return slices.Sorted(maps.Keys(Colormaps)) }

// LookupColormap finds a colormap by name.
func LookupColormap(name string) (Colormap, error) {
	if c, ok := Colormaps[name]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("unknown colormap %q (want %v)", name, ColormapNames())
}

// clamp01 keeps v in [0, 1]; NaN becomes 0 (an index computed from NaN
// once made viridis panic).
func clamp01(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(0, math.Min(1, v))
}

func to8(v float64) uint8 { return uint8(math.Round(255 * clamp01(v))) }

// turbo is Google's Turbo, by its published polynomial fit.
func turbo(x float64) color.NRGBA {
	x = clamp01(x)
	x2, x3 := x*x, x*x*x
	x4, x5 := x2*x2, x2*x3
	r := 0.13572138 + 4.61539260*x - 42.66032258*x2 + 132.13108234*x3 - 152.94239396*x4 + 59.28637943*x5
	g := 0.09140261 + 2.19418839*x + 4.84296658*x2 - 14.18503333*x3 + 4.27729857*x4 + 2.82956604*x5
	b := 0.10667330 + 12.64194608*x - 60.58204836*x2 + 110.36276771*x3 - 89.90310912*x4 + 27.34824973*x5
	return color.NRGBA{to8(r), to8(g), to8(b), 255}
}

// jet is MATLAB's classic piecewise-linear map.
func jet(x float64) color.NRGBA {
	x = clamp01(x)
	f := func(c float64) float64 { return clamp01(1.5 - math.Abs(4*x-c)) }
	return color.NRGBA{to8(f(3)), to8(f(2)), to8(f(1)), 255}
}

// Matplotlib's viridis and inferno, sampled at tenths and interpolated.
var viridisAnchors = []uint32{0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c, 0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725}
var infernoAnchors = []uint32{0x000004, 0x160b39, 0x420a68, 0x6a176e, 0x932667, 0xbc3754, 0xdd513a, 0xf37819, 0xfca50a, 0xf6d746, 0xfcffa4}

func anchored(a []uint32) Colormap {
	return func(x float64) color.NRGBA {
		p := clamp01(x) * float64(len(a)-1)
		i := min(int(p), len(a)-2)
		f := p - float64(i)
		ch := func(shift uint) uint8 {
			c0, c1 := float64((a[i]>>shift)&0xff), float64((a[i+1]>>shift)&0xff)
			return uint8(math.Round(c0 + (c1-c0)*f))
		}
		return color.NRGBA{ch(16), ch(8), ch(0), 255}
	}
}
