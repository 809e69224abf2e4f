package dicom

import (
	"os"
	"path/filepath"
	"testing"
)

// Any bytes give pixels or an error, never a panic or a hang; pixels come
// with the size the record says.
func FuzzDecode(f *testing.F) {
	// Small seeds only: the fuzzing engine crawls on inputs of tens of kB.
	for _, name := range []string{"SC_rgb_small_odd.dcm", "SC_rgb_small_odd_big_endian.dcm", "rtdose_1frame.dcm", "SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm", "generated/MR_small_deflate.dcm", "MR_small_RLE.dcm", "generated/SC_rgb_jpeg_420_restart.dcm", "generated/MR_small_jpeg_lossless_sv4_pt2.dcm", "JPGExtended.dcm"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if w, h, err := Size(data); err != nil || w*h > 1<<22 {
			return // what convis's decoder refuses before decoding
		}
		img, info, err := Decode(data, Options{})
		if err != nil {
			return
		}
		if img.W != info.Columns || img.H != info.Rows || len(img.Pix) != 3*img.W*img.H {
			t.Fatalf("image %dx%d (%d bytes), record %dx%d", img.W, img.H, len(img.Pix), info.Columns, info.Rows)
		}
	})
}

// The JPEG decoder alone, on the frames of the JPEG test files: any bytes
// give whole planes or an error, never a panic or a hang.
func FuzzDecodeJPEG(f *testing.F) {
	for _, name := range []string{"SC_rgb_jpeg_dcmtk.dcm", "generated/SC_rgb_jpeg_420_restart.dcm", "generated/SC_rgb_jpeg_422.dcm", "generated/MR_small_jpeg_lossless_sv4_pt2.dcm", "JPGExtended.dcm"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		df, err := parse(data)
		if err != nil {
			f.Fatal(err)
		}
		frame, err := df.fragment(0)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		jf, err := decodeJPEG(data, 1<<18)
		if err != nil {
			return
		}
		for _, c := range jf.comps {
			if c.stride < c.w || len(c.plane) < c.stride*c.hgt {
				t.Fatalf("component %d: plane %d (stride %d) for %dx%d", c.id, len(c.plane), c.stride, c.w, c.hgt)
			}
		}
	})
}
