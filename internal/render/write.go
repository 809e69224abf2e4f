package render

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/convis/convis/internal/atomicfile"
)

// WriteAtomic writes a file atomically (atomicfile.Write): a crash or a
// full disk never leaves half a result.
func WriteAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, write)
}

// WritePNG writes an image as PNG, atomically.
func WritePNG(path string, im image.Image) error {
	return WriteAtomic(path, func(w io.Writer) error { return png.Encode(w, im) })
}

// WriteJSON writes v as indented JSON, atomically.
func WriteJSON(path string, v any) error {
	return WriteAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	})
}

// WriteNPY writes a float32 h×w array in NumPy's .npy format (version 1.0).
func WriteNPY(path string, v []float32, w, h int) error {
	return WriteAtomic(path, func(out io.Writer) error { return EncodeNPY(out, v, w, h) })
}

// EncodeNPY is WriteNPY's encoder.
func EncodeNPY(out io.Writer, v []float32, w, h int) error {
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", h, w)
	// Magic (6) + version (2) + length (2) + header + newline, padded to 64.
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	for i := 0; i < pad; i++ {
		header += " "
	}
	header += "\n"
	if _, err := out.Write([]byte("\x93NUMPY\x01\x00")); err != nil {
		return err
	}
	if err := binary.Write(out, binary.LittleEndian, uint16(len(header))); err != nil {
		return err
	}
	if _, err := io.WriteString(out, header); err != nil {
		return err
	}
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	_, err := out.Write(buf)
	return err
}

// Gray16 turns map values in [0,1] into a 16-bit grayscale image.
func Gray16(v []float32, w, h int) *image.Gray16 {
	im := image.NewGray16(image.Rect(0, 0, w, h))
	for i, x := range v {
		im.SetGray16(i%w, i/w, color.Gray16{Y: uint16(math.Round(65535 * clamp01(float64(x))))})
	}
	return im
}

// WriteAtomicMkdir is WriteAtomic after making the file's folder.
func WriteAtomicMkdir(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteAtomic(path, write)
}
