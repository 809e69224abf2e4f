package dicom

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readPNG reads a reference of testdata/dicom/reference/, written by
// scripts/make_dicom_jpeg_reference.py from pydicom (and dcmtk's dcmdjpeg
// where Pillow cannot decode the JPEG).
func readPNG(t *testing.T, name string) image.Image {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", "reference", name))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func decodeFrameJPEG(t *testing.T, name string) *jpegFrame {
	t.Helper()
	f, err := parse(read(t, name))
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.fragment(0)
	if err != nil {
		t.Fatal(err)
	}
	jf, err := decodeJPEG(data, f.rows*f.cols)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return jf
}

// The stored values of a 12-bit extended JPEG and of lossless JPEGs
// against the IJG library's decoding as pydicom reads it. The bound
// is 1 grey level; the decoder computes libjpeg's integer arithmetic, so
// equality is asserted and any drift of the IDCT shows (a changed constant
// or PASS1_BITS does).
func TestJPEGStoredValuesMatchIJG(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"JPGExtended.dcm", "generated/CT_small_jpeg_lossless_sv7.dcm", "generated/MR_small_jpeg_lossless_sv4_pt2.dcm",
		"generated/MR_small_jpeg_lossless_sv2.dcm", "generated/MR_small_jpeg_lossless_sv3.dcm", "generated/MR_small_jpeg_lossless_sv5.dcm", "generated/MR_small_jpeg_lossless_sv6.dcm"} {
		jf := decodeFrameJPEG(t, name)
		ref, ok := readPNG(t, strings.TrimSuffix(filepath.Base(name), ".dcm")+".stored.png").(*image.Gray16)
		if !ok {
			t.Fatalf("%s: reference is not 16-bit grey", name)
		}
		b := ref.Bounds()
		if len(jf.comps) != 1 || jf.width != b.Dx() || jf.height != b.Dy() {
			t.Fatalf("%s: %dx%d with %d components, reference %dx%d", name, jf.width, jf.height, len(jf.comps), b.Dx(), b.Dy())
		}
		c, worst := jf.comps[0], 0
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				d := int(c.plane[y*c.stride+x]) - int(ref.Gray16At(x, y).Y)
				worst = max(worst, d, -d)
			}
		}
		if worst > 0 {
			t.Errorf("%s: max |diff| %d, want 0", name, worst)
		}
		if name == "JPGExtended.dcm" && jf.precision != 12 {
			t.Errorf("%s: precision %d, want 12", name, jf.precision)
		}
	}
}

// Colour JPEG baseline frames, display pixels against pydicom's: 4:4:4,
// and 4:2:0 with restart markers every 3 MCUs. Equal, as above (image/jpeg's
// IDCT was 2 off on these). And a lossless RGB JPEG (interleaved, three
// components), against dcmdjpeg's decoding.
func TestJPEGColourMatchesPydicom(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"SC_rgb_jpeg_dcmtk.dcm", "generated/SC_rgb_jpeg_420_restart.dcm", "SC_rgb_jpeg_gdcm.dcm"} {
		img, _ := mustDecode(t, name, Options{})
		ref := readPNG(t, strings.TrimSuffix(filepath.Base(name), ".dcm")+".rgb.png")
		b := ref.Bounds()
		if img.W != b.Dx() || img.H != b.Dy() {
			t.Fatalf("%s: %dx%d, reference %dx%d", name, img.W, img.H, b.Dx(), b.Dy())
		}
		worst := 0
		for y := 0; y < img.H; y++ {
			for x := 0; x < img.W; x++ {
				r, g, bl, _ := ref.At(x, y).RGBA()
				for i, want := range []uint32{r >> 8, g >> 8, bl >> 8} {
					d := int(img.Pix[3*(y*img.W+x)+i]) - int(want)
					worst = max(worst, d, -d)
				}
			}
		}
		if worst > 0 {
			t.Errorf("%s: max |diff| %d, want 0", name, worst)
		}
	}
}

// The islow IDCT stays within 1 of the exact inverse DCT (T.81 A.3.3) on
// random blocks of the range IEEE 1180 tests, and a DC-only block is flat.
func TestIDCTIslowAccuracy(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	var q [64]int32
	for i := range q {
		q[i] = 1
	}
	out := make([]uint16, 64)
	for n := 0; n < 300; n++ {
		var coef [64]int16
		for i := range coef {
			if rng.Intn(3) == 0 {
				coef[i] = int16(rng.Intn(61) - 30)
			}
		}
		coef[0] = int16(rng.Intn(801) - 400)
		idctIslow(&coef, &q, 8, out, 8)
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				s := 0.0
				for v := 0; v < 8; v++ {
					for u := 0; u < 8; u++ {
						cu, cv := 1.0, 1.0
						if u == 0 {
							cu = 1 / math.Sqrt2
						}
						if v == 0 {
							cv = 1 / math.Sqrt2
						}
						s += cu * cv * float64(coef[8*v+u]) * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
					}
				}
				want := math.Min(math.Max(math.Round(s/4+128), 0), 255)
				if d := math.Abs(float64(out[8*y+x]) - want); d > 1 {
					t.Fatalf("block %d (%d,%d): %d, exact %g", n, x, y, out[8*y+x], want)
				}
			}
		}
	}
	coef := [64]int16{0: -80}
	idctIslow(&coef, &q, 12, out, 8)
	for i, v := range out {
		if v != 2048-10 {
			t.Fatalf("12-bit DC-only block: sample %d is %d, want 2038", i, v)
		}
	}
}

// Streams the decoder does not implement are refused as such (the caller
// falls back to image/jpeg); truncated data is an error, never a panic.
func TestJPEGRefusesAndTruncated(t *testing.T) {
	t.Parallel()
	progressive := []byte{0xFF, 0xD8, 0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9}
	var unsupported jpegUnsupported
	if _, err := decodeJPEG(progressive, 1); !errors.As(err, &unsupported) {
		t.Errorf("progressive: %v, want unsupported", err)
	}
	f, err := parse(read(t, "SC_rgb_jpeg_dcmtk.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.fragment(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 20, len(data) / 2, len(data) - 8} {
		if _, err := decodeJPEG(data[:n], f.rows*f.cols); err == nil {
			t.Errorf("truncated to %d of %d bytes: decoded", n, len(data))
		}
	}
}
