package clip

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// ONNX stores large weights outside the .onnx file ("external data"): each
// such initializer names a file, relative to the model's folder, in its
// external_data "location" entry. Exporters name it <model>.onnx_data
// (torch.onnx, transformers.js exports) or <model>.onnx.data, but any name
// is allowed, so the names are read from the model itself.
//
// The walk below reads protobuf's wire format directly rather than through
// google.golang.org/protobuf's protowire, which parses byte slices: a model
// with its weights inline is hundreds of megabytes, and streaming with Seek
// skips every raw_data field without reading it. Only the fields on the
// path to a tensor's external_data are decoded:
//
//	ModelProto.graph (7) → GraphProto.initializer (5) / sparse_initializer (15)
//	/ node (1) → NodeProto.attribute (5) → AttributeProto.t (5), tensors (9),
//	g (6), graphs (10) → TensorProto.external_data (13) →
//	StringStringEntryProto key (1) = "location", value (2).

// ExternalDataFiles lists the files an ONNX model's external data lives in
// (absolute or as joined to the model's folder), each once, sorted: the
// locations its initializers name, and <model>.onnx_data or
// <model>.onnx.data beside it when present. A named file that is missing,
// or a location outside the model's folder, is an error naming both.
func ExternalDataFiles(onnxPath string) ([]string, error) {
	locs, err := externalLocations(onnxPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", onnxPath, err)
	}
	dir := filepath.Dir(onnxPath)
	seen := map[string]bool{}
	var out []string
	for _, loc := range locs {
		clean := path.Clean(filepath.ToSlash(loc))
		if loc == "" || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("%s: external data location %q is outside the model's folder: refused", onnxPath, loc)
		}
		p := filepath.Join(dir, filepath.FromSlash(clean))
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: its weights are in external data %s, which is missing", onnxPath, p)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range []string{onnxPath + "_data", onnxPath + ".data"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ExternalDataLocations lists the locations an ONNX model's tensors name,
// as written in the file (relative to the model's folder), sorted, each once.
func ExternalDataLocations(onnxPath string) ([]string, error) {
	locs, err := externalLocations(onnxPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", onnxPath, err)
	}
	return locs, nil
}

func externalLocations(onnxPath string) ([]string, error) {
	f, err := os.Open(onnxPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	w := &wireWalker{r: bufio.NewReaderSize(f, 64<<10), f: f, set: map[string]bool{}}
	if err := w.message(fi.Size(), w.model); err != nil {
		return nil, fmt.Errorf("not a readable ONNX model: %v", err)
	}
	return slices.Sorted(maps.Keys(w.set)), nil
}

// wireWalker walks protobuf messages on a file, tracking its position so
// that unwanted fields are skipped with a seek.
type wireWalker struct {
	r     *bufio.Reader
	f     *os.File
	pos   int64
	depth int
	set   map[string]bool
}

var errWire = errors.New("malformed protobuf")

func (w *wireWalker) varint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b, err := w.r.ReadByte()
		if err != nil {
			return 0, err
		}
		w.pos++
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return x, nil
		}
	}
	return 0, errWire
}

func (w *wireWalker) skip(n int64) error {
	if n < 0 {
		return errWire
	}
	if n <= int64(w.r.Buffered()) {
		_, err := w.r.Discard(int(n))
		w.pos += n
		return err
	}
	w.pos += n
	if _, err := w.f.Seek(w.pos, io.SeekStart); err != nil {
		return err
	}
	w.r.Reset(w.f)
	return nil
}

func (w *wireWalker) bytes(n int64) ([]byte, error) {
	if n < 0 || n > 1<<20 {
		return nil, errWire
	}
	b := make([]byte, n)
	_, err := io.ReadFull(w.r, b)
	w.pos += n
	return b, err
}

// message reads fields up to end (an absolute offset: pos+length), handing
// each length-delimited field to fn, which reads it whole or returns
// false to have it skipped.
func (w *wireWalker) message(length int64, fn func(field int, length int64) (bool, error)) error {
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > 64 {
		return errWire
	}
	end := w.pos + length
	for w.pos < end {
		tag, err := w.varint()
		if err != nil {
			return err
		}
		field, typ := int(tag>>3), tag&7
		switch typ {
		case 0:
			if _, err := w.varint(); err != nil {
				return err
			}
		case 1:
			err = w.skip(8)
		case 5:
			err = w.skip(4)
		case 2:
			n, err := w.varint()
			if err != nil {
				return err
			}
			if w.pos+int64(n) > end {
				return errWire
			}
			start := w.pos
			read, err := fn(field, int64(n))
			if err != nil {
				return err
			}
			if !read {
				err = w.skip(int64(n))
			} else if w.pos != start+int64(n) {
				return errWire
			}
		default:
			return errWire
		}
		if err != nil {
			return err
		}
	}
	if w.pos != end {
		return errWire
	}
	return nil
}

func (w *wireWalker) model(field int, n int64) (bool, error) {
	if field == 7 { // graph
		return true, w.message(n, w.graph)
	}
	return false, nil
}

func (w *wireWalker) graph(field int, n int64) (bool, error) {
	switch field {
	case 5: // initializer
		return true, w.message(n, w.tensor)
	case 15: // sparse_initializer: values (1) and indices (2) are tensors
		return true, w.message(n, func(f int, n int64) (bool, error) {
			if f == 1 || f == 2 {
				return true, w.message(n, w.tensor)
			}
			return false, nil
		})
	case 1: // node
		return true, w.message(n, func(f int, n int64) (bool, error) {
			if f == 5 { // attribute
				return true, w.message(n, w.attribute)
			}
			return false, nil
		})
	}
	return false, nil
}

func (w *wireWalker) attribute(field int, n int64) (bool, error) {
	switch field {
	case 5, 9: // t, tensors
		return true, w.message(n, w.tensor)
	case 6, 10: // g, graphs
		return true, w.message(n, w.graph)
	}
	return false, nil
}

func (w *wireWalker) tensor(field int, n int64) (bool, error) {
	if field != 13 { // external_data
		return false, nil
	}
	var key, value string
	err := w.message(n, func(f int, n int64) (bool, error) {
		if f != 1 && f != 2 {
			return false, nil
		}
		b, err := w.bytes(n)
		if f == 1 {
			key = string(b)
		} else {
			value = string(b)
		}
		return true, err
	})
	if err == nil && key == "location" {
		w.set[value] = true
	}
	return true, err
}
