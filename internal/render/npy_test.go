package render

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestNPYRoundTrip(t *testing.T) {
	v := []float32{0, 0.25, 0.5, 1, -2, 3}
	var buf bytes.Buffer
	if err := EncodeNPY(&buf, v, 3, 2); err != nil {
		t.Fatal(err)
	}
	got, w, h, err := DecodeNPY(bytes.NewReader(buf.Bytes()))
	if err != nil || w != 3 || h != 2 || len(got) != 6 || got[4] != -2 {
		t.Fatalf("%v %dx%d %v", got, w, h, err)
	}
	path := filepath.Join(t.TempDir(), "m.npy")
	if err := WriteNPY(path, v, 3, 2); err != nil {
		t.Fatal(err)
	}
	truncated := buf.Bytes()[:buf.Len()-3]
	if _, _, _, err := DecodeNPY(bytes.NewReader(truncated)); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated: %v", err)
	}
}

// FuzzDecodeNPY: any bytes give a map or an error, never a panic or a huge
// allocation.
func FuzzDecodeNPY(f *testing.F) {
	var buf bytes.Buffer
	EncodeNPY(&buf, []float32{0, 1, 0.5, 0.25}, 2, 2)
	f.Add(buf.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'shape': (9999999, 9999999)}"))
	f.Add([]byte("\x93NUMPY\x03\x00\xff\xff\xff\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, w, h, err := DecodeNPY(bytes.NewReader(data))
		if err == nil && len(v) != w*h {
			t.Fatalf("%d values for %dx%d", len(v), w, h)
		}
	})
}
