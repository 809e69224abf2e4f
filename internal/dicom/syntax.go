package dicom

import "encoding/binary"

type syntaxKind int

const (
	kindNative syntaxKind = iota
	kindRLE
	kindJPEG // baseline, extended and lossless: jpeg.go
	kindJPEG2000
	kindJPEGLS
	kindUnsupported // known, encapsulated, not decoded
)

// syntax is a transfer syntax (PS3.5 10, PS3.6 A): how the pixel data is stored.
type syntax struct {
	uid, name string
	kind      syntaxKind
	order     binary.ByteOrder // of native pixel data
	hint      string           // the conversion command, for those not decoded
}

const (
	hintRaw   = "gdcmconv --raw IN OUT (Debian libgdcm-tools)"
	hintJPEG  = "dcmdjpeg IN OUT (Debian dcmtk) or gdcmconv --raw IN OUT"
	hintJPEGL = "dcmdjpls IN OUT (Debian dcmtk) or gdcmconv --raw IN OUT"
)

// syntaxes are the transfer syntaxes convis knows: every other one is refused.
var syntaxes = map[string]syntax{}

func init() {
	for _, s := range []syntax{
		{uid: "1.2.840.10008.1.2", name: "Implicit VR Little Endian", kind: kindNative, order: binary.LittleEndian},
		{uid: "1.2.840.10008.1.2.1", name: "Explicit VR Little Endian", kind: kindNative, order: binary.LittleEndian},
		{uid: "1.2.840.10008.1.2.1.99", name: "Deflated Explicit VR Little Endian", kind: kindNative, order: binary.LittleEndian},
		{uid: "1.2.840.10008.1.2.2", name: "Explicit VR Big Endian", kind: kindNative, order: binary.BigEndian},
		{uid: "1.2.840.10008.1.2.5", name: "RLE Lossless", kind: kindRLE},
		// convis's own decoder (jpeg.go): baseline, extended 8 and 12-bit,
		// lossless (process 14); image/jpeg for 8-bit progressive.
		{uid: "1.2.840.10008.1.2.4.50", name: "JPEG Baseline (Process 1)", kind: kindJPEG, hint: hintJPEG},
		{uid: "1.2.840.10008.1.2.4.51", name: "JPEG Extended (Process 2 & 4)", kind: kindJPEG, hint: hintJPEG},
		{uid: "1.2.840.10008.1.2.4.57", name: "JPEG Lossless, Non-Hierarchical (Process 14)", kind: kindJPEG, hint: hintJPEG},
		{uid: "1.2.840.10008.1.2.4.70", name: "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", kind: kindJPEG, hint: hintJPEG},
		{uid: "1.2.840.10008.1.2.4.80", name: "JPEG-LS Lossless", kind: kindJPEGLS, hint: hintJPEGL},
		{uid: "1.2.840.10008.1.2.4.81", name: "JPEG-LS Lossy (Near-Lossless)", kind: kindJPEGLS, hint: hintJPEGL},
		{uid: "1.2.840.10008.1.2.4.90", name: "JPEG 2000 Image Compression (Lossless Only)", kind: kindJPEG2000, hint: hintRaw},
		{uid: "1.2.840.10008.1.2.4.91", name: "JPEG 2000 Image Compression", kind: kindJPEG2000, hint: hintRaw},
		{uid: "1.2.840.10008.1.2.4.201", name: "High-Throughput JPEG 2000 (Lossless Only)", kind: kindJPEG2000, hint: hintRaw},
		{uid: "1.2.840.10008.1.2.4.202", name: "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)", kind: kindJPEG2000, hint: hintRaw},
		{uid: "1.2.840.10008.1.2.4.203", name: "High-Throughput JPEG 2000 Image Compression", kind: kindJPEG2000, hint: hintRaw},
	} {
		syntaxes[s.uid] = s
	}
}
