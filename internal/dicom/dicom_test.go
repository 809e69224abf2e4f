package dicom

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dir = "../../testdata/dicom/"

func read(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(dir + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustDecode(t *testing.T, name string, o Options) (*Image, *Info) {
	t.Helper()
	img, info, err := Decode(read(t, name), o)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img, info
}

func TestMonochrome1IsInvertedAfterVOI(t *testing.T) {
	t.Parallel()
	m2, i2 := mustDecode(t, "CT_small.dcm", Options{})
	m1, i1 := mustDecode(t, "generated/CT_small_mono1.dcm", Options{})
	if !i1.Inverted || i2.Inverted || i1.Photometric != "MONOCHROME1" {
		t.Fatalf("inverted: MONOCHROME1 %v, MONOCHROME2 %v", i1.Inverted, i2.Inverted)
	}
	for i := range m2.Pix {
		if m1.Pix[i] != 255-m2.Pix[i] {
			t.Fatalf("pixel byte %d: MONOCHROME1 %d, MONOCHROME2 %d (want 255 − it)", i, m1.Pix[i], m2.Pix[i])
		}
	}
}

func TestTwoWindowsFirstByDefaultAndByIndex(t *testing.T) {
	t.Parallel()
	first, i0 := mustDecode(t, "generated/MR_small_2windows.dcm", Options{})
	second, i1 := mustDecode(t, "generated/MR_small_2windows.dcm", Options{WindowIndex: 1})
	if w := i0.Window; w.Center != 600 || w.Width != 1600 || w.Source != "file" || w.Index != 0 || w.Count != 2 {
		t.Errorf("default window %+v, want the first (600/1600) of 2", *w)
	}
	if w := i1.Window; w.Center != 300 || w.Width != 400 || w.Index != 1 {
		t.Errorf("--window-index 1 gave %+v, want 300/400", *w)
	}
	one, _ := mustDecode(t, "MR_small.dcm", Options{})
	if !bytes.Equal(first.Pix, one.Pix) {
		t.Error("the first window differs from MR_small's own 600/1600")
	}
	if bytes.Equal(first.Pix, second.Pix) {
		t.Error("the second window gives the same pixels as the first")
	}
	_, _, err := Decode(read(t, "generated/MR_small_2windows.dcm"), Options{WindowIndex: 2})
	if err == nil || !strings.Contains(err.Error(), "has 2 window(s)") {
		t.Errorf("--window-index 2 of 2: %v", err)
	}
}

func TestWindowOptionOnCT(t *testing.T) {
	t.Parallel()
	img, info := mustDecode(t, "CT_small.dcm", Options{Window: &Window{40, 400}})
	if w := info.Window; w.Center != 40 || w.Width != 400 || w.Source != "option" || w.Function != "LINEAR" {
		t.Errorf("window %+v", *w)
	}
	// The same pixels through --voi none say each pixel's HU: check the
	// window's ends and middle on them (PS3.3 C.11.2.1.2.1).
	none, _ := mustDecode(t, "CT_small.dcm", Options{VOI: VOINone})
	seen := map[string]bool{}
	lo, hi := -32768.0-1024, 32767.0-1024 // the stored range after the rescale
	for i := 0; i < len(img.Pix); i += 3 {
		hu := lo + float64(none.Pix[i])/255*(hi-lo) // within a grey level of ~257 HU
		switch {
		case hu < -160-300:
			seen["below"] = true
			if img.Pix[i] != 0 {
				t.Fatalf("pixel %d (about %.0f HU) is %d, want 0 below the window", i/3, hu, img.Pix[i])
			}
		case hu > 240+300:
			seen["above"] = true
			if img.Pix[i] != 255 {
				t.Fatalf("pixel %d (about %.0f HU) is %d, want 255 above the window", i/3, hu, img.Pix[i])
			}
		}
	}
	if !seen["below"] || !seen["above"] {
		t.Errorf("CT_small has no air or bone? %v", seen)
	}
	for _, c := range []struct {
		x    float64
		want uint8
	}{{-160, 0}, {-159, 1}, {40, 128}, {239, 255}, {239.5, 255}, {1000, 255}} {
		if got := window(c.x, 40, 400, "LINEAR"); got != c.want {
			t.Errorf("LINEAR 40/400 at %g: %d, want %d", c.x, got, c.want)
		}
	}
	if got := window(40, 40, 400, "SIGMOID"); got != 128 {
		t.Errorf("SIGMOID at the centre: %d, want 128", got)
	}
	if got := window(240, 40, 400, "LINEAR_EXACT"); got != 255 {
		t.Errorf("LINEAR_EXACT at c + w/2: %d, want 255", got)
	}
}

func TestSigned16(t *testing.T) {
	t.Parallel()
	f := &file{stored: 16, high: 15, signed: true}
	if v := f.extend(0xFFFF); v != -1 {
		t.Errorf("0xFFFF signed 16: %d, want -1", v)
	}
	f = &file{stored: 12, high: 11, signed: true}
	if v := f.extend(0xF800); v != -2048 { // bits above High Bit are not data
		t.Errorf("0xF800 as 12 bits signed: %d, want -2048", v)
	}
	if v := f.extend(0x07FF); v != 2047 {
		t.Errorf("0x07FF as 12 bits signed: %d, want 2047", v)
	}
	f = &file{stored: 12, high: 11}
	if v := f.extend(0xFFFF); v != 4095 {
		t.Errorf("0xFFFF as 12 bits unsigned: %d, want 4095", v)
	}
	// MR_small is signed 16-bit: its windowed pixels equal pydicom's
	// (docs/dicom-parity.txt); here, its minimum is negative-safe.
	_, info := mustDecode(t, "MR_small.dcm", Options{})
	if !info.Signed || info.BitsStored != 16 {
		t.Errorf("MR_small: signed %v, bits %d", info.Signed, info.BitsStored)
	}
}

// The same image in other transfer syntaxes decodes to the same pixels.
func TestTransferSyntaxesAgree(t *testing.T) {
	t.Parallel()
	for ref, others := range map[string][]string{
		"MR_small.dcm":         {"MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm", "generated/MR_small_deflate.dcm"},
		"SC_rgb_small_odd.dcm": {"SC_rgb_small_odd_big_endian.dcm"},
	} {
		want, _ := mustDecode(t, ref, Options{})
		for _, o := range others {
			got, info := mustDecode(t, o, Options{})
			if !bytes.Equal(got.Pix, want.Pix) {
				t.Errorf("%s (%s) differs from %s", o, info.TransferSyntaxName, ref)
			}
		}
	}
}

func TestRLEColourAndFrames(t *testing.T) {
	t.Parallel()
	data := read(t, "SC_rgb_rle_2frame.dcm")
	n, err := Frames(data)
	if err != nil || n != 2 {
		t.Fatalf("frames %d, %v", n, err)
	}
	f0, info := mustDecode(t, "SC_rgb_rle_2frame.dcm", Options{})
	f1, _ := mustDecode(t, "SC_rgb_rle_2frame.dcm", Options{Frame: 1})
	one, _ := mustDecode(t, "SC_rgb_rle.dcm", Options{})
	if info.TransferSyntaxName != "RLE Lossless" || info.Photometric != "RGB" {
		t.Errorf("info %+v", info)
	}
	if !bytes.Equal(f0.Pix, one.Pix) {
		t.Error("frame 0 differs from SC_rgb_rle.dcm")
	}
	if bytes.Equal(f0.Pix, f1.Pix) {
		t.Error("frames 0 and 1 are the same")
	}
	if f0.Pix[0] == f0.Pix[1] && f0.Pix[1] == f0.Pix[2] && f0.Pix[3*50*100] == f0.Pix[3*50*100+1] {
		t.Error("the RGB image decoded grey")
	}
	if _, _, err := Decode(data, Options{Frame: 2}); err == nil || !strings.Contains(err.Error(), "has 2 frame(s)") {
		t.Errorf("frame 2 of 2: %v", err)
	}
}

// JPEG 2000 and JPEG-LS are refused in one line that names
// the transfer syntax and the conversion command.
func TestUndecodedSyntaxesNameTheConversion(t *testing.T) {
	t.Parallel()
	for name, want := range map[string][]string{
		"JPEG2000.dcm":                  {"1.2.840.10008.1.2.4.91", "JPEG 2000", "gdcmconv --raw IN OUT"},
		"MR_small_jpeg_ls_lossless.dcm": {"1.2.840.10008.1.2.4.80", "JPEG-LS", "dcmdjpls IN OUT"},
	} {
		_, _, err := Decode(read(t, name), Options{})
		if err == nil {
			t.Errorf("%s decoded", name)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: %q lacks %q", name, err, w)
			}
		}
	}
}

func TestPaletteAndOneBit(t *testing.T) {
	t.Parallel()
	img, info := mustDecode(t, "examples_palette.dcm", Options{})
	colour := 0
	for i := 0; i < len(img.Pix); i += 3 {
		if img.Pix[i] != img.Pix[i+1] || img.Pix[i+1] != img.Pix[i+2] {
			colour++
		}
	}
	if info.Window != nil || colour < len(img.Pix)/30 {
		t.Errorf("palette: %d colour pixels of %d, window %+v", colour, len(img.Pix)/3, info.Window)
	}
	bit, info := mustDecode(t, "liver_1frame.dcm", Options{})
	levels := map[uint8]bool{}
	for _, v := range bit.Pix {
		levels[v] = true
	}
	if info.BitsAllocated != 1 || len(levels) != 2 || !levels[0] || !levels[255] {
		t.Errorf("1-bit: levels %v, bits %d", levels, info.BitsAllocated)
	}
}

func TestVOIModes(t *testing.T) {
	t.Parallel()
	for _, m := range []VOIMode{VOIMinMax, VOIPercentile, VOINone} {
		_, info := mustDecode(t, "MR_small.dcm", Options{VOI: m})
		if info.Window.Source != string(m) || info.Window.Function != "LINEAR_EXACT" {
			t.Errorf("--voi %s: %+v", m, *info.Window)
		}
	}
	_, info := mustDecode(t, "CT_small.dcm", Options{}) // no window in the file
	if info.Window.Source != "minmax" {
		t.Errorf("a file without a window: %+v, want minmax", *info.Window)
	}
	if err := (Options{VOI: "auto"}).Check(); err == nil {
		t.Error("--voi auto accepted")
	}
}

// The decoding record holds no patient or study value of a file that has them.
func TestInfoHoldsNoIdentifier(t *testing.T) {
	t.Parallel()
	secrets := privacyStrings(t)
	for _, name := range []string{"privacy/ct.dcm", "privacy/sub/mr.dcm", "privacy/no-extension"} {
		for _, keep := range []bool{false, true} {
			_, info := mustDecode(t, name, Options{KeepUIDs: keep})
			js, _ := json.Marshal(info)
			for _, s := range secrets {
				if bytes.Contains(js, []byte(s)) {
					t.Errorf("%s: the record holds %q: %s", name, s, js)
				}
			}
			if keep != (info.SOPInstanceUID != "") {
				t.Errorf("%s: keep-uids %v, SOP Instance UID %q", name, keep, info.SOPInstanceUID)
			}
		}
	}
}

// privacyStrings are the identifying values testdata/dicom/privacy/ files carry.
func privacyStrings(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "privacy/STRINGS.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if _, v, ok := strings.Cut(line, "\t"); ok && !strings.HasPrefix(line, "#") {
			out = append(out, v)
		}
	}
	if len(out) < 10 {
		t.Fatalf("%d strings in STRINGS.txt", len(out))
	}
	return out
}

func TestBadFiles(t *testing.T) {
	t.Parallel()
	good := read(t, "MR_small.dcm")
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"no preamble": {[]byte("not dicom at all"), "no DICM preamble"},
		"truncated":   {good[:len(good)/2], "DICOM"},
	} {
		_, _, err := Decode(c.data, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
