package saliency

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math"

	"github.com/convis/convis/internal/clip"
)

// The keys of the embedding cache (embedcache) live with the method: what
// the encoder's inputs are is the method's to say.

// WindowKey names the embeddings of windows: everything the encoder's
// inputs and outputs depend on. The canvas's own pixels stand for the
// image, the crop mode, the placement, the fill and its seed (they are
// what the crops are cut from), so any change of those is a new key; the
// windows, the preprocessing, the model's content hash and variant, and
// the encoder batch (batching may change float rounding) complete it.
func WindowKey(model string, pre clip.PreprocessConfig, batch int, c *Canvas, boxes []Box) string {
	k := newKey("convis windows 1", model, pre)
	k.part(fmt.Appendf(nil, "batch %d canvas %dx%d", batch, c.Img.W, c.Img.H))
	k.part(c.Img.Pix)
	return k.boxes(boxes)
}

// key is a SHA-256 of length-prefixed parts, so no two part lists hash
// alike.
type key struct{ h hash.Hash }

func newKey(kind, model string, pre clip.PreprocessConfig) key {
	k := key{sha256.New()}
	cfg, _ := json.Marshal(pre)
	k.part([]byte(kind))
	k.part([]byte(model))
	k.part(cfg)
	return k
}

func (k key) part(b []byte) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
	k.h.Write(n[:])
	k.h.Write(b)
}

// boxes adds the windows as the last part and returns the key.
func (k key) boxes(boxes []Box) string {
	bx := make([]byte, 0, 16*len(boxes))
	for _, b := range boxes {
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.X))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.Y))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.W))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.H))
	}
	k.part(bx)
	return hex.EncodeToString(k.h.Sum(nil))
}

// InsideWindowKey names the embeddings of windows that lie wholly inside
// the image's own pixels (Canvas.ContentRect): their crops do not depend
// on the fill or its seed, so the key holds the image's pixels on the
// canvas and where they lie, not the canvas's, and every seed's canvas of
// an image shares it.
func InsideWindowKey(model string, pre clip.PreprocessConfig, batch int, c *Canvas, boxes []Box) string {
	k := newKey("convis inside windows 1", model, pre)
	x0, y0, x1, y1 := c.ContentRect()
	k.part(fmt.Appendf(nil, "batch %d canvas %dx%d content %d,%d,%d,%d", batch, c.Img.W, c.Img.H, x0, y0, x1, y1))
	for y := y0; y < y1; y++ {
		k.part(c.Img.Pix[(y*c.Img.W+x0)*3 : (y*c.Img.W+x1)*3])
	}
	return k.boxes(boxes)
}

// InputKey names the embedding of encoder inputs given as they are (the
// whole image, preprocessed): the model and the exact input values.
func InputKey(model string, pixels []float32) string {
	h := sha256.New()
	io.WriteString(h, "convis input 1\x00"+model+"\x00")
	buf := make([]byte, 4*len(pixels))
	for i, v := range pixels {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}
