package saliency

import (
	"context"
	"fmt"
	"time"

	"github.com/convis/convis/internal/clip"
)

// Progress reports finished encoder inputs out of a total.
type Progress func(done, total int)

// EmbedStats describes the encoder work behind a map.
type EmbedStats struct {
	Passes     int           `json:"forward_passes"` // crops encoded
	Batches    []int         `json:"batch_sizes"`    // images per encoder call, in order
	EncodeTime time.Duration `json:"-"`
	PrepTime   time.Duration `json:"-"`
}

type preparedBatch struct {
	buf   []float32
	n     int
	start int
	err   error
}

// EmbedWindows crops every window of the canvas, preprocesses the crops for
// the model and encodes them in batches of at most batch. The next batch is
// prepared while the encoder runs the current one (two buffers, reused).
// Embeddings come back L2-normalised, one per window, in window order.
//
// sink, when not nil, receives each batch's embeddings (first window index
// and rows) on its own goroutine, in order, while the encoder runs the next
// batch: scoring overlaps inference.
func EmbedWindows(ctx context.Context, c *Canvas, boxes []Box, enc clip.ImageEncoder, pre *clip.Preprocessor, batch int, progress Progress, sink func(start int, rows [][]float32)) ([][]float32, EmbedStats, error) {
	var stats EmbedStats
	if batch <= 0 {
		return nil, stats, fmt.Errorf("batch size must be positive")
	}
	if len(boxes) == 0 {
		return nil, stats, nil
	}
	per := pre.Config.InputValues()
	nbuf := 2
	free := make(chan []float32, nbuf)
	for i := 0; i < nbuf; i++ {
		free <- make([]float32, batch*per)
	}
	ready := make(chan preparedBatch, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var prepTime time.Duration
	// Square windows of one canvas share most of their resizing work.
	resizer := pre.CropResizer(c.Img)
	var scratch *clip.RGB
	go func() {
		defer close(ready)
		for start := 0; start < len(boxes); start += batch {
			var buf []float32
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			t := time.Now()
			n := min(batch, len(boxes)-start)
			var err error
			for i := 0; i < n && err == nil; i++ {
				b := boxes[start+i]
				if resizer != nil && b.W == b.H {
					scratch = resizer.ResizeInto(scratch, b.X, b.Y, b.W)
					err = pre.IntoResized(buf[i*per:(i+1)*per], scratch)
				} else {
					err = pre.Into(buf[i*per:(i+1)*per], c.Crop(b))
				}
			}
			prepTime += time.Since(t)
			select {
			case ready <- preparedBatch{buf, n, start, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	out := make([][]float32, len(boxes))
	done := 0
	type sunk struct {
		start int
		rows  [][]float32
	}
	var sinkCh chan sunk
	sinkDone := make(chan struct{})
	if sink != nil {
		sinkCh = make(chan sunk, 4)
		// The channel is passed in, not read from the variable: the
		// variable is set to nil once closed, and a goroutine that had not
		// yet started would then range over a nil channel forever (a hang
		// seen when Ctrl-C stopped a batch before the first batch of crops).
		go func(in <-chan sunk) {
			defer close(sinkDone)
			for s := range in {
				sink(s.start, s.rows)
			}
		}(sinkCh)
	} else {
		close(sinkDone)
	}
	defer func() {
		if sinkCh != nil {
			close(sinkCh)
			sinkCh = nil
		}
		<-sinkDone
	}()
	for b := range ready {
		if b.err != nil {
			return nil, stats, b.err
		}
		t := time.Now()
		emb, err := enc.EncodeImages(ctx, b.buf[:b.n*per], b.n)
		stats.EncodeTime += time.Since(t)
		free <- b.buf
		if err != nil {
			return nil, stats, err
		}
		rows := clip.Rows(emb, b.n)
		for i, row := range rows {
			out[b.start+i] = clip.Normalize(row)
		}
		if sinkCh != nil {
			sinkCh <- sunk{b.start, rows}
		}
		stats.Passes += b.n
		stats.Batches = append(stats.Batches, b.n)
		done += b.n
		if progress != nil {
			progress(done, len(boxes))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, stats, err
	}
	stats.PrepTime = prepTime
	// The sink's last batches are scored before returning (the deferred
	// close would do it too, but after the caller reads the scores).
	if sinkCh != nil {
		close(sinkCh)
		sinkCh = nil
	}
	<-sinkDone
	return out, stats, nil
}
