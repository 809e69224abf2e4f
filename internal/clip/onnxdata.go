package clip

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ExternalData lists the external-data files (model.onnx_data and the
// like) that an ONNX model's tensors name in their external_data
// "location" entries, as paths beside the model, sorted and without
// repeats. They are part of the model: the content hash covers them.
//
// The ONNX protobuf is walked field by field rather than decoded with
// ONNX's generated types (another module for a dozen field numbers), and
// tensor bytes are skipped by seeking, so a 600 MB model costs a few
// reads of its structure, not a read of its weights.
func ExternalData(model string) ([]string, error) {
	f, err := os.Open(model)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := &pbReader{f: f, br: bufio.NewReaderSize(f, 64<<10)}
	seen := map[string]bool{}
	if err := r.message(st.Size(), modelProto, seen); err != nil {
		return nil, fmt.Errorf("%s: not a readable ONNX model: %v", model, err)
	}
	dir := filepath.Dir(model)
	var out []string
	for loc := range seen {
		clean := filepath.Clean(filepath.FromSlash(loc))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%s: external data %q is outside the model's folder", model, loc)
		}
		out = append(out, filepath.Join(dir, clean))
	}
	sort.Strings(out)
	return out, nil
}

// The messages walked, and which of their fields lead to tensors.
type pbKind int

const (
	modelProto pbKind = iota
	graphProto
	nodeProto
	attributeProto
	tensorProto
	sparseTensorProto
	entryProto // StringStringEntryProto
)

// pbFields maps a message's field numbers to the message they hold.
var pbFields = map[pbKind]map[uint64]pbKind{
	modelProto:        {7: graphProto},                                                                                                // graph
	graphProto:        {1: nodeProto, 5: tensorProto, 15: sparseTensorProto},                                                          // node, initializer, sparse_initializer
	nodeProto:         {5: attributeProto},                                                                                            // attribute
	attributeProto:    {5: tensorProto, 6: graphProto, 10: tensorProto, 11: graphProto, 22: sparseTensorProto, 23: sparseTensorProto}, // t, g, tensors, graphs, sparse_tensor(s)
	sparseTensorProto: {1: tensorProto, 2: tensorProto},                                                                               // values, indices
	tensorProto:       {13: entryProto},                                                                                               // external_data
}

type pbReader struct {
	f   *os.File
	br  *bufio.Reader
	pos int64
}

func (r *pbReader) varint() (uint64, error) {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		b, err := r.br.ReadByte()
		if err != nil {
			return 0, err
		}
		r.pos++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("bad varint")
}

// skip moves n bytes on: through the buffer when they are in it, by
// seeking the file otherwise.
func (r *pbReader) skip(n int64) error {
	if n <= int64(r.br.Buffered()) {
		_, err := r.br.Discard(int(n))
		r.pos += n
		return err
	}
	r.pos += n
	if _, err := r.f.Seek(r.pos, io.SeekStart); err != nil {
		return err
	}
	r.br.Reset(r.f)
	return nil
}

// message walks n bytes of a message of kind k, adding the external-data
// locations it finds to seen.
func (r *pbReader) message(n int64, k pbKind, seen map[string]bool) error {
	end := r.pos + n
	var key, value string
	for r.pos < end {
		tag, err := r.varint()
		if err != nil {
			return err
		}
		field, wire := tag>>3, tag&7
		switch wire {
		case 0:
			if _, err := r.varint(); err != nil {
				return err
			}
		case 1:
			err = r.skip(8)
		case 5:
			err = r.skip(4)
		case 2:
			l, err := r.varint()
			if err != nil {
				return err
			}
			if l > uint64(end-r.pos) {
				return errors.New("a field runs past its message")
			}
			if k == entryProto && (field == 1 || field == 2) && l < 1<<16 {
				buf := make([]byte, l)
				if _, err := io.ReadFull(r.br, buf); err != nil {
					return err
				}
				r.pos += int64(l)
				if field == 1 {
					key = string(buf)
				} else {
					value = string(buf)
				}
				continue
			}
			if sub, ok := pbFields[k][field]; ok {
				err = r.message(int64(l), sub, seen)
			} else {
				err = r.skip(int64(l))
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("wire type %d", wire)
		}
		if err != nil {
			return err
		}
	}
	if r.pos != end {
		return errors.New("a message runs past its end")
	}
	if k == entryProto && key == "location" && value != "" {
		seen[value] = true
	}
	return nil
}
