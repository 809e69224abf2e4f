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

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels refuses decompression bombs: 100 megapixels, larger than
// any camera or slide scanner's single image convis is meant for.
const DefaultMaxPixels = 100_000_000

// ImageError is an input image that cannot be used.
type ImageError struct {
	Path string
	Msg  string
}

func (e *ImageError) Error() string { return fmt.Sprintf("%s: %s", e.Path, e.Msg) }

// LoadImage decodes an image file into 8-bit RGB: PNG, JPEG (EXIF
// orientation applied), GIF (first frame), BMP, TIFF or WebP; grey,
// paletted, 16-bit and alpha images are converted as Pillow's
// convert("RGB") does (alpha is dropped, 16-bit keeps the high byte).
func LoadImage(path string, maxPixels int) (*RGB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, &ImageError{path, pe.Err.Error()}
		}
		return nil, &ImageError{path, err.Error()}
	}
	return DecodeImage(path, data, maxPixels)
}

// DecodeImage is LoadImage on bytes already read; path names them in errors.
func DecodeImage(path string, data []byte, maxPixels int) (*RGB, error) {
	if len(data) == 0 {
		return nil, &ImageError{path, "empty file (0 bytes)"}
	}
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, &ImageError{path, "unsupported image format (want PNG, JPEG, GIF, BMP, TIFF or WebP)"}
		}
		return nil, &ImageError{path, "corrupt image: " + err.Error()}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, &ImageError{path, fmt.Sprintf("image has no pixels (%dx%d)", cfg.Width, cfg.Height)}
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, &ImageError{path, fmt.Sprintf("image is %dx%d = %d pixels, over the limit of %d (raise it with --max-pixels)", cfg.Width, cfg.Height, cfg.Width*cfg.Height, maxPixels)}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &ImageError{path, fmt.Sprintf("truncated %s image", format)}
		}
		return nil, &ImageError{path, fmt.Sprintf("corrupt %s image: %v", format, err)}
	}
	rgb := toRGB(img)
	if format == "jpeg" {
		rgb = applyOrientation(rgb, jpegOrientation(data))
	}
	return rgb, nil
}

var _ = jpeg.Decode

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
