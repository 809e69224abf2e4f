// Package dicom turns a DICOM Part 10 file into 8-bit RGB display pixels
// the way the field's viewers do (modality LUT → VOI → MONOCHROME1
// inversion, PS3.3 C.11), and into a record of how it did so that holds no
// patient or study identifier.
//
// Parsing the dataset (explicit/implicit VR, little/big endian, deflate,
// encapsulated fragments) is github.com/suyashkumar/dicom's; the pixel
// data is taken raw from it and converted here, because the library's
// native frames ignore Bits Stored, High Bit, Pixel Representation, Planar
// Configuration and photometric interpretation, and it decodes no RLE.
package dicom

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/convis/convis/internal/errtext"
)

// VOIMode says where the window comes from (PS3.3 C.11.2).
type VOIMode string

const (
	// VOIStored uses the file's VOI LUT Sequence or Window Center/Width
	// (the K-th with WindowIndex), and VOIMinMax when it has neither. The default.
	VOIStored VOIMode = "stored"
	// VOIMinMax stretches the frame's own modality-value range.
	VOIMinMax VOIMode = "minmax"
	// VOIPercentile stretches the frame's 0.5th to 99.5th percentile.
	VOIPercentile VOIMode = "percentile"
	// VOINone maps the whole range the stored bits can hold, after the
	// modality LUT, linearly: no window at all.
	VOINone VOIMode = "none"
)

// VOIModes are the accepted --voi values.
var VOIModes = []VOIMode{VOIStored, VOIMinMax, VOIPercentile, VOINone}

// Window is a VOI window centre and width, in modality units.
type Window struct{ Center, Width float64 }

// FrameAll asks for every frame (the caller splits the file, see Frames).
const FrameAll = -1

// Options say how a DICOM image becomes display pixels.
type Options struct {
	WindowIndex int     // which of the file's windows (or VOI LUTs): 0 is the first
	Window      *Window // set: this window instead of the file's
	VOI         VOIMode // "": VOIStored
	Frame       int     // the frame to decode, from 0
	KeepUIDs    bool    // record the SOP Instance UID
}

// Check reports an option that cannot work on any file.
func (o Options) Check() error {
	switch o.VOI {
	case "", VOIStored, VOIMinMax, VOIPercentile, VOINone:
	default:
		return fmt.Errorf("--voi %q: want stored, minmax, percentile or none", o.VOI)
	}
	if o.WindowIndex < 0 {
		return fmt.Errorf("--window-index %d: want 0 or more", o.WindowIndex)
	}
	if o.Window != nil && !(o.Window.Width > 0) {
		return fmt.Errorf("--window %g,%g: the width must be positive", o.Window.Center, o.Window.Width)
	}
	if o.Frame < 0 {
		return fmt.Errorf("frame %d: want 0 or more", o.Frame)
	}
	return nil
}

// WindowInfo is the VOI transform applied.
type WindowInfo struct {
	Center   float64 `json:"center"`
	Width    float64 `json:"width"`
	Function string  `json:"function"` // LINEAR, LINEAR_EXACT, SIGMOID, or LUT for a VOI LUT Sequence
	// Source says where it came from: "file" (Window Center/Width), "voi_lut_sequence",
	// "option" (--window), "minmax", "percentile" (0.5–99.5) or "none".
	Source string `json:"source"`
	Index  int    `json:"index"` // which of the file's windows or VOI LUTs (Source file or voi_lut_sequence)
	Count  int    `json:"count"` // how many the file has
}

// Info is how a DICOM image was decoded. It holds only fields that do not
// identify a patient or a study (no names, IDs, dates, institutions,
// accession numbers; the SOP Instance UID only with Options.KeepUIDs).
type Info struct {
	TransferSyntax      string      `json:"transfer_syntax"`
	TransferSyntaxName  string      `json:"transfer_syntax_name"`
	Modality            string      `json:"modality,omitempty"`
	Photometric         string      `json:"photometric_interpretation"`
	Rows                int         `json:"rows"`
	Columns             int         `json:"columns"`
	SamplesPerPixel     int         `json:"samples_per_pixel"`
	BitsAllocated       int         `json:"bits_allocated"`
	BitsStored          int         `json:"bits_stored"`
	HighBit             int         `json:"high_bit"`
	Signed              bool        `json:"signed"` // Pixel Representation 1
	PlanarConfiguration int         `json:"planar_configuration"`
	Frames              int         `json:"frames"`
	Frame               int         `json:"frame"`
	RescaleSlope        float64     `json:"rescale_slope"`
	RescaleIntercept    float64     `json:"rescale_intercept"`
	RescaleType         string      `json:"rescale_type,omitempty"`
	ModalityLUT         bool        `json:"modality_lut_sequence,omitempty"` // applied instead of the rescale
	Window              *WindowInfo `json:"window,omitempty"`                // nil for colour images (VOI is for grey, PS3.3 C.11.2)
	Inverted            bool        `json:"inverted,omitempty"`              // MONOCHROME1, inverted after VOI
	PixelSpacing        []float64   `json:"pixel_spacing,omitempty"`         // mm, row then column spacing
	SOPInstanceUID      string      `json:"sop_instance_uid,omitempty"`      // only with --keep-uids
}

// Image is decoded display pixels: W×H, 3 bytes per pixel.
type Image struct {
	W, H int
	Pix  []uint8
}

// Error is a file that cannot be decoded; Msg never carries a value of
// the dataset other than its image attributes.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, a ...any) error { return &Error{fmt.Sprintf(format, a...)} }

// Preamble reports whether data starts like a DICOM Part 10 file: a
// 128-byte preamble then "DICM" (PS3.10 7.1).
func Preamble(data []byte) bool {
	return len(data) >= 132 && string(data[128:132]) == "DICM"
}

// file is a parsed dataset with the attributes decoding needs.
type file struct {
	ds     dcm.Dataset
	ts     syntax
	rows   int
	cols   int
	spp    int
	alloc  int
	stored int
	high   int
	signed bool
	planar int
	frames int
	photo  string
	pixels dcm.PixelDataInfo
	pixVR  string
}

// parse reads the dataset. The parser panics on some malformed files
// (its Must* accessors): that is a corrupt file, not a crash of the batch.
func parse(data []byte) (f *file, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, errorf("corrupt DICOM (the parser failed: %s)", errtext.Truncate(errtext.OneLine(fmt.Sprint(r)), 200))
		}
	}()
	if !Preamble(data) {
		return nil, errorf("not a DICOM Part 10 file (no DICM preamble at byte 128)")
	}
	if err := checkLengths(data); err != nil {
		return nil, &Error{err.Error()}
	}
	ds, err := dcm.Parse(bytes.NewReader(data), int64(len(data)), nil,
		dcm.SkipProcessingPixelDataValue(), dcm.AllowUnknownSpecificCharacterSet(), dcm.AllowMissingMetaElementGroupLength())
	if err != nil {
		return nil, errorf("corrupt DICOM: %s", errtext.Truncate(errtext.OneLine(err.Error()), 200))
	}
	f = &file{ds: ds}
	tsUID := str(ds, tag.TransferSyntaxUID)
	ts, ok := syntaxes[tsUID]
	if !ok {
		return nil, errorf("transfer syntax %s is not supported (convert it first: gdcmconv --raw IN OUT)", tsUID)
	}
	f.ts = ts
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		return nil, errorf("no pixel data (not an image: SOP class %s)", str(ds, tag.SOPClassUID))
	}
	if pe.Value.ValueType() != dcm.PixelData {
		return nil, errorf("pixel data of an unexpected kind")
	}
	f.pixels = dcm.MustGetPixelDataInfo(pe.Value)
	f.pixVR = pe.RawValueRepresentation
	f.rows, f.cols = integer(ds, tag.Rows, 0), integer(ds, tag.Columns, 0)
	f.spp = integer(ds, tag.SamplesPerPixel, 1)
	f.alloc = integer(ds, tag.BitsAllocated, 0)
	f.stored = integer(ds, tag.BitsStored, f.alloc)
	f.high = integer(ds, tag.HighBit, f.stored-1)
	f.signed = integer(ds, tag.PixelRepresentation, 0) == 1
	f.planar = integer(ds, tag.PlanarConfiguration, 0)
	f.frames = 1
	if s := str(ds, tag.NumberOfFrames); s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, errorf("Number of Frames %q is not a positive integer", s)
		}
		f.frames = n
	}
	f.photo = strings.ToUpper(strings.TrimSpace(str(ds, tag.PhotometricInterpretation)))
	if f.rows <= 0 || f.cols <= 0 {
		return nil, errorf("image has no pixels (%dx%d)", f.cols, f.rows)
	}
	switch f.alloc {
	case 1, 8, 16, 32:
	default:
		return nil, errorf("Bits Allocated %d is not supported (want 1, 8, 16 or 32)", f.alloc)
	}
	if f.stored < 1 || f.stored > f.alloc || f.high != f.stored-1 && (f.high < f.stored-1 || f.high >= f.alloc) {
		return nil, errorf("Bits Stored %d / High Bit %d do not fit Bits Allocated %d", f.stored, f.high, f.alloc)
	}
	switch {
	case f.spp == 1 && (f.photo == "MONOCHROME1" || f.photo == "MONOCHROME2" || f.photo == "PALETTE COLOR"):
	case f.spp == 3 && (f.photo == "RGB" || f.photo == "YBR_FULL" || f.photo == "YBR_FULL_422"):
	case f.spp == 3 && (f.photo == "YBR_ICT" || f.photo == "YBR_RCT") && ts.kind == kindJPEG2000:
		// refused below with the conversion hint
	default:
		return nil, errorf("photometric interpretation %q with %d samples per pixel is not supported", f.photo, f.spp)
	}
	if f.spp == 3 && f.alloc != 8 && f.alloc != 16 {
		return nil, errorf("colour with Bits Allocated %d is not supported", f.alloc)
	}
	return f, nil
}

// Frames is the number of frames of a DICOM file.
func Frames(data []byte) (int, error) {
	f, err := parse(data)
	if err != nil {
		return 0, err
	}
	return f.frames, nil
}

// Decode turns one frame of a DICOM file into display pixels.
func Decode(data []byte, o Options) (img *Image, info *Info, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, info, err = nil, nil, errorf("corrupt DICOM: %s", errtext.Truncate(errtext.OneLine(fmt.Sprint(r)), 200))
		}
	}()
	return decode(data, o)
}

func decode(data []byte, o Options) (*Image, *Info, error) {
	if err := o.Check(); err != nil {
		return nil, nil, errorf("%v", err)
	}
	f, err := parse(data)
	if err != nil {
		return nil, nil, err
	}
	info := f.info(o)
	if o.Frame >= f.frames {
		return nil, nil, errorf("frame %d does not exist (the file has %d frame(s), numbered from 0)", o.Frame, f.frames)
	}
	if f.ts.kind == kindJPEG2000 || f.ts.kind == kindJPEGLS || f.ts.kind == kindUnsupported {
		return nil, nil, errorf("transfer syntax %s (%s) is not decoded by convis; convert it first: %s", f.ts.uid, f.ts.name, f.ts.hint)
	}
	samples, err := f.frameSamples(o.Frame)
	if err != nil {
		return nil, nil, err
	}
	img, err := f.display(samples, o, info)
	if err != nil {
		return nil, nil, err
	}
	return img, info, nil
}

func (f *file) info(o Options) *Info {
	in := &Info{
		TransferSyntax: f.ts.uid, TransferSyntaxName: f.ts.name, Modality: str(f.ds, tag.Modality), Photometric: f.photo,
		Rows: f.rows, Columns: f.cols, SamplesPerPixel: f.spp, BitsAllocated: f.alloc, BitsStored: f.stored, HighBit: f.high,
		Signed: f.signed, PlanarConfiguration: f.planar, Frames: f.frames, Frame: o.Frame,
		RescaleSlope: 1, RescaleType: str(f.ds, tag.RescaleType),
	}
	if v, ok := decimal(f.ds, tag.RescaleSlope, 0); ok {
		in.RescaleSlope = v
	}
	if v, ok := decimal(f.ds, tag.RescaleIntercept, 0); ok {
		in.RescaleIntercept = v
	}
	if ps, ok := decimals(f.ds, tag.PixelSpacing); ok && len(ps) == 2 {
		in.PixelSpacing = ps
	}
	if o.KeepUIDs {
		in.SOPInstanceUID = str(f.ds, tag.SOPInstanceUID)
	}
	return in
}

// Attribute access. Values are read for image attributes only.

func find(ds dcm.Dataset, t tag.Tag) *dcm.Element {
	e, err := ds.FindElementByTag(t)
	if err != nil {
		return nil
	}
	return e
}

func findIn(elems []*dcm.Element, t tag.Tag) *dcm.Element {
	for _, e := range elems {
		if e.Tag == t {
			return e
		}
	}
	return nil
}

func elemStrings(e *dcm.Element) []string {
	if e == nil || e.Value.ValueType() != dcm.Strings {
		return nil
	}
	return e.Value.GetValue().([]string)
}

func str(ds dcm.Dataset, t tag.Tag) string {
	s := elemStrings(find(ds, t))
	if len(s) == 0 {
		return ""
	}
	return strings.TrimSpace(s[0])
}

func elemInts(e *dcm.Element) []int {
	if e == nil {
		return nil
	}
	switch e.Value.ValueType() {
	case dcm.Ints:
		return e.Value.GetValue().([]int)
	case dcm.Strings: // IS
		var out []int
		for _, s := range e.Value.GetValue().([]string) {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return nil
			}
			out = append(out, n)
		}
		return out
	}
	return nil
}

func integer(ds dcm.Dataset, t tag.Tag, def int) int {
	v := elemInts(find(ds, t))
	if len(v) == 0 {
		return def
	}
	return v[0]
}

// elemDecimals reads a DS (decimal string) or FL/FD attribute.
func elemDecimals(e *dcm.Element) ([]float64, bool) {
	if e == nil {
		return nil, false
	}
	switch e.Value.ValueType() {
	case dcm.Floats:
		return e.Value.GetValue().([]float64), true
	case dcm.Strings:
		var out []float64
		for _, s := range e.Value.GetValue().([]string) {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, false
			}
			out = append(out, v)
		}
		return out, len(out) > 0
	}
	return nil, false
}

func decimals(ds dcm.Dataset, t tag.Tag) ([]float64, bool) { return elemDecimals(find(ds, t)) }

func decimal(ds dcm.Dataset, t tag.Tag, i int) (float64, bool) {
	v, ok := decimals(ds, t)
	if !ok || i >= len(v) {
		return 0, false
	}
	return v[i], true
}

// sequenceItems are the items of a sequence attribute, each a list of elements.
func sequenceItems(e *dcm.Element) [][]*dcm.Element {
	if e == nil || e.Value.ValueType() != dcm.Sequences {
		return nil
	}
	var out [][]*dcm.Element
	for _, it := range e.Value.GetValue().([]*dcm.SequenceItemValue) {
		out = append(out, it.GetValue().([]*dcm.Element))
	}
	return out
}

var errShort = errors.New("pixel data shorter than the image attributes say")

// Size is the width and height a DICOM file says its frames have, read
// before any pixel is decoded (to refuse decompression bombs first).
func Size(data []byte) (w, h int, err error) {
	f, err := parse(data)
	if err != nil {
		return 0, 0, err
	}
	return f.cols, f.rows, nil
}
