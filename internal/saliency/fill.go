package saliency

import (
	"math/rand/v2"

	"github.com/convis/convis/internal/clip"
)

// FillLike is an image of ref's size painted with a canvas fill (noise
// drawn from a PCG stream seeded with seed; blur a wash of ref's colours):
// what faithfulness curves put in place of the pixels they remove.
func FillLike(ref *clip.RGB, fill Fill, seed uint64) *clip.RGB {
	dst := clip.NewRGB(ref.W, ref.H)
	fillRGB(dst, fill, ref, rand.New(rand.NewPCG(seed, 0x66696c6c))) // "fill"
	return dst
}
