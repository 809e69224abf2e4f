package clip

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"
)

func encodePNG(t *testing.T, im image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Regression (issue 20.1): a 200000×16 strip is refused from its header,
// before any pixel is decoded, with an error naming the file.
func TestElongatedImageRefused(t *testing.T) {
	data := encodePNG(t, image.NewGray(image.Rect(0, 0, 200000, 16)))
	_, err := DecodeImage("thin.png", data, 0)
	if err == nil || !strings.Contains(err.Error(), "thin.png") || !strings.Contains(err.Error(), "too elongated") {
		t.Fatalf("want an elongation error naming thin.png, got %v", err)
	}
	// 50:1 is still accepted.
	if _, err := DecodeImage("ok.png", encodePNG(t, image.NewGray(image.Rect(0, 0, 800, 16))), 0); err != nil {
		t.Fatal(err)
	}
}

// Regression (issue 20.10): a 12-bit scan in a 16-bit PNG decoded to values
// 0–15. By default the image's own range is stretched to 0–255; the old
// high-byte conversion stays available.
func TestGray16StretchesItsRange(t *testing.T) {
	g := image.NewGray16(image.Rect(0, 0, 4, 1))
	for x, v := range []uint16{100, 1000, 2000, 4095} {
		g.SetGray16(x, 0, color.Gray16{Y: v})
	}
	data := encodePNG(t, g)
	im, info, err := DecodeImageWith("xray.png", data, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{0, 57, 121, 255} // round((v−100)·255/3995)
	for x, w := range want {
		if got := im.Pix[3*x]; got != w || im.Pix[3*x+1] != w || im.Pix[3*x+2] != w {
			t.Errorf("pixel %d: got %d, want %d", x, got, w)
		}
	}
	if info.BitDepth != 16 || info.Scaled16 == nil || *info.Scaled16 != [2]uint16{100, 4095} {
		t.Errorf("info %+v", info)
	}
	raw, info, err := DecodeImageWith("xray.png", data, DecodeOptions{Gray16: Gray16HighByte})
	if err != nil {
		t.Fatal(err)
	}
	if raw.Pix[9] != 15 || info.Scaled16 != nil {
		t.Errorf("high-byte: pixel 3 = %d (want 15), info %+v", raw.Pix[9], info)
	}
}

// DICOM files are decoded by their preamble whatever their name, say how
// in DecodeInfo, and errors name the file.
func TestDecodeDICOM(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../testdata/dicom/MR_small.dcm")
	if err != nil {
		t.Fatal(err)
	}
	im, info, err := DecodeImageWith("scan-without-dcm-ending", data, DecodeOptions{})
	if err != nil || im.W != 64 || im.H != 64 || info.Format != "dicom" || info.DICOM == nil || info.DICOM.Window.Center != 600 {
		t.Fatalf("MR_small: %v, %+v", err, info)
	}
	if _, _, err := DecodeImageWith("MR_small.dcm", data, DecodeOptions{MaxPixels: 64*64 - 1}); err == nil || !strings.Contains(err.Error(), "--max-pixels") {
		t.Errorf("over --max-pixels: %v", err)
	}
	_, _, err = DecodeImageWith("x.dcm", []byte("plain text, not DICOM"), DecodeOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "x.dcm: DICOM: not a DICOM Part 10 file") {
		t.Errorf("not DICOM: %v", err)
	}
}
