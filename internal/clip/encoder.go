package clip

import "context"

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

// Runtime opens ONNX encoders. The cgo implementation is in package ort.
type Runtime interface {
	OpenImageEncoder(path string) (ImageEncoder, error)
	OpenTextEncoder(path string) (TextEncoder, error)
	Inspect(path string) (inputs, outputs []TensorInfo, err error)
	Version() string
}
