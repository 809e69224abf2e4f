package main

import (
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/dicom"
)

// decodeFlags are the image decoding options every command that reads
// images shares: limits, 16-bit grey, and how DICOM becomes display pixels.
type decodeFlags struct {
	MaxPixels   int
	Gray16      string
	WindowIndex int
	Window      string // "C,W"
	VOI         string
	Frame       string // N or all
	KeepUIDs    bool
}

func addDecodeFlags(f *pflag.FlagSet, d *decodeFlags) {
	addMaxPixelsFlag(f, &d.MaxPixels, clip.DefaultMaxPixels)
	f.StringVar(&d.Gray16, "gray16", string(clip.Gray16Range), "16-bit grey images (PNG, TIFF): range (stretch their own min–max to 0–255) or high-byte")
	f.IntVar(&d.WindowIndex, "window-index", 0, "DICOM: which of the file's windows (or VOI LUTs) to apply, from 0")
	f.StringVar(&d.Window, "window", "", "DICOM: window C,W (centre and width in modality units, e.g. 40,400 for a CT soft-tissue window) instead of the file's")
	f.StringVar(&d.VOI, "voi", string(dicom.VOIStored), "DICOM grey window: stored (the file's window or VOI LUT; minmax when it has none), minmax (the frame's own range), percentile (0.5–99.5th) or none (the whole stored range)")
	f.StringVar(&d.Frame, "frame", "0", "DICOM multi-frame: the frame to read (from 0), or all (one output set per frame, STEM.fNNN.…)")
	f.BoolVar(&d.KeepUIDs, "keep-uids", false, "DICOM: record the SOP Instance UID in sidecars (no patient or study identifier is ever recorded)")
}

// options checks the flags; all is true for --frame all.
func (d *decodeFlags) options() (o clip.DecodeOptions, all bool, err error) {
	o = clip.DecodeOptions{MaxPixels: d.MaxPixels, Gray16: clip.Gray16(d.Gray16)}
	if d.Gray16 != string(clip.Gray16Range) && d.Gray16 != string(clip.Gray16HighByte) {
		return o, false, usageErrorf("--gray16 %q: want range or high-byte", d.Gray16)
	}
	o.DICOM = dicom.Options{WindowIndex: d.WindowIndex, VOI: dicom.VOIMode(d.VOI), KeepUIDs: d.KeepUIDs}
	if d.Window != "" {
		c, w, ok := strings.Cut(d.Window, ",")
		cv, err1 := strconv.ParseFloat(strings.TrimSpace(c), 64)
		wv, err2 := strconv.ParseFloat(strings.TrimSpace(w), 64)
		if !ok || err1 != nil || err2 != nil {
			return o, false, usageErrorf("--window %q: want CENTER,WIDTH (e.g. 40,400)", d.Window)
		}
		o.DICOM.Window = &dicom.Window{Center: cv, Width: wv}
	}
	switch d.Frame {
	case "all":
		all = true
	default:
		n, err := strconv.Atoi(d.Frame)
		if err != nil {
			return o, false, usageErrorf("--frame %q: want a frame number (from 0) or all", d.Frame)
		}
		o.DICOM.Frame = n
	}
	if err := o.DICOM.Check(); err != nil {
		return o, false, usageError{err}
	}
	return o, all, nil
}

// singleFrame is options() for commands that read one frame per image.
func (d *decodeFlags) singleFrame(cmd string) (clip.DecodeOptions, error) {
	o, all, err := d.options()
	if err == nil && all {
		err = usageErrorf("--frame all: %s reads one frame per image; give --frame N (explain takes all)", cmd)
	}
	return o, err
}
