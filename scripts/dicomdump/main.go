// Command dicomdump writes the display pixels convis decodes from DICOM
// files as binary PPM (P6) files, one per frame, for scripts/dicom-parity.py
// to compare with pydicom. Usage: go run ./scripts/dicomdump -o DIR FILE...
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/convis/convis/internal/dicom"
)

func main() {
	out := flag.String("o", ".", "output folder")
	voi := flag.String("voi", "stored", "stored, minmax, percentile or none")
	flag.Parse()
	failed := 0
	for _, path := range flag.Args() {
		if err := dump(path, *out, dicom.VOIMode(*voi)); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed++
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func dump(path, dir string, voi dicom.VOIMode) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n, err := dicom.Frames(data)
	if err != nil {
		return err
	}
	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	for k := 0; k < n; k++ {
		img, info, err := dicom.Decode(data, dicom.Options{Frame: k, VOI: voi})
		if err != nil {
			return err
		}
		name := filepath.Join(dir, fmt.Sprintf("%s.f%03d", stem, k))
		f, err := os.Create(name + ".ppm")
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		fmt.Fprintf(w, "P6\n%d %d\n255\n", img.W, img.H)
		w.Write(img.Pix)
		if err := w.Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		js, _ := json.Marshal(info)
		if err := os.WriteFile(name+".json", js, 0o644); err != nil {
			return err
		}
	}
	return nil
}
