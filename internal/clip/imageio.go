package clip

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // first frame
	"image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/convis/convis/internal/dicom"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels refuses decompression bombs: 100 megapixels, larger than
// any camera or slide scanner's single image convis is meant for.
const DefaultMaxPixels = 100_000_000

// MaxAspect is the most elongated image accepted (long side ÷ short side).
// Past it the image is a few pixels thin on the model's square input, and
// the work of padding or upscaling it grows with the long side: a 200000×16
// strip once took a batch down with an out-of-memory error.
const MaxAspect = 50

// ImageError is an input image that cannot be used.
type ImageError struct {
	Path string
	Msg  string
}

func (e *ImageError) Error() string { return fmt.Sprintf("%s: %s", e.Path, e.Msg) }

// Gray16 says how 16-bit grayscale images (medical scans, most often 10 to
// 14 bits of data in a 16-bit container) become 8-bit.
type Gray16 string

const (
	// Gray16Range stretches the image's own value range [min, max] to
	// [0, 255]: a 12-bit X-ray keeps its contrast instead of decoding
	// nearly black. The default.
	Gray16Range Gray16 = "range"
	// Gray16HighByte keeps the high byte, as 16-bit colour images are
	// always converted (and as convis did before 0.2).
	Gray16HighByte Gray16 = "high-byte"
)

// DecodeOptions are the limits and conversions of image decoding.
type DecodeOptions struct {
	MaxPixels int    // 0: DefaultMaxPixels
	Gray16    Gray16 // "": Gray16Range
	DICOM     dicom.Options
}

// DecodeInfo says what decoding found and did, for sidecars.
type DecodeInfo struct {
	Format   string      `json:"format"`
	BitDepth int         `json:"bit_depth"`
	Scaled16 *[2]uint16  `json:"gray16_range,omitempty"` // the [min, max] stretched to [0, 255]
	DICOM    *dicom.Info `json:"dicom,omitempty"`        // how a DICOM image became display pixels
}

// IsDICOM reports whether a file is DICOM: it ends in .dcm or starts with
// the DICM preamble.
func IsDICOM(path string, data []byte) bool {
	return dicom.Preamble(data) || strings.EqualFold(filepath.Ext(path), ".dcm")
}

// LoadImage decodes an image file into 8-bit RGB: PNG, JPEG (EXIF
// orientation applied), GIF (first frame), BMP, TIFF or WebP; grey,
// paletted and alpha images are converted as Pillow's convert("RGB") does
// (alpha is dropped); 16-bit colour keeps the high byte and 16-bit grey is
// stretched from its own range (DecodeOptions.Gray16).
func LoadImage(path string, maxPixels int) (*RGB, error) {
	im, _, err := LoadImageWith(path, DecodeOptions{MaxPixels: maxPixels})
	return im, err
}

// LoadImageWith is LoadImage with every option, and says what it did.
func LoadImageWith(path string, o DecodeOptions) (*RGB, DecodeInfo, error) {
	data, err := ReadImageFile(path)
	if err != nil {
		return nil, DecodeInfo{}, err
	}
	return DecodeImageWith(path, data, o)
}

// NotRegular is the error of an input that is not a regular file.
const NotRegular = "not a regular file"

// ReadImageFile reads an input file. It opens it without blocking
// (O_NONBLOCK: opening a FIFO with no writer would wait forever, deaf to
// Ctrl-C) and refuses anything but a regular file (FIFOs, sockets,
// devices) as an *ImageError "not a regular file".
func ReadImageFile(path string) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &ImageError{path, err.Error()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if st.IsDir() {
		return nil, &ImageError{path, "is a directory"}
	}
	if !st.Mode().IsRegular() {
		return nil, &ImageError{path, NotRegular}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fail(err)
	}
	return data, nil
}

// DecodeImage is LoadImage on bytes already read; path names them in errors.
func DecodeImage(path string, data []byte, maxPixels int) (*RGB, error) {
	im, _, err := DecodeImageWith(path, data, DecodeOptions{MaxPixels: maxPixels})
	return im, err
}

// DecodeImageWith is LoadImageWith on bytes already read.
func DecodeImageWith(path string, data []byte, o DecodeOptions) (*RGB, DecodeInfo, error) {
	var info DecodeInfo
	maxPixels := o.MaxPixels
	if len(data) == 0 {
		return nil, info, &ImageError{path, "empty file (0 bytes)"}
	}
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	switch o.Gray16 {
	case "", Gray16Range, Gray16HighByte:
	default:
		return nil, info, fmt.Errorf("unknown 16-bit grey conversion %q (want range or high-byte)", o.Gray16)
	}
	if IsDICOM(path, data) {
		return decodeDICOM(path, data, o, maxPixels)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, info, &ImageError{path, "unsupported image format (want PNG, JPEG, GIF, BMP, TIFF, WebP or DICOM)"}
		}
		return nil, info, &ImageError{path, "corrupt image: " + err.Error()}
	}
	if err := checkSize(path, cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, info, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, info, &ImageError{path, fmt.Sprintf("truncated %s image", format)}
		}
		return nil, info, &ImageError{path, fmt.Sprintf("corrupt %s image: %v", format, err)}
	}
	info.Format, info.BitDepth = format, 8
	var rgb *RGB
	switch g := img.(type) {
	case *image.Gray16:
		info.BitDepth = 16
		if o.Gray16 != Gray16HighByte {
			var lo, hi uint16
			rgb, lo, hi = gray16Range(g)
			info.Scaled16 = &[2]uint16{lo, hi}
		}
	case *image.RGBA64, *image.NRGBA64:
		info.BitDepth = 16
	}
	if rgb == nil {
		rgb = toRGB(img)
	}
	if format == "jpeg" {
		rgb = applyOrientation(rgb, jpegOrientation(data))
	}
	return rgb, info, nil
}

var _ = jpeg.Decode

// checkSize refuses images without pixels, decompression bombs and strips.
func checkSize(path string, w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return &ImageError{path, fmt.Sprintf("image has no pixels (%dx%d)", w, h)}
	}
	if int64(w)*int64(h) > int64(maxPixels) {
		return &ImageError{path, fmt.Sprintf("image is %dx%d = %d pixels, over the limit of %d (raise it with --max-pixels)", w, h, w*h, maxPixels)}
	}
	if long, short := max(w, h), min(w, h); long > MaxAspect*short {
		return &ImageError{path, fmt.Sprintf("image is %dx%d, too elongated to explain (aspect ratio %.0f:1, at most %d:1); crop it into tiles first", w, h, float64(long)/float64(short), MaxAspect)}
	}
	return nil
}

// decodeDICOM is DecodeImageWith for DICOM files (internal/dicom).
func decodeDICOM(path string, data []byte, o DecodeOptions, maxPixels int) (*RGB, DecodeInfo, error) {
	var info DecodeInfo
	w, h, err := dicom.Size(data)
	if err == nil {
		err = checkSize(path, w, h, maxPixels)
	}
	if err != nil {
		var ie *ImageError
		if errors.As(err, &ie) {
			return nil, info, err
		}
		return nil, info, &ImageError{path, "DICOM: " + err.Error()}
	}
	img, di, err := dicom.Decode(data, o.DICOM)
	if err != nil {
		return nil, info, &ImageError{path, "DICOM: " + err.Error()}
	}
	info.Format, info.BitDepth, info.DICOM = "dicom", di.BitsStored, di
	return &RGB{W: img.W, H: img.H, Pix: img.Pix}, info, nil
}

func toRGB(img image.Image) *RGB {
	b := img.Bounds()
	out := NewRGB(b.Dx(), b.Dy())
	i := 0
	switch src := img.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, y):]
			for x := 0; x < b.Dx(); x++ {
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = row[x*4], row[x*4+1], row[x*4+2]
				i += 3
			}
		}
		return out
	case *image.YCbCr, *image.Gray, *image.RGBA:
		// fall through to the generic path: these have no (or opaque) alpha
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			// Non-premultiplied values: dropping alpha keeps the colour, as Pillow does.
			c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			i += 3
		}
	}
	return out
}

// gray16Range stretches a 16-bit grey image's [min, max] to [0, 255]
// (rounded); a flat image keeps its high byte.
func gray16Range(g *image.Gray16) (*RGB, uint16, uint16) {
	b := g.Bounds()
	lo, hi := uint16(0xFFFF), uint16(0)
	val := func(x, y int) uint16 {
		i := g.PixOffset(x, y)
		return uint16(g.Pix[i])<<8 | uint16(g.Pix[i+1])
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := val(x, y)
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	out := NewRGB(b.Dx(), b.Dy())
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := val(x, y)
			var p uint8
			if hi > lo {
				p = uint8((uint32(v-lo)*255 + uint32(hi-lo)/2) / uint32(hi-lo))
			} else {
				p = uint8(v >> 8)
			}
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = p, p, p
			i += 3
		}
	}
	return out, lo, hi
}

// jpegOrientation reads the EXIF orientation tag (1–8) of a JPEG; 1 when absent.
func jpegOrientation(data []byte) int {
	r := bufio.NewReader(bytes.NewReader(data))
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return 1
	}
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 0xFF {
			return 1
		}
		marker := hdr[1]
		size := int(binary.BigEndian.Uint16(hdr[2:])) - 2
		if marker == 0xDA || size < 0 {
			return 1 // start of scan: no EXIF before the image data
		}
		seg := make([]byte, size)
		if _, err := io.ReadFull(r, seg); err != nil {
			return 1
		}
		if marker == 0xE1 && len(seg) > 14 && string(seg[:6]) == "Exif\x00\x00" {
			return exifOrientation(seg[6:])
		}
	}
}

func exifOrientation(tiff []byte) int {
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(tiff[4:8]))
	if off+2 > len(tiff) {
		return 1
	}
	n := int(bo.Uint16(tiff[off:]))
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(tiff) {
			return 1
		}
		if bo.Uint16(tiff[e:]) == 0x0112 {
			v := int(bo.Uint16(tiff[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// applyOrientation turns the stored pixels upright (EXIF orientations 2–8),
// as Pillow's ImageOps.exif_transpose does.
func applyOrientation(im *RGB, o int) *RGB {
	if o <= 1 || o > 8 {
		return im
	}
	w, h := im.W, im.H
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := NewRGB(ow, oh)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			copy(out.Pix[(dy*ow+dx)*3:(dy*ow+dx)*3+3], im.Pix[(y*w+x)*3:(y*w+x)*3+3])
		}
	}
	return out
}
