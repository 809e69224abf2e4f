package clip

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/convis/convis/internal/atomicfile"
)

// Variants of the ONNX files, as Hugging Face ONNX exports name them.
var variantSuffix = map[string]string{"fp32": "", "": "", "fp16": "_fp16", "quantized": "_quantized"}

// ModelDir is a CLIP model in the Hugging Face ONNX layout.
type ModelDir struct {
	Path       string
	Variant    string
	VisionPath string
	TextPath   string
	Config     ModelConfig
	Pre        PreprocessConfig
	// HashCache, when set, is a file that remembers content hashes by the
	// files' paths, sizes and modification times, so that a 600 MB model is
	// not read in full on every run.
	HashCache string
	// ExternalData are the files the encoders' weights are stored in
	// outside the .onnx files (ExternalDataFiles): part of Files, so of
	// the content hash and every cache key.
	ExternalData []string
	// ImageOutput and TextOutput name the encoders' embedding outputs
	// (--image-output, --text-output); empty: EmbeddingOutputRule.
	ImageOutput, TextOutput string
}

// ModelConfig holds what convis reads from config.json.
type ModelConfig struct {
	ModelType     string `json:"model_type"`
	ProjectionDim int    `json:"projection_dim"`
	// Extra, written by convis's own exports: a human description.
	Description string `json:"convis_description,omitempty"`
}

// ModelError is a model directory that cannot be used.
type ModelError struct {
	Path string
	Msg  string
}

func (e *ModelError) Error() string { return fmt.Sprintf("model %s: %s", e.Path, e.Msg) }

// OpenModelDir checks a model directory and reads its configuration.
func OpenModelDir(path, variant string) (*ModelDir, error) {
	suffix, ok := variantSuffix[variant]
	if !ok {
		return nil, fmt.Errorf("unknown model variant %q: want fp32, fp16 or quantized", variant)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, &ModelError{path, "no such directory"}
	}
	if !st.IsDir() {
		return nil, &ModelError{path, "not a directory (want a folder with config.json, preprocessor_config.json and onnx/*.onnx)"}
	}
	m := &ModelDir{Path: path, Variant: variant}
	if variant == "" {
		m.Variant = "fp32"
	}
	cfgPath := filepath.Join(path, "config.json")
	if err := readJSON(cfgPath, &m.Config); err != nil {
		return nil, &ModelError{path, err.Error()}
	}
	pre, err := LoadPreprocessConfig(filepath.Join(path, "preprocessor_config.json"))
	if err != nil {
		return nil, &ModelError{path, err.Error()}
	}
	m.Pre = pre
	find := func(base string) (string, error) {
		var tried []string
		for _, dir := range []string{"onnx", "."} {
			p := filepath.Join(path, dir, base+suffix+".onnx")
			tried = append(tried, filepath.Join(dir, base+suffix+".onnx"))
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				if fi.Size() == 0 {
					return "", fmt.Errorf("%s is empty", p)
				}
				return p, nil
			}
		}
		return "", fmt.Errorf("missing %s (variant %s)", strings.Join(tried, " or "), m.Variant)
	}
	if m.VisionPath, err = find("vision_model"); err != nil {
		return nil, &ModelError{path, err.Error()}
	}
	if m.TextPath, err = find("text_model"); err != nil {
		return nil, &ModelError{path, err.Error()}
	}
	for _, p := range []string{m.VisionPath, m.TextPath} {
		ext, err := ExternalDataFiles(p)
		if err != nil {
			return nil, &ModelError{path, err.Error()}
		}
		m.ExternalData = append(m.ExternalData, ext...)
	}
	return m, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("missing %s", filepath.Base(path))
		}
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: invalid JSON: %v", filepath.Base(path), err)
	}
	return nil
}

// Files lists the files that define the model, for hashing: the
// configurations, the tokenizer, both ONNX files and every external-data
// file they name, read again at each call: a model rewritten since it was
// opened is hashed as it is now.
func (m *ModelDir) Files() ([]string, error) {
	files := []string{filepath.Join(m.Path, "config.json"), filepath.Join(m.Path, "preprocessor_config.json"), m.VisionPath, m.TextPath}
	files = append(files, TokenizerFiles(m.Path)...)
	seen := map[string]bool{}
	for _, onnx := range []string{m.VisionPath, m.TextPath} {
		ext, err := ExternalDataFiles(onnx)
		if err != nil {
			return nil, &ModelError{m.Path, err.Error()}
		}
		for _, e := range ext {
			if !seen[e] {
				seen[e] = true
				files = append(files, e)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// Hash is the SHA-256 of the model's files (names relative to the
// directory, then contents): the key of every cache built from the model.
// With HashCache set, a hash computed before for the same files (path,
// size, modification time) is reused.
func (m *ModelDir) Hash() (string, error) {
	if m.HashCache == "" {
		return m.computeHash()
	}
	stamp, err := m.fileStamp()
	if err != nil {
		return "", err
	}
	known := map[string]string{}
	if data, err := os.ReadFile(m.HashCache); err == nil {
		json.Unmarshal(data, &known) // an unreadable cache is rebuilt
	}
	if h, ok := known[stamp]; ok && len(h) == 64 {
		return h, nil
	}
	h, err := m.computeHash()
	if err != nil {
		return "", err
	}
	known[stamp] = h
	if data, err := json.Marshal(known); err == nil && os.MkdirAll(filepath.Dir(m.HashCache), 0o755) == nil {
		atomicfile.WriteBytes(m.HashCache, data) // a cache: a failed write only costs a rehash
	}
	return h, nil
}

// fileStamp identifies the model's files by absolute path, size,
// modification time and, where the system has them, inode and change time:
// a file edited in place with its size and mtime put back (touch -r) has a
// new change time, which no user can set, so the cache never vouches for
// changed content.
func (m *ModelDir) fileStamp() (string, error) {
	var b strings.Builder
	files, err := m.Files()
	if err != nil {
		return "", err
	}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return "", err
		}
		fi, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s|%d|%d|%s;", abs, fi.Size(), fi.ModTime().UnixNano(), changeStamp(fi))
	}
	return b.String(), nil
}

func (m *ModelDir) computeHash() (string, error) {
	h := sha256.New()
	files, err := m.Files()
	if err != nil {
		return "", err
	}
	for _, f := range files {
		rel, _ := filepath.Rel(m.Path, f)
		fmt.Fprintf(h, "%s\n", filepath.ToSlash(rel))
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", f, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Size is the total size of the model's files in bytes.
func (m *ModelDir) Size() int64 {
	var n int64
	files, _ := m.Files()
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}
