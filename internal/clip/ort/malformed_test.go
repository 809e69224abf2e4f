package ort

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/convis/convis/internal/clip"
)

// scalarOutputModel is an ONNX model whose output (named output) is a
// scalar: the mean of its input (named input, elemType, shape dims), cast
// to float. A CLIP encoder's embedding is [B, D]; this one has rank 0.
func scalarOutputModel(input string, elemType int64, dims []int64, output string) []byte {
	field := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	varint := func(num protowire.Number, v int64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), uint64(v))
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	valueInfo := func(name string, elem int64, dims []int64) []byte {
		var shape []byte
		for _, d := range dims {
			shape = append(shape, field(1, varint(1, d))...)
		}
		tensor := cat(varint(1, elem), field(2, shape))
		if len(dims) == 0 {
			tensor = cat(varint(1, elem), protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), nil))
		}
		return cat(field(1, []byte(name)), field(2, field(1, tensor)))
	}
	cast := cat(field(1, []byte(input)), field(2, []byte("f")), field(4, []byte("Cast")),
		field(5, cat(field(1, []byte("to")), varint(3, 1), varint(20, 2))))
	mean := cat(field(1, []byte("f")), field(2, []byte(output)), field(4, []byte("ReduceMean")),
		field(5, cat(field(1, []byte("keepdims")), varint(3, 0), varint(20, 2))))
	graph := cat(field(1, cast), field(1, mean), field(2, []byte("malformed")),
		field(11, valueInfo(input, elemType, dims)), field(12, valueInfo(output, 1, nil)))
	return cat(varint(1, 8), field(7, graph), field(8, cat(field(1, nil), varint(2, 13))))
}

// Regression (issue 29.21): an encoder whose embedding output is not
// [B, D] made OpenImageEncoder and OpenTextEncoder index Shape[1] and
// panic; it is an error naming the file.
func TestMalformedEncoderIsAnError(t *testing.T) {
	rt := runtimeForTest(t)
	dir := t.TempDir()
	vision := filepath.Join(dir, "vision_model.onnx")
	os.WriteFile(vision, scalarOutputModel("pixel_values", 1, []int64{1, 3, 4, 4}, "image_embeds"), 0o644)
	text := filepath.Join(dir, "text_model.onnx")
	os.WriteFile(text, scalarOutputModel("input_ids", 7, []int64{1, 4}, "text_embeds"), 0o644)
	open := map[string]func() error{
		vision: func() error { _, err := rt.OpenImageEncoder(vision, clip.EncoderOptions{}); return err },
		text:   func() error { _, err := rt.OpenTextEncoder(text, clip.EncoderOptions{}); return err },
	}
	for path, f := range open {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic %v", filepath.Base(path), p)
				}
			}()
			err = f()
		}()
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "[B, D]") {
			t.Errorf("%s: error %v, want one naming the file and the shape", filepath.Base(path), err)
		}
	}
}
