package cliptest

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"

	"github.com/convis/convis/internal/clip"
)

// Runtime is a clip.Runtime without ONNX Runtime: its encoders are the fakes
// of this package, Dim values wide. Command tests whose assertions are about
// flags, files and messages rather than the model's numbers run on it,
// which keeps them fast and independent of the ONNX Runtime library.
type Runtime struct{ Dim int }

// OpenImageEncoder implements clip.Runtime; the file must exist, as for the
// real runtime, so that a missing model is still an error.
func (r Runtime) OpenImageEncoder(path string, _ clip.EncoderOptions) (clip.ImageEncoder, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return NewEncoder(r.Dim), nil
}

// OpenTextEncoder implements clip.Runtime.
func (r Runtime) OpenTextEncoder(path string, _ clip.EncoderOptions) (clip.TextEncoder, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return &TextEncoder{dim: r.Dim}, nil
}

// Inspect implements clip.Runtime with the layout of a Hugging Face CLIP
// export: dynamic batch, 224² images, 77 tokens.
func (r Runtime) Inspect(path string) (inputs, outputs []clip.TensorInfo, err error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, err
	}
	d := int64(r.Dim)
	return []clip.TensorInfo{{Name: "pixel_values", Type: "float", Shape: []int64{-1, 3, 224, 224}}},
		[]clip.TensorInfo{{Name: "image_embeds", Type: "float", Shape: []int64{-1, d}}}, nil
}

// Version implements clip.Runtime.
func (r Runtime) Version() string { return "fake" }

// TextEncoder embeds a token sequence as a random vector seeded by its ids.
type TextEncoder struct{ dim int }

// EncodeTexts implements clip.TextEncoder.
func (e *TextEncoder) EncodeTexts(ctx context.Context, ids [][]int32) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]float32, 0, len(ids)*e.dim)
	for _, seq := range ids {
		h := fnv.New64a()
		fmt.Fprint(h, seq)
		r := rand.New(rand.NewPCG(h.Sum64(), 7))
		for k := 0; k < e.dim; k++ {
			out = append(out, float32(r.NormFloat64()))
		}
	}
	return out, nil
}

func (e *TextEncoder) Dim() int     { return e.dim }
func (e *TextEncoder) Close() error { return nil }
