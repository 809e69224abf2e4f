// Package ort runs CLIP ONNX encoders with ONNX Runtime. It is the only
// package that uses cgo; everything else talks to it through the clip
// interfaces.
package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"

	"github.com/convis/convis/internal/clip"
)

// MinVersion is the oldest ONNX Runtime whose C API (version 24) the Go
// wrapper needs.
const MinVersion = "1.24"

// LibraryName is the shared library's file name.
const LibraryName = "libonnxruntime.so.1"

// LibraryError says where the library was looked for and how to get it.
type LibraryError struct {
	Tried []string // "place: why"
	Hint  string
}

func (e *LibraryError) Error() string {
	return fmt.Sprintf("cannot load ONNX Runtime (looked in: %s); %s", strings.Join(e.Tried, "; "), e.Hint)
}

// VersionError is a library older than MinVersion.
type VersionError struct {
	Path, Version string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("ONNX Runtime %s at %s is too old: convis needs %s or newer; run `make ort` or pass --ort-lib", e.Version, e.Path, MinVersion)
}

// Candidates lists where the library is looked for, in order. An explicit
// choice, the flag or else $CONVIS_ORT_LIB, is the only candidate: it is
// used or it is an error. Otherwise: next to the executable (and its lib/),
// the .ort folder of the source tree the executable was built in (from the
// executable upwards to go.mod), then the system paths. Never the working
// directory: a binary run inside an untrusted checkout must not load that
// checkout's library.
func Candidates(flagPath string) []string {
	if flagPath != "" {
		return []string{flagPath}
	}
	if env := os.Getenv("CONVIS_ORT_LIB"); env != "" {
		return []string{env}
	}
	var out []string
	add := func(p string) {
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	var exeDir string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		exeDir = filepath.Dir(exe)
		add(filepath.Join(exeDir, LibraryName))
		add(filepath.Join(exeDir, "lib", LibraryName))
	}
	for dir := exeDir; dir != "" && dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			add(filepath.Join(dir, ".ort", LibraryName))
			break
		}
	}
	add(LibraryName) // the dynamic loader's search path
	return out
}

// Runtime is an initialised ONNX Runtime environment.
type Runtime struct {
	path    string
	threads int
	// Spin says whether ONNX Runtime's threads spin while waiting for
	// work: "on", "off", or "" (auto: on for encoders of 64 MB or more,
	// off for smaller ones and for the ranking product).
	Spin string
}

// spinLimit is the model size from which auto lets threads spin. Spinning
// holds the cores between operators, which the crop preparation and the
// ranking running beside the encoder need: on the built-in model (14 MB,
// 1 ms a window) a grid map took 1.35 s spinning and 1.0 s not; on a
// ViT-B/32 (350 MB, 30 ms a window) 23.0 s spinning and 24.2 s not
// (docs/performance.md).
const spinLimit = 64 << 20

func (r *Runtime) spins(modelBytes int64) bool {
	switch r.Spin {
	case "on":
		return true
	case "off":
		return false
	}
	return modelBytes >= spinLimit
}

var (
	initMu  sync.Mutex
	initRT  *Runtime
	initErr error
)

// Load initialises ONNX Runtime once per process from the first candidate
// that loads. threads is the intra-op thread count (0: ONNX Runtime's default).
func Load(flagPath string, threads int) (*Runtime, error) {
	initMu.Lock()
	defer initMu.Unlock()
	if initRT != nil || initErr != nil {
		if initRT != nil {
			initRT.threads = threads
		}
		return initRT, initErr
	}
	var tried []string
	explicit := flagPath != "" || os.Getenv("CONVIS_ORT_LIB") != ""
	for _, p := range Candidates(flagPath) {
		if strings.Contains(p, "/") {
			if _, err := os.Stat(p); err != nil {
				tried = append(tried, p+": not found")
				continue
			}
		}
		ortgo.SetSharedLibraryPath(p)
		err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError())
		if err == nil {
			initRT = &Runtime{path: p, threads: threads}
			return initRT, nil
		}
		if strings.Contains(err.Error(), "Error setting ORT API base: 2") {
			// The wrapper has closed the library: read its version on our own handle.
			initErr = &VersionError{Path: p, Version: libraryVersion(p)}
			return nil, initErr
		}
		tried = append(tried, p+": "+shortLoadError(err))
	}
	hint := "run `make ort` in the convis source folder, or pass --ort-lib /path/to/" + LibraryName + " (or set CONVIS_ORT_LIB)"
	if explicit {
		hint = "the library named by --ort-lib or CONVIS_ORT_LIB is used or nothing is: fix the path, or unset it to search next to the executable"
	}
	initErr = &LibraryError{Tried: tried, Hint: hint}
	return nil, initErr
}

func shortLoadError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "Error loading ONNX shared library") {
		return strings.TrimSpace(msg[i+2:])
	}
	return msg
}

// Path is the library in use.
func (r *Runtime) Path() string { return r.path }

// Version is the library's version string.
func (r *Runtime) Version() string { return ortgo.GetVersion() }

func (r *Runtime) sessionOptions(spin bool) (*ortgo.SessionOptions, error) {
	o, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	if err := o.SetGraphOptimizationLevel(ortgo.GraphOptimizationLevelEnableAll); err != nil {
		o.Destroy()
		return nil, err
	}
	if !spin {
		if err := o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			o.Destroy()
			return nil, err
		}
	}
	if r.threads > 0 {
		if err := o.SetIntraOpNumThreads(r.threads); err != nil {
			o.Destroy()
			return nil, err
		}
		if err := o.SetInterOpNumThreads(1); err != nil {
			o.Destroy()
			return nil, err
		}
	}
	return o, nil
}

// Inspect lists a model's inputs and outputs.
func (r *Runtime) Inspect(path string) ([]clip.TensorInfo, []clip.TensorInfo, error) {
	ins, outs, err := ortgo.GetInputOutputInfo(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return convertInfo(ins), convertInfo(outs), nil
}

func convertInfo(in []ortgo.InputOutputInfo) []clip.TensorInfo {
	out := make([]clip.TensorInfo, len(in))
	for i, x := range in {
		out[i] = clip.TensorInfo{Name: x.Name, Type: strings.ToLower(strings.TrimPrefix(x.DataType.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_")), Shape: append([]int64(nil), x.Dimensions...)}
	}
	return out
}

func findByName(infos []clip.TensorInfo, names ...string) (clip.TensorInfo, bool) {
	for _, n := range names {
		for _, x := range infos {
			if x.Name == n {
				return x, true
			}
		}
	}
	return clip.TensorInfo{}, false
}

// session wraps a dynamic session with cancellation through RunOptions.
type session struct {
	s    *ortgo.DynamicAdvancedSession
	path string
	mu   sync.Mutex
}

func (s *session) run(ctx context.Context, inputs []ortgo.Value, outputs []ortgo.Value) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ro, err := ortgo.NewRunOptions()
	if err != nil {
		return err
	}
	defer ro.Destroy()
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			ro.Terminate()
		case <-done:
		}
	}()
	s.mu.Lock()
	err = s.s.RunWithOptions(inputs, outputs, ro)
	s.mu.Unlock()
	close(done)
	// The watcher may be calling Terminate: wait for it before the deferred
	// Destroy frees the options (once a use after free on Ctrl-C).
	<-exited
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

// ImageEncoder runs a vision model: pixel_values [B,3,H,W] → image_embeds.
type ImageEncoder struct {
	sess   *session
	input  clip.TensorInfo
	output clip.TensorInfo
	dim    int
	height int // the input's fixed height and width, or ≤ 0 when dynamic
	width  int
}

// OpenImageEncoder loads a vision model, discovering its names and shapes.
func (r *Runtime) OpenImageEncoder(path string, opts clip.EncoderOptions) (clip.ImageEncoder, error) {
	ins, outs, err := r.Inspect(path)
	if err != nil {
		return nil, err
	}
	in, ok := findByName(ins, "pixel_values")
	if !ok {
		if len(ins) != 1 {
			return nil, fmt.Errorf("%s: no pixel_values input (inputs: %s)", path, describe(ins))
		}
		in = ins[0]
	}
	if len(in.Shape) != 4 || in.Type != "float" {
		return nil, fmt.Errorf("%s: input %s is %s %v, want float [B,3,H,W]", path, in.Name, in.Type, in.Shape)
	}
	out, err := clip.ChooseEmbeddingOutput(path, outs, opts.Output, "image_embeds", "--image-output")
	if err != nil {
		return nil, err
	}
	if len(out.Shape) != 2 {
		return nil, fmt.Errorf("%s: output %s has shape %v, want [B, D]", path, out.Name, out.Shape)
	}
	enc := &ImageEncoder{input: in, output: out, dim: int(out.Shape[1]), height: int(in.Shape[2]), width: int(in.Shape[3])}
	enc.sess, err = r.newSession(path, []string{in.Name}, []string{out.Name})
	if err != nil {
		return nil, err
	}
	if enc.dim <= 0 {
		enc.dim = -1 // discovered on first run
	}
	return enc, nil
}

func (r *Runtime) newSession(path string, ins, outs []string) (*session, error) {
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
		// External weights (model.onnx_data) count too.
		if fd, err := os.Stat(path + "_data"); err == nil {
			size += fd.Size()
		}
	}
	opts, err := r.sessionOptions(r.spins(size))
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	s, err := ortgo.NewDynamicAdvancedSession(path, ins, outs, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &session{s: s, path: path}, nil
}

func (e *ImageEncoder) Dim() int { return e.dim }

// EncodeImages runs n images in one pass.
func (e *ImageEncoder) EncodeImages(ctx context.Context, pixels []float32, n int) ([]float32, error) {
	if n <= 0 || len(pixels)%n != 0 {
		return nil, errors.New("image batch: pixel buffer does not hold n images")
	}
	per := len(pixels) / n
	// The model's own input size where it is fixed (any aspect); a
	// dynamic one takes square images.
	h, w := e.height, e.width
	if h <= 0 || w <= 0 {
		side := 0
		for side*side*3 < per {
			side++
		}
		h, w = side, side
	}
	if 3*h*w != per {
		return nil, fmt.Errorf("%s takes %d×%d images but preprocessor_config.json makes %d values per image (3×%d×%d would be %d)", e.sess.path, w, h, per, w, h, 3*w*h)
	}
	in, err := ortgo.NewTensor(ortgo.NewShape(int64(n), 3, int64(h), int64(w)), pixels)
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	outs := []ortgo.Value{nil}
	if err := e.sess.run(ctx, []ortgo.Value{in}, outs); err != nil {
		return nil, err
	}
	return takeFloats(outs[0], n, &e.dim)
}

func takeFloats(v ortgo.Value, n int, dim *int) ([]float32, error) {
	defer v.Destroy()
	t, ok := v.(*ortgo.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("embedding output is %T, want float32", v)
	}
	shape := t.GetShape()
	if len(shape) != 2 || int(shape[0]) != n {
		return nil, fmt.Errorf("embedding output shape %v, want [%d, D]", shape, n)
	}
	*dim = int(shape[1])
	return append([]float32(nil), t.GetData()...), nil
}

func (e *ImageEncoder) Close() error { return e.sess.s.Destroy() }

// TextEncoder runs a text model: input_ids [B,L], with attention_mask,
// position_ids and token_type_ids where the model takes them, → the
// embedding output.
type TextEncoder struct {
	sess    *session
	ids     clip.TensorInfo
	inputs  []string // in the order the session was opened with
	types   []string // their element types (int64 or int32)
	output  clip.TensorInfo
	dim     int
	seqLen  int // fixed sequence length, or 0 when dynamic
	padding int64
	padTo   int // pad a dynamic sequence to at least this length
}

// textInputs are the inputs a text tower may take besides input_ids, and
// what convis feeds them: the mask of real tokens, positions 0…L−1, or
// zeros (BERT's single segment).
var textInputs = map[string]bool{"attention_mask": true, "position_ids": true, "token_type_ids": true}

// OpenTextEncoder loads a text model, discovering its names and shapes.
func (r *Runtime) OpenTextEncoder(path string, opts clip.EncoderOptions) (clip.TextEncoder, error) {
	ins, outs, err := r.Inspect(path)
	if err != nil {
		return nil, err
	}
	ids, ok := findByName(ins, "input_ids")
	if !ok {
		return nil, fmt.Errorf("%s: no input_ids input (inputs: %s)", path, describe(ins))
	}
	enc := &TextEncoder{ids: ids, padding: opts.PadID, padTo: opts.PadTo}
	for _, x := range ins {
		if len(x.Shape) != 2 || (x.Type != "int64" && x.Type != "int32") {
			return nil, fmt.Errorf("%s: input %s is %s %v, want int64 [B, L] (inputs: %s)", path, x.Name, x.Type, x.Shape, describe(ins))
		}
		if x.Name != "input_ids" && !textInputs[x.Name] {
			return nil, fmt.Errorf("%s: input %s is not one convis can feed (it feeds input_ids, attention_mask, position_ids, token_type_ids; inputs: %s)", path, x.Name, describe(ins))
		}
		enc.inputs = append(enc.inputs, x.Name)
		enc.types = append(enc.types, x.Type)
	}
	if enc.output, err = clip.ChooseEmbeddingOutput(path, outs, opts.Output, "text_embeds", "--text-output"); err != nil {
		return nil, err
	}
	if len(enc.output.Shape) != 2 {
		return nil, fmt.Errorf("%s: output %s has shape %v, want [B, D]", path, enc.output.Name, enc.output.Shape)
	}
	enc.dim = int(enc.output.Shape[1])
	if ids.Shape[1] > 0 {
		enc.seqLen = int(ids.Shape[1])
	}
	enc.sess, err = r.newSession(path, enc.inputs, []string{enc.output.Name})
	if err != nil {
		return nil, err
	}
	return enc, nil
}

// describe lists tensors for error messages.
func describe(xs []clip.TensorInfo) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprintf("%s %s %v", x.Name, x.Type, x.Shape))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func (e *TextEncoder) Dim() int { return e.dim }

// EncodeTexts pads the sequences to the model's fixed length, or to the
// longest, with the tokenizer's padding token (CLIP's end token: the causal
// text tower never looks past the end token; a masked tower ignores it) and
// runs them in one pass.
func (e *TextEncoder) EncodeTexts(ctx context.Context, seqs [][]int32) ([]float32, error) {
	n := len(seqs)
	if n == 0 {
		return nil, nil
	}
	L := e.seqLen
	if L == 0 {
		L = e.padTo
		for _, s := range seqs {
			L = max(L, len(s))
		}
	}
	values := map[string][]int64{"input_ids": make([]int64, n*L)}
	ids := values["input_ids"]
	mask := make([]int64, n*L)
	for i, s := range seqs {
		if len(s) > L {
			return nil, fmt.Errorf("text %d has %d tokens, model takes %d", i, len(s), L)
		}
		for j := 0; j < L; j++ {
			if j < len(s) {
				ids[i*L+j] = int64(s[j])
				mask[i*L+j] = 1
			} else {
				ids[i*L+j] = e.padding
			}
		}
	}
	values["attention_mask"] = mask
	pos := make([]int64, n*L)
	for i := range pos {
		pos[i] = int64(i % L)
	}
	values["position_ids"] = pos
	values["token_type_ids"] = make([]int64, n*L)
	shape := ortgo.NewShape(int64(n), int64(L))
	inputs := make([]ortgo.Value, len(e.inputs))
	for k, name := range e.inputs {
		var v ortgo.Value
		var err error
		if e.types[k] == "int32" {
			v32 := make([]int32, n*L)
			for i, x := range values[name] {
				v32[i] = int32(x)
			}
			v, err = ortgo.NewTensor(shape, v32)
		} else {
			v, err = ortgo.NewTensor(shape, values[name])
		}
		if err != nil {
			return nil, err
		}
		defer v.Destroy()
		inputs[k] = v
	}
	outs := []ortgo.Value{nil}
	if err := e.sess.run(ctx, inputs, outs); err != nil {
		return nil, err
	}
	return takeFloats(outs[0], n, &e.dim)
}

func (e *TextEncoder) Close() error { return e.sess.s.Destroy() }
