package render

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// NPYError is an .npy file that cannot be read as a 2-D float32 map.
type NPYError struct {
	Path string
	Msg  string
}

func (e *NPYError) Error() string { return e.Path + ": " + e.Msg }

var npyShapeRE = regexp.MustCompile(`'shape':\s*\((\d+),\s*(\d+),?\s*\)`)

// maxNPYValues bounds what a header may announce (64 M values, a map of
// 8192²): a corrupt header must not make the reader allocate gigabytes.
const maxNPYValues = 1 << 26

// ReadNPY reads a 2-D little-endian float32 array (h rows × w columns) in
// NumPy's .npy format, versions 1 to 3, as convis writes it.
func ReadNPY(path string) (v []float32, w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	v, w, h, err = DecodeNPY(f)
	if err != nil {
		return nil, 0, 0, &NPYError{Path: path, Msg: err.Error()}
	}
	return v, w, h, nil
}

// DecodeNPY is ReadNPY on a reader.
func DecodeNPY(r io.Reader) (v []float32, w, h int, err error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, 0, 0, fmt.Errorf("not an .npy file (too short)")
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, 0, 0, fmt.Errorf("not an .npy file (no magic)")
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, 0, 0, fmt.Errorf("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, 0, 0, fmt.Errorf("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, 0, 0, fmt.Errorf(".npy version %d.%d is not supported", pre[6], pre[7])
	}
	if hlen > 1<<16 {
		return nil, 0, 0, fmt.Errorf(".npy header of %d bytes is too long", hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, 0, 0, fmt.Errorf("truncated .npy header")
	}
	header := string(hdr)
	if !strings.Contains(header, "'descr': '<f4'") {
		return nil, 0, 0, fmt.Errorf("want little-endian float32 ('<f4') values, header says %s", strings.TrimSpace(header))
	}
	if strings.Contains(header, "'fortran_order': True") {
		return nil, 0, 0, fmt.Errorf("Fortran-ordered arrays are not supported")
	}
	m := npyShapeRE.FindStringSubmatch(header)
	if m == nil {
		return nil, 0, 0, fmt.Errorf("want a 2-D array, header says %s", strings.TrimSpace(header))
	}
	h, err1 := strconv.Atoi(m[1])
	w, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 || int64(w)*int64(h) > maxNPYValues {
		return nil, 0, 0, fmt.Errorf("shape (%s, %s) is empty or too large", m[1], m[2])
	}
	n := w * h
	raw := make([]byte, 4*n)
	if got, err := io.ReadFull(r, raw); err != nil {
		return nil, 0, 0, fmt.Errorf("truncated: %d of %d data bytes", got, 4*n)
	}
	v = make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v, w, h, nil
}
