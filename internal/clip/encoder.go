package clip

import (
	"context"
	"fmt"
	"strings"
)

// ImageEncoder embeds preprocessed images. It is implemented by the ONNX
// Runtime package and by fakes in tests.
type ImageEncoder interface {
	// EncodeImages runs n images laid out NCHW in pixels (n×3×H×W) and
	// returns n embeddings, row-major (n×Dim).
	EncodeImages(ctx context.Context, pixels []float32, n int) ([]float32, error)
	// Dim is the embedding size.
	Dim() int
	Close() error
}

// TextEncoder embeds token id sequences (start and end tokens included).
type TextEncoder interface {
	// EncodeTexts returns len(ids) embeddings, row-major (len(ids)×Dim).
	EncodeTexts(ctx context.Context, ids [][]int32) ([]float32, error)
	Dim() int
	Close() error
}

// TensorInfo describes one model input or output.
type TensorInfo struct {
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	Shape []int64 `json:"shape"` // -1 for dynamic axes
}

// EncoderOptions are the choices an encoder cannot read from its file.
type EncoderOptions struct {
	// Output names the embedding output (--image-output, --text-output);
	// empty: the rule of ChooseEmbeddingOutput.
	Output string
	// PadID fills text sequences shorter than the model's fixed length
	// (the tokenizer's padding token).
	PadID int64
	// PadTo is the length a model with a dynamic sequence axis is padded
	// to at least (the tokenizer's fixed padding: SigLIP's 64), so that a
	// model without a mask sees its padding as in training.
	PadTo int
}

// Runtime opens ONNX encoders. The cgo implementation is in package ort.
type Runtime interface {
	OpenImageEncoder(path string, opts EncoderOptions) (ImageEncoder, error)
	OpenTextEncoder(path string, opts EncoderOptions) (TextEncoder, error)
	Inspect(path string) (inputs, outputs []TensorInfo, err error)
	Version() string
}

// EmbeddingOutputRule is the documented order in which an encoder's
// embedding output is chosen (README, `convis model info`).
const EmbeddingOutputRule = "the --image-output/--text-output flag, else image_embeds/text_embeds, else pooler_output, else the only rank-2 float output"

// ChooseEmbeddingOutput picks the embedding among a model's outputs by
// EmbeddingOutputRule: override (when set) must exist; then preferred
// (image_embeds or text_embeds); then pooler_output (SigLIP's towers end
// in their pooling head, so it is the embedding); then the only rank-2
// float output. Otherwise the error lists every output found and the flag.
func ChooseEmbeddingOutput(path string, outs []TensorInfo, override, preferred, flag string) (TensorInfo, error) {
	find := func(name string) (TensorInfo, bool) {
		for _, x := range outs {
			if x.Name == name {
				return x, true
			}
		}
		return TensorInfo{}, false
	}
	var found []string
	for _, x := range outs {
		found = append(found, fmt.Sprintf("%s %s %v", x.Name, x.Type, x.Shape))
	}
	list := strings.Join(found, "; ")
	if override != "" {
		x, ok := find(override)
		if !ok {
			return TensorInfo{}, fmt.Errorf("%s: %s %q: no such output (outputs: %s)", path, flag, override, list)
		}
		if len(x.Shape) != 2 || x.Type != "float" {
			return TensorInfo{}, fmt.Errorf("%s: %s %q is %s %v, want a float [B, D] embedding", path, flag, override, x.Type, x.Shape)
		}
		return x, nil
	}
	for _, name := range []string{preferred, "pooler_output"} {
		if x, ok := find(name); ok && len(x.Shape) == 2 && x.Type == "float" {
			return x, nil
		}
	}
	var cands []TensorInfo
	for _, x := range outs {
		if len(x.Shape) == 2 && x.Type == "float" {
			cands = append(cands, x)
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	return TensorInfo{}, fmt.Errorf("%s: no embedding output: none is %s or pooler_output, and %d outputs are float [B, D] (outputs: %s); name one with %s", path, preferred, len(cands), list, flag)
}
