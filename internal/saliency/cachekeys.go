package saliency

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	h := sha256.New()
	// Each part is length-prefixed, so no two part lists hash alike.
	part := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	cfg, _ := json.Marshal(pre)
	part([]byte("convis windows 1"))
	part([]byte(model))
	part(cfg)
	part(fmt.Appendf(nil, "batch %d canvas %dx%d", batch, c.Img.W, c.Img.H))
	part(c.Img.Pix)
	bx := make([]byte, 0, 16*len(boxes))
	for _, b := range boxes {
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.X))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.Y))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.W))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.H))
	}
	part(bx)
	return hex.EncodeToString(h.Sum(nil))
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
