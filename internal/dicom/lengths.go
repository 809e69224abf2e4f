package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
)

// checkLengths walks a Part 10 file's element headers (PS3.5 7.1, 7.5) and
// refuses one whose value length runs past the end of its container. The
// parser allocates each value's length before reading it, so a corrupt
// length in a 10 KB file would otherwise ask for gigabytes.
func checkLengths(data []byte) error {
	if !Preamble(data) {
		return nil
	}
	body := data[132:]
	// The File Meta Information is Explicit VR Little Endian (PS3.10 7.1).
	n, ts, err := walkMeta(body)
	if err != nil {
		return err
	}
	rest := body[n:]
	switch ts {
	case "1.2.840.10008.1.2":
		return walk(rest, binary.LittleEndian, false, 0)
	case "1.2.840.10008.1.2.2":
		return walk(rest, binary.BigEndian, true, 0)
	case "1.2.840.10008.1.2.1.99":
		// Bounded inflation: a deflated dataset larger than 1 GiB is refused.
		inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(rest)), 1<<30))
		if err != nil {
			return fmt.Errorf("corrupt deflated dataset: %v", err)
		}
		return walk(inflated, binary.LittleEndian, true, 0)
	}
	return walk(rest, binary.LittleEndian, true, 0)
}

func walkMeta(b []byte) (int, string, error) {
	i, ts := 0, ""
	for i+8 <= len(b) && binary.LittleEndian.Uint16(b[i:]) == 0x0002 {
		el := binary.LittleEndian.Uint16(b[i+2:])
		hdr, vl, err := header(b[i:], binary.LittleEndian, true)
		if err != nil {
			return 0, "", err
		}
		if vl == undefined || int64(i+hdr)+int64(vl) > int64(len(b)) {
			return 0, "", lengthError(0x0002, el, vl)
		}
		if el == 0x0010 {
			ts = string(bytes.TrimRight(b[i+hdr:i+hdr+int(vl)], " \x00"))
		}
		i += hdr + int(vl)
	}
	return i, ts, nil
}

const undefined = 0xFFFFFFFF

// header is an element header's size and value length.
func header(b []byte, bo binary.ByteOrder, explicit bool) (int, uint32, error) {
	if len(b) < 8 {
		return 0, 0, fmt.Errorf("corrupt DICOM: an element header is cut short")
	}
	group := bo.Uint16(b)
	if !explicit || group == 0xFFFE { // items and delimiters have no VR
		return 8, bo.Uint32(b[4:]), nil
	}
	switch string(b[4:6]) {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		if len(b) < 12 {
			return 0, 0, fmt.Errorf("corrupt DICOM: an element header is cut short")
		}
		return 12, bo.Uint32(b[8:]), nil
	}
	return 8, uint32(bo.Uint16(b[6:])), nil
}

func lengthError(g, e uint16, vl uint32) error {
	return fmt.Errorf("corrupt DICOM: element (%04x,%04x) has length %d, past the end of the file", g, e, vl)
}

// walk checks the elements of b, and of every sequence and item inside,
// whatever their lengths; fragments of encapsulated pixel data are raw.
func walk(b []byte, bo binary.ByteOrder, explicit bool, depth int) error {
	n, err := walkUntil(b, bo, explicit, depth, false, false)
	if err == nil && n != len(b) && len(b)-n >= 8 {
		err = fmt.Errorf("corrupt DICOM: a sequence item does not end where its length says")
	}
	return err
}

var itemTag = [4]byte{0xFE, 0xFF, 0x00, 0xE0} // (FFFE,E000) little endian

// walkUntil returns the bytes read; with delimited, it stops after an
// Item or Sequence Delimitation Item; with fragments, items are raw bytes.
func walkUntil(b []byte, bo binary.ByteOrder, explicit bool, depth int, delimited, fragments bool) (int, error) {
	if depth > 32 {
		return 0, fmt.Errorf("corrupt DICOM: sequences nested more than 32 deep")
	}
	i := 0
	for i < len(b) {
		if len(b)-i < 8 {
			if delimited {
				return 0, fmt.Errorf("corrupt DICOM: a sequence has no end")
			}
			return i, nil // trailing padding
		}
		g, e := bo.Uint16(b[i:]), bo.Uint16(b[i+2:])
		hdr, vl, err := header(b[i:], bo, explicit)
		if err != nil {
			return 0, err
		}
		vr := ""
		if explicit && g != 0xFFFE {
			vr = string(b[i+4 : i+6])
		}
		i += hdr
		if g == 0xFFFE && (e == 0xE00D || e == 0xE0DD) {
			if delimited {
				return i, nil
			}
			continue
		}
		item := g == 0xFFFE && e == 0xE000
		if vl == undefined {
			// A UN of undefined length holds Implicit VR Little Endian (PS3.5 6.2.2).
			inner := explicit && vr != "UN"
			n, err := walkUntil(b[i:], bo, inner, depth+1, true, !item && g == 0x7FE0 && e == 0x0010)
			if err != nil {
				return 0, err
			}
			i += n
			continue
		}
		if int64(i)+int64(vl) > int64(len(b)) {
			return 0, lengthError(g, e, vl)
		}
		value := b[i : i+int(vl)]
		switch {
		case item && !fragments, vr == "SQ", !explicit && !item && len(value) >= 8 && bo == binary.LittleEndian && [4]byte(value[:4]) == itemTag:
			if err := walk(value, bo, explicit, depth+1); err != nil {
				return 0, err
			}
		}
		i += int(vl)
	}
	if delimited {
		return 0, fmt.Errorf("corrupt DICOM: a sequence has no end")
	}
	return i, nil
}
