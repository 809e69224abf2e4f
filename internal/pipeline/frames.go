package pipeline

import (
	"fmt"
	"io"
	"os"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/dicom"
)

// ExpandFrames makes each multi-frame DICOM file one job per frame, named
// STEM.f000, STEM.f001, … (--frame all). Other images, single-frame files
// and files whose header cannot be read stay one job: decoding reports
// their errors in turn.
func ExpandFrames(jobs []Job) []Job {
	out := make([]Job, 0, len(jobs))
	for _, j := range jobs {
		n := frameCount(j.Path)
		if n <= 1 {
			out = append(out, j)
			continue
		}
		for k := 0; k < n; k++ {
			f := j
			f.PerFrame, f.Frame, f.Stem = true, k, fmt.Sprintf("%s.f%03d", j.Stem, k)
			out = append(out, f)
		}
	}
	return out
}

// isDICOMFile says whether a job's file is DICOM, by its ending or its
// preamble (only regular files are opened).
func isDICOMFile(path string) bool {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	if clip.IsDICOM(path, nil) {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 132)
	_, err = io.ReadFull(f, head)
	return err == nil && clip.IsDICOM(path, head)
}

func frameCount(path string) int {
	if !isDICOMFile(path) {
		return 0
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := dicom.Frames(data)
	if err != nil {
		return 0
	}
	return n
}

// decodeOptions are the run's decoding options with this job's frame.
func (j Job) decodeOptions(o clip.DecodeOptions) clip.DecodeOptions {
	if j.PerFrame {
		o.DICOM.Frame = j.Frame
	}
	return o
}

// DICOMParams are the DICOM decoding settings that differ from the
// defaults, for the sidecars of DICOM maps and run log headers: a rerun
// with another window is not a skip.
func (s Settings) DICOMParams() map[string]any {
	d := s.Decode.DICOM
	out := map[string]any{}
	if d.VOI != "" && d.VOI != dicom.VOIStored {
		out["voi"] = string(d.VOI)
	}
	if d.WindowIndex != 0 {
		out["window_index"] = d.WindowIndex
	}
	if d.Window != nil {
		out["window"] = []float64{d.Window.Center, d.Window.Width}
	}
	if s.FrameAll {
		out["frame"] = "all"
	} else if d.Frame != 0 {
		out["frame"] = d.Frame
	}
	if d.KeepUIDs {
		out["keep_uids"] = true
	}
	return out
}

// HeaderParams are the run's parameters for its run log header: every
// image's, and the DICOM ones.
func (s Settings) HeaderParams() map[string]any {
	out := s.ParamsJSON()
	for k, v := range s.DICOMParams() {
		out[k] = v
	}
	return out
}
