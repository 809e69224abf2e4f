package clip

import (
	"context"
	"sync"
)

// Opening an encoder is ONNX Runtime reading and optimising the whole
// model: about a second for a ViT-B/32, more than all the rest of a second
// look at an image whose window embeddings are cached (and the text model
// is not needed at all once the concept index is cached). So LoadModel
// opens each encoder on its first use.

// OpenError is an encoder that could not be opened: every later image
// would fail alike, so a batch stops at it.
type OpenError struct{ Err error }

func (e *OpenError) Error() string { return e.Err.Error() }
func (e *OpenError) Unwrap() error { return e.Err }

func opened[T any](enc T, err error) (T, error) {
	if err != nil {
		err = &OpenError{err}
	}
	return enc, err
}

type lazyImage struct {
	open func() (ImageEncoder, error)
	once sync.Once
	enc  ImageEncoder
	err  error
}

func (l *lazyImage) get() (ImageEncoder, error) {
	l.once.Do(func() { l.enc, l.err = opened(l.open()) })
	return l.enc, l.err
}

func (l *lazyImage) EncodeImages(ctx context.Context, pixels []float32, n int) ([]float32, error) {
	enc, err := l.get()
	if err != nil {
		return nil, err
	}
	return enc.EncodeImages(ctx, pixels, n)
}

// Dim opens the encoder: callers that ask need the answer.
func (l *lazyImage) Dim() int {
	enc, err := l.get()
	if err != nil {
		return 0
	}
	return enc.Dim()
}

func (l *lazyImage) Close() error {
	l.once.Do(func() {}) // never open it to close it
	if l.enc != nil {
		return l.enc.Close()
	}
	return nil
}

type lazyText struct {
	open func() (TextEncoder, error)
	once sync.Once
	enc  TextEncoder
	err  error
}

func (l *lazyText) get() (TextEncoder, error) {
	l.once.Do(func() { l.enc, l.err = opened(l.open()) })
	return l.enc, l.err
}

func (l *lazyText) EncodeTexts(ctx context.Context, ids [][]int32) ([]float32, error) {
	enc, err := l.get()
	if err != nil {
		return nil, err
	}
	return enc.EncodeTexts(ctx, ids)
}

func (l *lazyText) Dim() int {
	enc, err := l.get()
	if err != nil {
		return 0
	}
	return enc.Dim()
}

func (l *lazyText) Close() error {
	l.once.Do(func() {})
	if l.enc != nil {
		return l.enc.Close()
	}
	return nil
}
