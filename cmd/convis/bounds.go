package main

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/saliency"
)

// Bounds of the size flags: each is checked when the flag is parsed, so
// that no value can reach an allocation (--canvas 100000 was a 30 GB
// out-of-memory crash). They are far above any measured setting.
const (
	maxCanvas    = 4096          // canvas side, image square, padding, window sizes and strides
	maxBatch     = 1024          // crops per encoder pass (a 224 crop is 0.6 MB)
	maxPixelsCap = 1_000_000_000 // --max-pixels (a 1 G-pixel RGB image is 3 GB)
	maxPrefetch  = 64
	maxSamples   = 100_000
	maxRounds    = 1000
	maxPasses    = 1_000_000
)

// maxThreads bounds --threads: ONNX Runtime with many more threads than
// cores only slows down (1000 threads on 2 cores: 5× slower).
func maxThreads() int { return 4 * runtime.NumCPU() }

// boundedInt is an int flag that refuses values outside [min, max].
type boundedInt struct {
	p        *int
	min, max int
}

func (b *boundedInt) String() string { return strconv.Itoa(*b.p) }
func (b *boundedInt) Type() string   { return "int" }
func (b *boundedInt) Set(s string) error {
	v, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return err // friendlyFlagError words it
	}
	if v < int64(b.min) || v > int64(b.max) {
		return fmt.Errorf("must be in [%d, %d], got %d", b.min, b.max, v)
	}
	*b.p = int(v)
	return nil
}

// boundedIntVar defines an int flag bounded to [min, max].
func boundedIntVar(f *pflag.FlagSet, p *int, name string, value, min, max int, usage string) {
	*p = value
	f.Var(&boundedInt{p, min, max}, name, usage)
}

// addMaxPixelsFlag is --max-pixels, as every command that reads images
// takes it (0 and negative numbers are refused, not read as the default).
func addMaxPixelsFlag(f *pflag.FlagSet, p *int, def int) {
	boundedIntVar(f, p, "max-pixels", def, 1, maxPixelsCap, fmt.Sprintf("refuse images with more pixels than this (1 to %d)", maxPixelsCap))
}

// mapSettings are the settings that shape a map, as explain and eval
// take them: one check for every command (eval once accepted a stride of
// 0 and loaded the model before refusing --fill foo).
type mapSettings struct {
	Canvas saliency.CanvasOptions
	Sizes  []int
	Stride int
	Batch  int
}

func (m mapSettings) check() error {
	c := m.Canvas
	switch {
	case m.Batch < 1 || m.Batch > maxBatch:
		return usageErrorf("--batch must be in [1, %d], got %d", maxBatch, m.Batch)
	case m.Stride < 1 || m.Stride > maxCanvas:
		return usageErrorf("--stride must be in [1, %d], got %d", maxCanvas, m.Stride)
	case len(m.Sizes) == 0:
		return usageErrorf("--sizes needs at least one window size")
	case c.Size < 1 || c.Size > maxCanvas:
		return usageErrorf("--canvas must be in [1, %d] pixels, got %d", maxCanvas, c.Size)
	case c.ImageSize < 1:
		return usageErrorf("--image-size must be at least 1 pixel, got %d", c.ImageSize)
	}
	for _, s := range m.Sizes {
		if s < 1 {
			return usageErrorf("--sizes: window sizes must be at least 1 pixel, got %d", s)
		}
		if s > c.Size {
			return usageErrorf("--sizes: %d does not fit the canvas of %d", s, c.Size)
		}
	}
	if c.Offset < 0 || c.Offset+c.ImageSize > c.Size {
		return usageErrorf("the image (%d at offset %d) must fit the canvas (%d)", c.ImageSize, c.Offset, c.Size)
	}
	switch c.Fill {
	case saliency.FillNoise, saliency.FillGray, saliency.FillBlur:
	default:
		return usageErrorf("--fill %q: want noise, gray or blur", c.Fill)
	}
	switch c.Crop {
	case saliency.CropPad, saliency.CropCenter:
	default:
		return usageErrorf("--crop %q: want pad or center", c.Crop)
	}
	return nil
}
