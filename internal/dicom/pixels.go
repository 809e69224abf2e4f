package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"sort"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// samples are one frame's stored values, interleaved (pixel by pixel,
// SamplesPerPixel values each), after Bits Stored / High Bit masking and
// the sign extension of Pixel Representation 1 (PS3.5 8.1.1, PS3.3 C.7.6.3.1.3).
type samples struct {
	v   []int64
	rgb bool // already RGB: a colour JPEG, converted by its decoder
}

// fragments are the encapsulated frames: one per frame, or all of them
// for a single-frame image (PS3.5 A.4: a frame may span fragments).
func (f *file) fragment(frame int) ([]byte, error) {
	frs := f.pixels.Frames
	switch {
	case !f.pixels.IsEncapsulated:
		return nil, errorf("%s pixel data is not encapsulated", f.ts.name)
	case len(frs) == f.frames:
		return frs[frame].EncapsulatedData.Data, nil
	case f.frames == 1 && len(frs) > 0:
		var all []byte
		for _, fr := range frs {
			all = append(all, fr.EncapsulatedData.Data...)
		}
		return all, nil
	default:
		return nil, errorf("%d pixel data fragments for %d frames: frames spanning several fragments are not supported (convert it first: %s)", len(frs), f.frames, hintRaw)
	}
}

func (f *file) frameSamples(frame int) (*samples, error) {
	switch f.ts.kind {
	case kindNative:
		if f.pixels.IsEncapsulated {
			return nil, errorf("%s pixel data is encapsulated", f.ts.name)
		}
		return f.native(frame)
	case kindRLE:
		data, err := f.fragment(frame)
		if err != nil {
			return nil, err
		}
		return f.rle(data)
	case kindJPEG:
		data, err := f.fragment(frame)
		if err != nil {
			return nil, err
		}
		return f.jpeg(data)
	}
	return nil, errorf("transfer syntax %s (%s) is not decoded by convis; convert it first: %s", f.ts.uid, f.ts.name, f.ts.hint)
}

// valuesPerFrame is how many stored values a native frame holds: YBR_FULL_422
// keeps two luma and one pair of chroma values for each two pixels (PS3.3 C.7.6.3.1.2).
func (f *file) valuesPerFrame() int {
	if f.photo == "YBR_FULL_422" {
		return f.rows * f.cols * 2
	}
	return f.rows * f.cols * f.spp
}

// extend masks a stored word to its Bits Stored below High Bit and
// extends the sign of two's complement values (PS3.5 8.1.1, PS3.3 C.7.6.3.1).
func (f *file) extend(w uint64) int64 {
	shift := uint(f.high + 1 - f.stored)
	v := int64((w >> shift) & (1<<uint(f.stored) - 1))
	if f.signed && v&(1<<uint(f.stored-1)) != 0 {
		v -= 1 << uint(f.stored)
	}
	return v
}

func (f *file) native(frame int) (*samples, error) {
	raw := f.pixels.UnprocessedValueData
	n := f.valuesPerFrame()
	out := &samples{v: make([]int64, n)}
	if f.alloc == 1 {
		// Bit-packed, least significant bit first, frames one after the other
		// with no padding between them (PS3.5 8.1.1, D.2).
		start := frame * n
		if (start+n+7)/8 > len(raw) {
			return nil, errorf("%v", errShort)
		}
		for i := range out.v {
			b := start + i
			out.v[i] = f.extend(uint64(raw[b/8]>>(uint(b)%8)) & 1)
		}
		return out, nil
	}
	bpv := f.alloc / 8
	if bpv == 1 && f.ts.order == binary.BigEndian && f.pixVR == "OW" {
		// 8-bit data in an OW value is stored as 16-bit words, so big
		// endian swaps each pair of bytes (PS3.5 7.3, 8.2).
		swapped := make([]byte, len(raw)+len(raw)%2)
		copy(swapped, raw)
		for i := 0; i+1 < len(swapped); i += 2 {
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
		}
		raw = swapped
	}
	start := frame * n * bpv
	if start+n*bpv > len(raw) {
		return nil, errorf("%v", errShort)
	}
	buf := raw[start : start+n*bpv]
	order := f.ts.order
	for i := range out.v {
		var w uint64
		switch bpv {
		case 1:
			w = uint64(buf[i])
		case 2:
			w = uint64(order.Uint16(buf[2*i:]))
		case 4:
			w = uint64(order.Uint32(buf[4*i:]))
		}
		out.v[i] = f.extend(w)
	}
	if f.planar == 1 && f.spp == 3 {
		// Colour by plane: RRR…GGG…BBB (PS3.3 C.7.6.3.1.3).
		np := f.rows * f.cols
		inter := make([]int64, len(out.v))
		for p := 0; p < np; p++ {
			for s := 0; s < 3; s++ {
				inter[3*p+s] = out.v[s*np+p]
			}
		}
		out.v = inter
	}
	if f.photo == "YBR_FULL_422" {
		out.v = expand422(out.v, f.cols, f.rows)
	}
	return out, nil
}

// expand422 turns Y0 Y1 Cb Cr for each horizontal pair of pixels into
// three values a pixel (PS3.3 C.7.6.3.1.2, YBR_FULL_422).
func expand422(v []int64, w, h int) []int64 {
	out := make([]int64, 3*w*h)
	for p := 0; p+1 < w*h && 2*p+3 < len(v); p += 2 {
		y0, y1, cb, cr := v[2*p], v[2*p+1], v[2*p+2], v[2*p+3]
		out[3*p], out[3*p+1], out[3*p+2] = y0, cb, cr
		out[3*p+3], out[3*p+4], out[3*p+5] = y1, cb, cr
	}
	return out
}

// rle decodes one RLE Lossless frame (PS3.5 Annex G): a header of 16
// little-endian offsets, then one PackBits segment per byte of each sample,
// most significant byte first, sample by sample. The result is interleaved
// whatever Planar Configuration says, as pydicom and dcmtk do.
func (f *file) rle(data []byte) (*samples, error) {
	if len(data) < 64 {
		return nil, errorf("RLE frame shorter than its header")
	}
	nseg := int(binary.LittleEndian.Uint32(data))
	bpv := f.alloc / 8
	if f.alloc%8 != 0 || nseg != f.spp*bpv {
		return nil, errorf("RLE frame has %d segments, want %d (%d samples of %d bits)", nseg, f.spp*bpv, f.spp, f.alloc)
	}
	np := f.rows * f.cols
	out := &samples{v: make([]int64, np*f.spp)}
	words := make([]uint64, np*f.spp)
	for s := 0; s < nseg; s++ {
		off := int(binary.LittleEndian.Uint32(data[4+4*s:]))
		end := len(data)
		if s+1 < nseg {
			end = int(binary.LittleEndian.Uint32(data[8+4*s:]))
		}
		if off < 64 || off > end || end > len(data) {
			return nil, errorf("RLE segment %d has bad offsets", s)
		}
		seg, err := unpackBits(data[off:end], np)
		if err != nil {
			return nil, errorf("RLE segment %d: %v", s, err)
		}
		sample, byteIdx := s/bpv, s%bpv // byte 0 is the most significant
		shift := uint(8 * (bpv - 1 - byteIdx))
		for p := 0; p < np; p++ {
			words[p*f.spp+sample] |= uint64(seg[p]) << shift
		}
	}
	for i, w := range words {
		out.v[i] = f.extend(w)
	}
	return out, nil
}

// unpackBits is the PackBits run-length scheme of PS3.5 G.3.1. (Hand-written:
// no Go library for DICOM decodes RLE.)
func unpackBits(src []byte, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for i := 0; i < len(src) && len(out) < n; {
		c := int(int8(src[i]))
		i++
		switch {
		case c >= 0:
			if i+c+1 > len(src) {
				return nil, errors.New("literal run past the segment's end")
			}
			out = append(out, src[i:i+c+1]...)
			i += c + 1
		case c != -128:
			if i >= len(src) {
				return nil, errors.New("repeat run past the segment's end")
			}
			for k := 0; k < 1-c; k++ {
				out = append(out, src[i])
			}
			i++
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(out), n)
	}
	return out[:n], nil
}

// jpeg decodes a JPEG frame with convis's own decoder (jpeg.go), which
// gives libjpeg's pixels; streams it does not implement (progressive)
// fall back to image/jpeg when 8-bit. Colour frames come out RGB as
// pydicom shows them: YBR_* through the YCbCr planes, RGB as coded.
func (f *file) jpeg(data []byte) (*samples, error) {
	jf, err := decodeJPEG(data, f.rows*f.cols)
	if err == nil {
		return f.jpegSamples(jf)
	}
	var unsupported jpegUnsupported
	if !errors.As(err, &unsupported) {
		return nil, errorf("corrupt JPEG frame: %v", err)
	}
	img, ierr := jpeg.Decode(bytes.NewReader(data))
	if ierr != nil {
		return nil, errorf("transfer syntax %s (%s): %v, not decoded by convis; convert it first: %s", f.ts.uid, f.ts.name, err, f.ts.hint)
	}
	b := img.Bounds()
	if b.Dx() != f.cols || b.Dy() != f.rows {
		return nil, errorf("JPEG frame is %dx%d, the dataset says %dx%d", b.Dx(), b.Dy(), f.cols, f.rows)
	}
	switch g := img.(type) {
	case *image.Gray:
		if f.spp != 1 {
			return nil, errorf("grey JPEG frame for %d samples per pixel", f.spp)
		}
		out := &samples{v: make([]int64, b.Dx()*b.Dy())}
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				out.v[y*b.Dx()+x] = f.extend(uint64(g.Pix[g.PixOffset(x+b.Min.X, y+b.Min.Y)]))
			}
		}
		return out, nil
	case *image.YCbCr:
		if f.spp != 3 {
			return nil, errorf("colour JPEG frame for %d samples per pixel", f.spp)
		}
		return &samples{v: ycbcrToRGB(g), rgb: true}, nil
	case *image.RGBA, *image.NRGBA:
		if f.spp != 3 {
			return nil, errorf("colour JPEG frame for %d samples per pixel", f.spp)
		}
		out := &samples{v: make([]int64, 3*b.Dx()*b.Dy()), rgb: true}
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, gg, bb, _ := img.At(x, y).RGBA()
				out.v[i], out.v[i+1], out.v[i+2] = int64(r>>8), int64(gg>>8), int64(bb>>8)
				i += 3
			}
		}
		return out, nil
	}
	return nil, errorf("JPEG frame of an unsupported colour model (%T)", img)
}

// jpegSamples turns a decoded JPEG frame into a frame's samples.
func (f *file) jpegSamples(jf *jpegFrame) (*samples, error) {
	if jf.width != f.cols || jf.height != f.rows {
		return nil, errorf("JPEG frame is %dx%d, the dataset says %dx%d", jf.width, jf.height, f.cols, f.rows)
	}
	if len(jf.comps) != f.spp {
		return nil, errorf("JPEG frame has %d components for %d samples per pixel", len(jf.comps), f.spp)
	}
	if jf.precision > f.alloc {
		return nil, errorf("JPEG precision %d over Bits Allocated %d", jf.precision, f.alloc)
	}
	w, h := f.cols, f.rows
	if f.spp == 1 {
		c := jf.comps[0]
		out := &samples{v: make([]int64, w*h)}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out.v[y*w+x] = f.extend(uint64(c.plane[y*c.stride+x]))
			}
		}
		return out, nil
	}
	subsampled := false
	for _, c := range jf.comps {
		subsampled = subsampled || c.h != jf.hmax || c.v != jf.vmax
	}
	if !subsampled && (jf.lossless || f.photo == "RGB" && jf.adobeTransform != 1) {
		// Samples as coded: display converts YBR_FULL, RGB stays (pydicom
		// reads an RGB JPEG without Adobe transform untransformed, too).
		out := &samples{v: make([]int64, 3*w*h)}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for i, c := range jf.comps {
					out.v[3*(y*w+x)+i] = int64(c.plane[y*c.stride+x])
				}
			}
		}
		return out, nil
	}
	if jf.precision != 8 {
		return nil, errorf("transfer syntax %s (%s): %d-bit colour JPEG is not decoded by convis; convert it first: %s", f.ts.uid, f.ts.name, jf.precision, f.ts.hint)
	}
	ycc, err := jpegYCbCr(jf)
	if err != nil {
		return nil, errorf("%v", err)
	}
	if f.photo == "RGB" && subsampled && jf.adobeTransform != 1 {
		return nil, errorf("subsampled RGB JPEG is not supported")
	}
	if f.photo == "RGB" {
		return &samples{v: libjpegYCbCrToRGB(ycc), rgb: true}, nil
	}
	return &samples{v: ycbcrToRGB(ycc), rgb: true}, nil
}

// display turns a frame's samples into 8-bit RGB.
func (f *file) display(s *samples, o Options, info *Info) (*Image, error) {
	np := f.rows * f.cols
	img := &Image{W: f.cols, H: f.rows, Pix: make([]uint8, 3*np)}
	switch {
	case s.rgb || f.photo == "RGB":
		// Colour: no modality LUT or VOI (PS3.3 C.11); 16-bit samples scale
		// by 255 / (2^BitsStored − 1).
		top := float64(int64(1)<<uint(f.stored) - 1)
		for i, v := range s.v {
			if s.rgb || f.stored == 8 {
				img.Pix[i] = clamp8(float64(v))
			} else {
				img.Pix[i] = clamp8(math.Round(float64(v) * 255 / top))
			}
		}
		return img, nil
	case f.photo == "YBR_FULL" || f.photo == "YBR_FULL_422":
		if f.stored != 8 {
			return nil, errorf("%s with %d bits stored is not supported", f.photo, f.stored)
		}
		for p := 0; p < np; p++ {
			r, g, b := ybrFull(float64(s.v[3*p]), float64(s.v[3*p+1]), float64(s.v[3*p+2]))
			img.Pix[3*p], img.Pix[3*p+1], img.Pix[3*p+2] = r, g, b
		}
		return img, nil
	case f.photo == "PALETTE COLOR":
		return f.palette(s, img)
	}
	// Grey: modality LUT, VOI, then MONOCHROME1 inverted (PS3.3 C.11, C.7.6.3.1.2).
	mv, lo, hi, err := f.modality(s.v, info)
	if err != nil {
		return nil, err
	}
	grey, err := f.voi(mv, lo, hi, o, info)
	if err != nil {
		return nil, err
	}
	if f.photo == "MONOCHROME1" {
		info.Inverted = true
		for i := range grey {
			grey[i] = 255 - grey[i]
		}
	}
	for p, g := range grey {
		img.Pix[3*p], img.Pix[3*p+1], img.Pix[3*p+2] = g, g, g
	}
	return img, nil
}

// ybrFull is YBR_FULL to RGB (PS3.3 C.7.6.3.1.2, the JFIF equations).
func ybrFull(y, cb, cr float64) (uint8, uint8, uint8) {
	r := y + 1.402*(cr-128)
	g := y - 0.344136*(cb-128) - 0.714136*(cr-128)
	b := y + 1.772*(cb-128)
	return clamp8(math.Round(r)), clamp8(math.Round(g)), clamp8(math.Round(b))
}

func clamp8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}

// lut is a LUT Descriptor and its data (PS3.3 C.11.1.1.1).
type lut struct {
	first int64
	bits  int
	data  []int64
}

func (l *lut) at(v int64) int64 {
	i := v - l.first
	if i < 0 {
		i = 0
	}
	if i >= int64(len(l.data)) {
		i = int64(len(l.data)) - 1
	}
	return l.data[i]
}

// readLUT reads a descriptor (entries, first value mapped, bits per entry;
// 0 entries means 65536) and its data, US/SS values or OW words.
func readLUT(desc, data *dcm.Element, signed bool, what string) (*lut, error) {
	d := elemInts(desc)
	if len(d) != 3 {
		return nil, errorf("%s has no valid LUT Descriptor", what)
	}
	n := d[0]
	if n == 0 {
		n = 65536
	}
	first := int64(d[1])
	if signed && first >= 32768 {
		first -= 65536 // a US descriptor of signed data (PS3.3 C.11.1.1.1)
	}
	l := &lut{first: first, bits: d[2]}
	if l.bits < 1 || l.bits > 16 {
		return nil, errorf("%s has %d bits per entry", what, l.bits)
	}
	if data == nil {
		return nil, errorf("%s has no LUT Data", what)
	}
	switch data.Value.ValueType() {
	case dcm.Ints:
		for _, v := range data.Value.GetValue().([]int) {
			l.data = append(l.data, int64(v))
		}
	case dcm.Bytes:
		b := data.Value.GetValue().([]byte) // OW: the library gives little-endian words
		if len(b) == n && l.bits <= 8 {
			for _, v := range b {
				l.data = append(l.data, int64(v))
			}
		} else {
			for i := 0; i+1 < len(b); i += 2 {
				l.data = append(l.data, int64(binary.LittleEndian.Uint16(b[i:])))
			}
		}
	default:
		return nil, errorf("%s LUT Data of an unexpected kind", what)
	}
	if len(l.data) < n {
		return nil, errorf("%s has %d LUT entries, its descriptor says %d", what, len(l.data), n)
	}
	l.data = l.data[:n]
	return l, nil
}

// modality applies the Modality LUT Sequence, or Rescale Slope and
// Intercept (PS3.3 C.11.1), and says the range its output can take.
func (f *file) modality(v []int64, info *Info) (out []float64, lo, hi float64, err error) {
	out = make([]float64, len(v))
	slo, shi := float64(0), float64(int64(1)<<uint(f.stored)-1)
	if f.signed {
		slo, shi = -float64(int64(1)<<uint(f.stored-1)), float64(int64(1)<<uint(f.stored-1)-1)
	}
	if items := sequenceItems(find(f.ds, tag.ModalityLUTSequence)); len(items) > 0 {
		l, err := readLUT(findIn(items[0], tag.LUTDescriptor), findIn(items[0], tag.LUTData), f.signed, "Modality LUT Sequence")
		if err != nil {
			return nil, 0, 0, err
		}
		info.ModalityLUT = true
		for i, x := range v {
			out[i] = float64(l.at(x))
		}
		return out, 0, float64(int64(1)<<uint(l.bits) - 1), nil
	}
	m, b := info.RescaleSlope, info.RescaleIntercept
	for i, x := range v {
		out[i] = float64(x)*m + b
	}
	lo, hi = slo*m+b, shi*m+b
	if lo > hi {
		lo, hi = hi, lo
	}
	return out, lo, hi, nil
}

// voi chooses and applies the VOI transform, to 0–255 (PS3.3 C.11.2).
func (f *file) voi(x []float64, lo, hi float64, o Options, info *Info) ([]uint8, error) {
	mode := o.VOI
	if mode == "" {
		mode = VOIStored
	}
	fn := "LINEAR"
	if s := str(f.ds, tag.VOILUTFunction); s != "" {
		fn = s
	}
	switch fn {
	case "LINEAR", "LINEAR_EXACT", "SIGMOID":
	default:
		return nil, errorf("VOI LUT Function %q is not one of LINEAR, LINEAR_EXACT, SIGMOID", fn)
	}
	apply := func(w WindowInfo) ([]uint8, error) {
		info.Window = &w
		out := make([]uint8, len(x))
		for i, v := range x {
			out[i] = window(v, w.Center, w.Width, w.Function)
		}
		return out, nil
	}
	if o.Window != nil {
		return apply(WindowInfo{Center: o.Window.Center, Width: o.Window.Width, Function: fn, Source: "option"})
	}
	if mode == VOIStored {
		if items := sequenceItems(find(f.ds, tag.VOILUTSequence)); len(items) > 0 {
			// A VOI LUT Sequence is preferred to windows, as pydicom does.
			if o.WindowIndex >= len(items) {
				return nil, errorf("--window-index %d: the file has %d VOI LUT(s), numbered from 0", o.WindowIndex, len(items))
			}
			l, err := readLUT(findIn(items[o.WindowIndex], tag.LUTDescriptor), findIn(items[o.WindowIndex], tag.LUTData), f.signed, "VOI LUT Sequence")
			if err != nil {
				return nil, err
			}
			info.Window = &WindowInfo{Function: "LUT", Source: "voi_lut_sequence", Index: o.WindowIndex, Count: len(items)}
			top := float64(int64(1)<<uint(l.bits) - 1)
			out := make([]uint8, len(x))
			for i, v := range x {
				out[i] = clamp8(math.Round(float64(l.at(int64(math.Floor(v)))) * 255 / top))
			}
			return out, nil
		}
		cs, okc := decimals(f.ds, tag.WindowCenter)
		ws, okw := decimals(f.ds, tag.WindowWidth)
		if okc && okw {
			n := min(len(cs), len(ws))
			if o.WindowIndex >= n {
				return nil, errorf("--window-index %d: the file has %d window(s), numbered from 0", o.WindowIndex, n)
			}
			c, w := cs[o.WindowIndex], ws[o.WindowIndex]
			if fn == "LINEAR" && w < 1 || !(w > 0) {
				return nil, errorf("the file's window %d has width %g (want at least 1 for LINEAR, above 0 otherwise)", o.WindowIndex, w)
			}
			return apply(WindowInfo{Center: c, Width: w, Function: fn, Source: "file", Index: o.WindowIndex, Count: n})
		}
		if o.WindowIndex > 0 {
			return nil, errorf("--window-index %d: the file has no window", o.WindowIndex)
		}
		mode = VOIMinMax
	}
	switch mode {
	case VOIMinMax, VOIPercentile:
		a, b := minMax(x)
		if mode == VOIPercentile {
			a, b = percentile(x, 0.5), percentile(x, 99.5)
		}
		return apply(exactRange(a, b, string(mode)))
	}
	return apply(exactRange(lo, hi, string(VOINone)))
}

// exactRange is the LINEAR_EXACT window whose ends are a and b (a flat
// image maps to 0).
func exactRange(a, b float64, source string) WindowInfo {
	return WindowInfo{Center: (a + b) / 2, Width: b - a, Function: "LINEAR_EXACT", Source: source}
}

// window is the VOI window of PS3.3 C.11.2.1.2 onto ymin 0, ymax 255, rounded.
func window(x, c, w float64, fn string) uint8 {
	var y float64
	switch fn {
	case "LINEAR_EXACT":
		switch {
		case !(w > 0):
			return 0
		case x <= c-w/2:
			y = 0
		case x > c+w/2:
			y = 255
		default:
			y = ((x-c)/w + 0.5) * 255
		}
	case "SIGMOID":
		y = 255 / (1 + math.Exp(-4*(x-c)/w))
	default: // LINEAR
		switch {
		case x <= c-0.5-(w-1)/2:
			y = 0
		case x > c-0.5+(w-1)/2:
			y = 255
		default:
			y = ((x-(c-0.5))/(w-1) + 0.5) * 255
		}
	}
	return clamp8(math.Round(y))
}

func minMax(x []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// percentile is numpy's default (linear between closest ranks).
func percentile(x []float64, p float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	r := p / 100 * float64(len(s)-1)
	i := int(math.Floor(r))
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (r-float64(i))*(s[i+1]-s[i])
}

// palette maps PALETTE COLOR indices through the red, green and blue LUTs
// (PS3.3 C.7.6.3.1.5); 16-bit entries scale by 255 / 65535.
func (f *file) palette(s *samples, img *Image) (*Image, error) {
	if find(f.ds, tag.Tag{Group: 0x0028, Element: 0x1221}) != nil {
		return nil, errorf("segmented palette colour LUTs are not supported (convert it first: %s)", hintRaw)
	}
	var luts [3]*lut
	for c, t := range [][2]tag.Tag{
		{tag.RedPaletteColorLookupTableDescriptor, tag.RedPaletteColorLookupTableData},
		{tag.GreenPaletteColorLookupTableDescriptor, tag.GreenPaletteColorLookupTableData},
		{tag.BluePaletteColorLookupTableDescriptor, tag.BluePaletteColorLookupTableData},
	} {
		l, err := readLUT(find(f.ds, t[0]), find(f.ds, t[1]), false, "palette colour")
		if err != nil {
			return nil, err
		}
		luts[c] = l
	}
	for p, v := range s.v {
		for c, l := range luts {
			e := float64(l.at(v))
			if l.bits > 8 {
				e = math.Round(e * 255 / float64(int64(1)<<uint(l.bits)-1))
			}
			img.Pix[3*p+c] = clamp8(e)
		}
	}
	return img, nil
}

// ycbcrToRGB converts a decoded JPEG's YCbCr planes to RGB as libjpeg
// (and so Pillow, pydicom and dcmtk) does: subsampled chroma is upsampled
// with libjpeg's "fancy" triangle filter (jdsample.c), not replicated as
// image.YCbCr.At does, then YBR_FULL becomes RGB (PS3.3 C.7.6.3.1.2).
// Hand-written because image/jpeg offers only the nearest-neighbour
// conversion, which differs from the field's tools by tens of levels at
// colour edges.
func ycbcrToRGB(g *image.YCbCr) []int64 {
	return upsampleYCbCr(g, func(y, cb, cr int) (uint8, uint8, uint8) {
		return ybrFull(float64(y), float64(cb), float64(cr))
	})
}

// libjpegYCbCrToRGB is libjpeg's own YCbCr to RGB (jdcolor.c: 16-bit
// fixed point, rounded by adding one half), which Pillow applies to an RGB
// JPEG with an Adobe colour transform; pydicom keeps YBR_* JPEGs as YCbCr
// and converts them itself, as ycbcrToRGB does.
func libjpegYCbCrToRGB(g *image.YCbCr) []int64 {
	fix := func(x float64) int { return int(x*65536 + 0.5) }
	const half = 1 << 15
	return upsampleYCbCr(g, func(y, cb, cr int) (uint8, uint8, uint8) {
		cb, cr = cb-128, cr-128
		r := y + (fix(1.40200)*cr+half)>>16
		gg := y + (-fix(0.34414)*cb-fix(0.71414)*cr+half)>>16
		b := y + (fix(1.77200)*cb+half)>>16
		return clamp8(float64(r)), clamp8(float64(gg)), clamp8(float64(b))
	})
}

// jpegYCbCr wraps a decoded 8-bit three-component frame's planes as an
// image.YCbCr for the upsampling above.
func jpegYCbCr(jf *jpegFrame) (*image.YCbCr, error) {
	yc, cb, cr := jf.comps[0], jf.comps[1], jf.comps[2]
	if yc.h != jf.hmax || yc.v != jf.vmax || cb.h != cr.h || cb.v != cr.v {
		return nil, fmt.Errorf("JPEG chroma sampling %dx%d, %dx%d, %dx%d is not supported", yc.h, yc.v, cb.h, cb.v, cr.h, cr.v)
	}
	var ratio image.YCbCrSubsampleRatio
	switch [2]int{jf.hmax / cb.h, jf.vmax / cb.v} {
	case [2]int{1, 1}:
		ratio = image.YCbCrSubsampleRatio444
	case [2]int{2, 1}:
		ratio = image.YCbCrSubsampleRatio422
	case [2]int{2, 2}:
		ratio = image.YCbCrSubsampleRatio420
	case [2]int{1, 2}:
		ratio = image.YCbCrSubsampleRatio440
	default:
		return nil, fmt.Errorf("JPEG chroma sampling %dx%d, %dx%d, %dx%d is not supported", yc.h, yc.v, cb.h, cb.v, cr.h, cr.v)
	}
	if jf.hmax%cb.h != 0 || jf.vmax%cb.v != 0 {
		return nil, fmt.Errorf("JPEG chroma sampling %dx%d, %dx%d, %dx%d is not supported", yc.h, yc.v, cb.h, cb.v, cr.h, cr.v)
	}
	bytesOf := func(c *jpegComponent) []byte {
		b := make([]byte, len(c.plane))
		for i, v := range c.plane {
			b[i] = uint8(v)
		}
		return b
	}
	return &image.YCbCr{Y: bytesOf(yc), Cb: bytesOf(cb), Cr: bytesOf(cr), YStride: yc.stride, CStride: cb.stride,
		SubsampleRatio: ratio, Rect: image.Rect(0, 0, jf.width, jf.height)}, nil
}

// upsampleYCbCr upsamples g's chroma as libjpeg does and converts each
// pixel with conv.
func upsampleYCbCr(g *image.YCbCr, conv func(y, cb, cr int) (uint8, uint8, uint8)) []int64 {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	var hs, vs int // chroma subsampling factors
	switch g.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		hs, vs = 1, 1
	case image.YCbCrSubsampleRatio422:
		hs, vs = 2, 1
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		hs, vs = 1, 2
	default:
		hs, vs = 0, 0
	}
	cw := (w + max(hs, 1) - 1) / max(hs, 1)
	ch := (h + max(vs, 1) - 1) / max(vs, 1)
	plane := func(p []byte) []int {
		if hs == 0 {
			return nil
		}
		out := make([]int, w*h)
		at := func(x, y int) int {
			x, y = min(max(x, 0), cw-1), min(max(y, 0), ch-1)
			return int(p[y*g.CStride+x])
		}
		for y := 0; y < h; y++ {
			cy := y / vs
			// The nearer and the farther chroma row (jdsample.c h2v2: 3:1).
			near, far := cy, cy
			if vs == 2 {
				if y%2 == 0 {
					far = cy - 1
				} else {
					far = cy + 1
				}
			}
			for x := 0; x < w; x++ {
				cx := x / hs
				switch {
				case hs == 1 && vs == 1:
					out[y*w+x] = at(cx, cy)
				case hs == 2 && vs == 1:
					// h2v1_fancy_upsample: 3/4 nearer + 1/4 farther, rounded
					// up on odd and down on even outputs; the ends replicate.
					v := at(cx, cy) * 3
					switch {
					case x%2 == 0 && cx == 0, x%2 == 1 && cx == cw-1:
						out[y*w+x] = at(cx, cy)
					case x%2 == 0:
						out[y*w+x] = (v + at(cx-1, cy) + 1) >> 2
					default:
						out[y*w+x] = (v + at(cx+1, cy) + 2) >> 2
					}
				case hs == 1 && vs == 2:
					out[y*w+x] = (at(cx, near)*3 + at(cx, far) + 1 + y%2) >> 2
				default: // h2v2_fancy_upsample
					col := func(c int) int { return at(c, near)*3 + at(c, far) }
					this := col(cx)
					switch {
					case x%2 == 0 && cx == 0:
						out[y*w+x] = (this*4 + 8) >> 4
					case x%2 == 1 && cx == cw-1:
						out[y*w+x] = (this*4 + 7) >> 4
					case x%2 == 0:
						out[y*w+x] = (this*3 + col(cx-1) + 8) >> 4
					default:
						out[y*w+x] = (this*3 + col(cx+1) + 7) >> 4
					}
				}
			}
		}
		return out
	}
	cb, cr := plane(g.Cb), plane(g.Cr)
	out := make([]int64, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			yy := int(g.Y[g.YOffset(x+b.Min.X, y+b.Min.Y)])
			var u, v int
			if cb != nil {
				u, v = cb[i], cr[i]
			} else {
				c := g.COffset(x+b.Min.X, y+b.Min.Y)
				u, v = int(g.Cb[c]), int(g.Cr[c])
			}
			r, gg, bb := conv(yy, u, v)
			out[3*i], out[3*i+1], out[3*i+2] = int64(r), int64(gg), int64(bb)
		}
	}
	return out
}
