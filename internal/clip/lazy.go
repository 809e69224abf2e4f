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

// lazy opens an encoder on first use; an error to open it sticks.
type lazy[T interface{ Close() error }] struct {
	open func() (T, error)
	once sync.Once
	enc  T
	err  error
	ok   bool
}

func (l *lazy[T]) get() (T, error) {
	l.once.Do(func() {
		if l.enc, l.err = l.open(); l.err != nil {
			l.err = &OpenError{l.err}
		}
		l.ok = l.err == nil
	})
	return l.enc, l.err
}

// Close closes the encoder if it was opened, and never opens it.
func (l *lazy[T]) Close() error {
	l.once.Do(func() {})
	if l.ok {
		return l.enc.Close()
	}
	return nil
}

type lazyImage struct{ lazy[ImageEncoder] }

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

type lazyText struct{ lazy[TextEncoder] }

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
