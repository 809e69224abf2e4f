package dicom

// A JPEG decoder for DICOM's encapsulated frames (ITU T.81 | ISO/IEC 10918-1):
// sequential DCT with Huffman coding, 8 and 12-bit (processes 1, 2 and 4),
// and lossless with Huffman coding (process 14, predictors 1-7, point
// transform).
//
// Why the project has its own decoder rather than Go's image/jpeg:
//   - parity with the field's tools: pydicom (through Pillow), dcmtk and gdcm
//     all decode with libjpeg, whose default integer IDCT ("islow") rounds
//     differently from image/jpeg's; T.81 lets decoders differ so, but the
//     issue asks for the pixels radiologists' tools show, within 1 grey
//     level. This IDCT follows the same factorisation (Loeffler, Ligtenberg
//     and Moschytz, 1989) with the same 13-bit fixed-point constants and
//     scaling, so it reproduces libjpeg's results exactly;
//   - 12-bit extended JPEG and lossless JPEG, common in DICOM and refused
//     by image/jpeg.
// Progressive, hierarchical and arithmetic-coded streams are refused with
// jpegUnsupported; the caller falls back to image/jpeg for 8-bit ones.

import (
	"errors"
	"fmt"
)

// jpegUnsupported is a stream feature this decoder does not implement.
type jpegUnsupported string

func (e jpegUnsupported) Error() string { return "unsupported JPEG feature: " + string(e) }

var errJPEGData = errors.New("entropy-coded data ends early")

// jpegComponent is one colour component of a frame and its decoded samples.
type jpegComponent struct {
	id, h, v, tq int
	w, hgt       int      // its own size: ceil(X*h/hmax) x ceil(Y*v/vmax) (T.81 A.1.1)
	stride       int      // of plane
	plane        []uint16 // samples, stride x (block rows * 8) for DCT frames
	coef         [64]int16
	dcPred       int
	td, ta       int
	scanned      bool // a scan has decoded it
}

// jpegFrame is a decoded JPEG frame.
type jpegFrame struct {
	precision      int
	width, height  int
	lossless       bool
	comps          []*jpegComponent
	hmax, vmax     int
	adobeTransform int // APP14 "Adobe" colour transform, -1 when absent
}

type huffTable struct {
	maxcode [18]int32
	mincode [17]int32
	valptr  [17]int32
	vals    []byte
	defined bool
}

// build makes the decoding tables of T.81 F.2.2.3 (Figure F.15) from BITS and HUFFVAL.
func (t *huffTable) build(bits [17]int, vals []byte) error {
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		if bits[l] == 0 {
			t.maxcode[l] = -1
		} else {
			t.valptr[l] = int32(k)
			t.mincode[l] = code
			code += int32(bits[l])
			k += bits[l]
			t.maxcode[l] = code - 1
		}
		if code > 1<<uint(l) {
			return fmt.Errorf("bad Huffman table (code lengths overflow)")
		}
		code <<= 1
	}
	t.maxcode[17] = 1 << 30 // sentinel
	t.vals = vals
	t.defined = true
	return nil
}

type jpegDecoder struct {
	data    []byte
	pos     int
	bits    uint32
	nbits   int
	marker  bool // an entropy-coded segment ended at a marker
	quant   [4][64]int32
	qset    [4]bool
	dc, ac  [4]huffTable
	restart int
	frame   *jpegFrame

	maxPixels int
}

// zigzag maps the zig-zag sequence to natural (row-major) order (T.81 Figure A.6).
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// decodeJPEG decodes one JPEG interchange-format stream of at most
// maxPixels pixels (the dataset's Rows x Columns: a header claiming more is
// refused before anything is allocated).
func decodeJPEG(data []byte, maxPixels int) (*jpegFrame, error) {
	d := &jpegDecoder{data: data, maxPixels: maxPixels}
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, fmt.Errorf("no JPEG start of image marker")
	}
	d.pos = 2
	adobe := -1
	scans := 0
	for {
		m, err := d.nextMarker()
		if err != nil {
			if d.frame != nil && scans > 0 {
				break // no EOI after the last scan: the samples are whole
			}
			return nil, err
		}
		switch {
		case m == 0xD9: // EOI
			if d.frame == nil || scans == 0 {
				return nil, fmt.Errorf("JPEG stream has no image")
			}
			d.frame.adobeTransform = adobe
			return d.frame, d.whole()
		case m == 0xD8 || m >= 0xD0 && m <= 0xD7 || m == 0x01:
			continue // standalone markers (RSTn outside a scan, TEM)
		}
		seg, err := d.segment()
		if err != nil {
			return nil, err
		}
		switch {
		case m == 0xC0 || m == 0xC1 || m == 0xC3:
			if d.frame != nil {
				return nil, jpegUnsupported("several frames")
			}
			if err := d.sof(seg, m == 0xC3); err != nil {
				return nil, err
			}
		case m == 0xC2:
			return nil, jpegUnsupported("progressive DCT")
		case m >= 0xC5 && m <= 0xC7 || m == 0xDE || m == 0xDF:
			return nil, jpegUnsupported("hierarchical")
		case m >= 0xC9 && m <= 0xCB || m >= 0xCD && m <= 0xCF || m == 0xCC:
			return nil, jpegUnsupported("arithmetic coding")
		case m == 0xC4:
			if err := d.dht(seg); err != nil {
				return nil, err
			}
		case m == 0xDB:
			if err := d.dqt(seg); err != nil {
				return nil, err
			}
		case m == 0xDD:
			if len(seg) < 2 {
				return nil, fmt.Errorf("short DRI segment")
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xDC:
			return nil, jpegUnsupported("DNL marker")
		case m == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				adobe = int(seg[11])
			}
		case m == 0xDA:
			if d.frame == nil {
				return nil, fmt.Errorf("scan before the frame header")
			}
			if err := d.scan(seg); err != nil {
				return nil, err
			}
			scans++
		}
		// APPn, COM and other segments are skipped.
	}
	d.frame.adobeTransform = adobe
	return d.frame, d.whole()
}

// whole checks that every component was in a scan: a stream cut after
// its first scans is an error, not an image with blank components.
func (d *jpegDecoder) whole() error {
	for _, c := range d.frame.comps {
		if !c.scanned {
			return fmt.Errorf("JPEG component %d is in no scan", c.id)
		}
	}
	return nil
}

// nextMarker reads a marker, skipping fill bytes 0xFF (T.81 B.1.1.2).
func (d *jpegDecoder) nextMarker() (byte, error) {
	for {
		for d.pos < len(d.data) && d.data[d.pos] != 0xFF {
			d.pos++ // bytes outside segments: skipped as libjpeg does
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			return 0, fmt.Errorf("JPEG stream ends before its end of image marker")
		}
		m := d.data[d.pos]
		d.pos++
		if m != 0 { // 0xFF00 is a stuffed byte, not a marker
			return m, nil
		}
	}
}

func (d *jpegDecoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, fmt.Errorf("truncated JPEG segment")
	}
	n := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	if n < 2 || d.pos+n > len(d.data) {
		return nil, fmt.Errorf("JPEG segment length %d runs past the data", n)
	}
	seg := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return seg, nil
}

// sof reads a frame header (T.81 B.2.2).
func (d *jpegDecoder) sof(seg []byte, lossless bool) error {
	if len(seg) < 6 {
		return fmt.Errorf("short frame header")
	}
	f := &jpegFrame{precision: int(seg[0]), height: int(seg[1])<<8 | int(seg[2]), width: int(seg[3])<<8 | int(seg[4]), lossless: lossless}
	n := int(seg[5])
	switch {
	case lossless && (f.precision < 2 || f.precision > 16):
		return fmt.Errorf("lossless JPEG precision %d (want 2 to 16)", f.precision)
	case !lossless && f.precision != 8 && f.precision != 12:
		return fmt.Errorf("JPEG precision %d (want 8 or 12)", f.precision)
	case f.width == 0 || f.height == 0:
		return jpegUnsupported("image height from a DNL marker")
	case f.width*f.height > d.maxPixels:
		return fmt.Errorf("JPEG frame is %dx%d, more pixels than the dataset's %d", f.width, f.height, d.maxPixels)
	case n != 1 && n != 3:
		return fmt.Errorf("JPEG frame with %d components (want 1 or 3)", n)
	case len(seg) < 6+3*n:
		return fmt.Errorf("short frame header")
	}
	for i := 0; i < n; i++ {
		c := &jpegComponent{id: int(seg[6+3*i]), h: int(seg[7+3*i] >> 4), v: int(seg[7+3*i] & 15), tq: int(seg[8+3*i])}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return fmt.Errorf("bad component sampling or table in the frame header")
		}
		if lossless && (c.h != 1 || c.v != 1) && n > 1 {
			return jpegUnsupported("subsampled lossless JPEG")
		}
		f.hmax, f.vmax = max(f.hmax, c.h), max(f.vmax, c.v)
		f.comps = append(f.comps, c)
	}
	mcuW, mcuH := 8*f.hmax, 8*f.vmax
	if lossless {
		mcuW, mcuH = f.hmax, f.vmax
	}
	mcusX, mcusY := (f.width+mcuW-1)/mcuW, (f.height+mcuH-1)/mcuH
	for _, c := range f.comps {
		c.w = (f.width*c.h + f.hmax - 1) / f.hmax
		c.hgt = (f.height*c.v + f.vmax - 1) / f.vmax
		bw, bh := mcusX*c.h*mcuW/f.hmax, mcusY*c.v*mcuH/f.vmax
		c.stride = bw
		c.plane = make([]uint16, bw*bh)
	}
	d.frame = f
	return nil
}

// dqt reads quantisation tables (T.81 B.2.4.1).
func (d *jpegDecoder) dqt(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 || pq > 1 {
			return fmt.Errorf("bad quantisation table header")
		}
		n := 64 * int(pq+1)
		if len(seg) < 1+n {
			return fmt.Errorf("short quantisation table")
		}
		for k := 0; k < 64; k++ {
			if pq == 0 {
				d.quant[tq][zigzag[k]] = int32(seg[1+k])
			} else {
				d.quant[tq][zigzag[k]] = int32(seg[1+2*k])<<8 | int32(seg[2+2*k])
			}
		}
		d.qset[tq] = true
		seg = seg[1+n:]
	}
	return nil
}

// dht reads Huffman tables (T.81 B.2.4.2).
func (d *jpegDecoder) dht(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return fmt.Errorf("short Huffman table")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return fmt.Errorf("bad Huffman table header")
		}
		var bits [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			bits[l] = int(seg[l])
			total += bits[l]
		}
		if total > 256 || len(seg) < 17+total {
			return fmt.Errorf("short Huffman table")
		}
		vals := append([]byte(nil), seg[17:17+total]...)
		t := &d.dc[th]
		if tc == 1 {
			t = &d.ac[th]
		}
		if err := t.build(bits, vals); err != nil {
			return err
		}
		seg = seg[17+total:]
	}
	return nil
}

// bit reads one bit of entropy-coded data, undoing byte stuffing (T.81 F.1.2.3).
// A marker ends the data: reading past it is an error, as a valid stream
// never needs the fill bits.
func (d *jpegDecoder) bit() (int, error) {
	if d.nbits == 0 {
		if d.marker || d.pos >= len(d.data) {
			return 0, errJPEGData
		}
		b := d.data[d.pos]
		if b == 0xFF {
			if d.pos+1 >= len(d.data) {
				return 0, errJPEGData
			}
			if nb := d.data[d.pos+1]; nb != 0 {
				d.marker = true
				return 0, errJPEGData
			}
			d.pos++
		}
		d.pos++
		d.bits, d.nbits = uint32(b), 8
	}
	d.nbits--
	return int(d.bits>>uint(d.nbits)) & 1, nil
}

func (d *jpegDecoder) receive(s int) (int32, error) {
	v := int32(0)
	for i := 0; i < s; i++ {
		b, err := d.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | int32(b)
	}
	return v, nil
}

// extend is T.81 F.2.2.1 (Figure F.12).
func extend(v int32, s int) int32 {
	if s == 0 {
		return 0
	}
	if v < 1<<uint(s-1) {
		v += -1<<uint(s) + 1
	}
	return v
}

// decodeHuff is the DECODE procedure of T.81 F.2.2.3 (Figure F.16).
func (d *jpegDecoder) decodeHuff(t *huffTable) (int, error) {
	b, err := d.bit()
	if err != nil {
		return 0, err
	}
	code, l := int32(b), 1
	for code > t.maxcode[l] {
		if l == 16 {
			return 0, fmt.Errorf("bad Huffman code")
		}
		b, err := d.bit()
		if err != nil {
			return 0, err
		}
		code = code<<1 | int32(b)
		l++
	}
	j := t.valptr[l] + code - t.mincode[l]
	if int(j) >= len(t.vals) {
		return 0, fmt.Errorf("bad Huffman code")
	}
	return int(t.vals[j]), nil
}

// scan decodes one scan (T.81 B.2.3, then Annex F or H).
func (d *jpegDecoder) scan(seg []byte) error {
	f := d.frame
	if len(seg) < 1 {
		return fmt.Errorf("short scan header")
	}
	n := int(seg[0])
	if n < 1 || n > len(f.comps) || len(seg) < 1+2*n+3 {
		return fmt.Errorf("bad scan header")
	}
	var comps []*jpegComponent
	for i := 0; i < n; i++ {
		id := int(seg[1+2*i])
		var c *jpegComponent
		for _, fc := range f.comps {
			if fc.id == id {
				c = fc
			}
		}
		if c == nil {
			return fmt.Errorf("scan names component %d, not in the frame", id)
		}
		c.td, c.ta = int(seg[2+2*i]>>4), int(seg[2+2*i]&15)
		if c.td > 3 || c.ta > 3 || !d.dc[c.td].defined || (!f.lossless && !d.ac[c.ta].defined) {
			return fmt.Errorf("scan uses an undefined Huffman table")
		}
		if !f.lossless && !d.qset[c.tq] {
			return fmt.Errorf("scan uses an undefined quantisation table")
		}
		comps = append(comps, c)
	}
	ss, al := int(seg[1+2*n]), int(seg[3+2*n]&15)
	// A sequential scan's Ss, Se, Ah and Al should be 0, 63, 0, 0; libjpeg
	// warns and decodes anyway (pydicom's JPEG-lossy.dcm has others), so do we.
	d.bits, d.nbits, d.marker = 0, 0, false
	for _, c := range comps {
		c.dcPred = 0
	}
	var err error
	if f.lossless {
		err = d.losslessScan(comps, ss, al)
	} else {
		err = d.dctScan(comps)
	}
	if err != nil {
		return err
	}
	for _, c := range comps {
		c.scanned = true
	}
	return nil
}

// restartMarker consumes the RSTn marker that ends a restart interval (T.81 E.2.4).
func (d *jpegDecoder) restartMarker() error {
	d.bits, d.nbits, d.marker = 0, 0, false
	for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
		d.pos++
	}
	if d.pos >= len(d.data) || d.data[d.pos] < 0xD0 || d.data[d.pos] > 0xD7 {
		return fmt.Errorf("restart marker missing")
	}
	d.pos++
	return nil
}

func (d *jpegDecoder) dctScan(comps []*jpegComponent) error {
	f := d.frame
	var mcusX, mcusY int
	if len(comps) == 1 {
		// A non-interleaved scan covers the component's own blocks (T.81 A.2.2).
		c := comps[0]
		mcusX, mcusY = (c.w+7)/8, (c.hgt+7)/8
	} else {
		mcusX, mcusY = (f.width+8*f.hmax-1)/(8*f.hmax), (f.height+8*f.vmax-1)/(8*f.vmax)
	}
	for m := 0; m < mcusX*mcusY; m++ {
		if d.restart > 0 && m > 0 && m%d.restart == 0 {
			if err := d.restartMarker(); err != nil {
				return err
			}
			for _, c := range comps {
				c.dcPred = 0
			}
		}
		mx, my := m%mcusX, m/mcusX
		for _, c := range comps {
			bh, bv := c.h, c.v
			if len(comps) == 1 {
				bh, bv = 1, 1
			}
			for by := 0; by < bv; by++ {
				for bx := 0; bx < bh; bx++ {
					if err := d.block(c); err != nil {
						return err
					}
					x0, y0 := (mx*bh+bx)*8, (my*bv+by)*8
					idctIslow(&c.coef, &d.quant[c.tq], f.precision, c.plane[y0*c.stride+x0:], c.stride)
				}
			}
		}
	}
	return nil
}

// block decodes one 8x8 block's coefficients (T.81 F.2.2.1, F.2.2.2).
func (d *jpegDecoder) block(c *jpegComponent) error {
	c.coef = [64]int16{}
	s, err := d.decodeHuff(&d.dc[c.td])
	if err != nil {
		return err
	}
	if s > 16 {
		return fmt.Errorf("bad DC difference category %d", s)
	}
	v, err := d.receive(s)
	if err != nil {
		return err
	}
	c.dcPred += int(extend(v, s))
	c.coef[0] = int16(c.dcPred) // libjpeg keeps coefficients as 16-bit JCOEF
	for k := 1; k < 64; k++ {
		rs, err := d.decodeHuff(&d.ac[c.ta])
		if err != nil {
			return err
		}
		r, s := rs>>4, rs&15
		if s == 0 {
			if r != 15 {
				break // EOB
			}
			k += 15 // ZRL
			continue
		}
		k += r
		if k > 63 {
			return fmt.Errorf("AC coefficient past the block")
		}
		v, err := d.receive(s)
		if err != nil {
			return err
		}
		c.coef[zigzag[k]] = int16(extend(v, s))
	}
	return nil
}

// The islow IDCT's fixed-point constants: round(x * 2^13).
const (
	idctConstBits  = 13
	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// idct1D is the Loeffler-Ligtenberg-Moschytz 8-point inverse DCT in
// 13-bit fixed point, computed as libjpeg's jpeg_idct_islow does: the 8
// inputs of a column or row in, its 8 outputs, not yet descaled, out.
func idct1D(i0, i1, i2, i3, i4, i5, i6, i7 int64) (o [8]int64) {
	// Even part: the rotator is sqrt(2)*c(-6).
	z1 := (i2 + i6) * fix0_541196100
	tmp2 := z1 + i6*-fix1_847759065
	tmp3 := z1 + i2*fix0_765366865
	tmp0 := (i0 + i4) << idctConstBits
	tmp1 := (i0 - i4) << idctConstBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
	// Odd part.
	t0, t1, t2, t3 := i7, i5, i3, i1
	z1, z2, z3, z4 := t0+t3, t1+t2, t0+t2, t1+t3
	z5 := (z3 + z4) * fix1_175875602
	t0 *= fix0_298631336
	t1 *= fix2_053119869
	t2 *= fix3_072711026
	t3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4
	return [8]int64{tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3}
}

// idctIslow dequantises one block and writes its 8x8 samples, level
// shifted and range limited, to out (stride apart). Columns first, with
// PASS1_BITS of extra precision (2 for 8-bit, 1 for 12-bit), then rows.
func idctIslow(coef *[64]int16, q *[64]int32, precision int, out []uint16, stride int) {
	pass1 := uint(2)
	if precision == 12 {
		pass1 = 1
	}
	var ws [64]int32 // libjpeg's int workspace
	for x := 0; x < 8; x++ {
		in := func(k int) int64 { return int64(int32(coef[8*k+x]) * q[8*k+x]) }
		o := idct1D(in(0), in(1), in(2), in(3), in(4), in(5), in(6), in(7))
		for k := 0; k < 8; k++ {
			ws[8*k+x] = int32(descale(o[k], idctConstBits-pass1))
		}
	}
	maxv := int64(1)<<uint(precision) - 1
	center := int64(1) << uint(precision-1)
	mask := 4*(maxv+1) - 1
	for y := 0; y < 8; y++ {
		w := ws[8*y : 8*y+8]
		o := idct1D(int64(w[0]), int64(w[1]), int64(w[2]), int64(w[3]), int64(w[4]), int64(w[5]), int64(w[6]), int64(w[7]))
		for k := 0; k < 8; k++ {
			// libjpeg's range limiting: the descaled value is masked to
			// 4*(MAX+1) entries of a table that clamps [-2(MAX+1), 2(MAX+1))
			// to [0, MAX] after the level shift, and wraps beyond.
			j := int64(int32(descale(o[k], idctConstBits+pass1+3))) & mask
			if j >= 2*(maxv+1) {
				j -= 4 * (maxv + 1)
			}
			out[y*stride+k] = uint16(min(max(j+center, 0), maxv))
		}
	}
}

// losslessScan decodes a process 14 scan (T.81 Annex H): each sample is a
// prediction from its decoded neighbours plus a Huffman-coded difference.
func (d *jpegDecoder) losslessScan(comps []*jpegComponent, predictor, pt int) error {
	f := d.frame
	if predictor < 1 || predictor > 7 {
		return fmt.Errorf("lossless JPEG predictor %d (want 1 to 7)", predictor)
	}
	if pt >= f.precision {
		return fmt.Errorf("lossless JPEG point transform %d for precision %d", pt, f.precision)
	}
	w, h := f.width, f.height
	if len(comps) == 1 {
		w, h = comps[0].w, comps[0].hgt
	}
	initial := int32(1) << uint(f.precision-pt-1)
	first := true // the first line of the scan or of a restart interval (H.1.2.1)
	m := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if d.restart > 0 && m > 0 && m%d.restart == 0 {
				if err := d.restartMarker(); err != nil {
					return err
				}
				first = true
				if x != 0 {
					return jpegUnsupported("lossless restart interval that is not whole lines")
				}
			}
			m++
			for _, c := range comps {
				p := c.plane
				s := c.stride
				var px int32
				at := func(xx, yy int) int32 { return int32(p[yy*s+xx]) }
				switch {
				case first && x == 0:
					px = initial
				case first:
					px = at(x-1, y)
				case x == 0:
					px = at(x, y-1)
				default:
					ra, rb, rc := at(x-1, y), at(x, y-1), at(x-1, y-1)
					switch predictor {
					case 1:
						px = ra
					case 2:
						px = rb
					case 3:
						px = rc
					case 4:
						px = ra + rb - rc
					case 5:
						px = ra + (rb-rc)>>1
					case 6:
						px = rb + (ra-rc)>>1
					case 7:
						px = (ra + rb) >> 1
					}
				}
				sz, err := d.decodeHuff(&d.dc[c.td])
				if err != nil {
					return err
				}
				var diff int32
				switch {
				case sz == 16:
					diff = 32768 // T.81 H.1.2.2: no additional bits
				case sz > 16:
					return fmt.Errorf("bad lossless difference category %d", sz)
				default:
					v, err := d.receive(sz)
					if err != nil {
						return err
					}
					diff = extend(v, sz)
				}
				p[y*s+x] = uint16((px + diff) & 0xFFFF)
			}
		}
		first = false
	}
	if pt > 0 {
		for _, c := range comps {
			for i := range c.plane {
				c.plane[i] <<= uint(pt)
			}
		}
	}
	return nil
}
