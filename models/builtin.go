package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/convis/convis/internal/filelock"
)

// The built-in demo model (see convis-tiny/README.md) and its object list.
//
//go:embed convis-tiny/model
var builtinFS embed.FS

//go:embed convis-tiny/data/objects.tsv
var builtinObjects []byte

const builtinRoot = "convis-tiny/model"

// BuiltinObjects is the number of emoji objects the demo model knows.
func BuiltinObjects() int { return bytes.Count(builtinObjects, []byte("\n")) - 1 }

// ObjectsTSV is the demo model's object list (emoji, synset, definition…).
func ObjectsTSV() []byte { return builtinObjects }

var (
	builtinHashOnce sync.Once
	builtinHash     string
	builtinFiles    []string
)

func hashBuiltin() {
	fs.WalkDir(builtinFS, builtinRoot, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			builtinFiles = append(builtinFiles, p)
		}
		return nil
	})
	sort.Strings(builtinFiles)
	h := sha256.New()
	for _, p := range builtinFiles {
		data, _ := builtinFS.ReadFile(p)
		fmt.Fprintf(h, "%s\n%d\n", p, len(data))
		h.Write(data)
	}
	builtinHash = hex.EncodeToString(h.Sum(nil))
}

// ExtractBuiltin writes the embedded model under store (once per model
// version, and again whenever the copy differs from the embedded model)
// and returns its folder; ONNX Runtime loads models from files.
// The folder is made complete in a temporary name and renamed into place,
// so an interrupted extraction is never mistaken for a model.
func ExtractBuiltin(store string) (dir string, fresh bool, err error) {
	dir = BuiltinDir(store)
	if ok := verifyExtracted(dir); ok {
		return dir, false, nil
	}
	if err := os.MkdirAll(store, 0o755); err != nil {
		return "", false, fmt.Errorf("model store %s: %w", store, err)
	}
	// One extractor at a time: without the lock, a process that found an
	// incomplete copy could remove the folder another had just completed
	// (and was loading).
	lock, err := filelock.Acquire(context.Background(), filepath.Join(store, ".builtin.lock"), 2*time.Minute, nil)
	if err != nil {
		return "", false, fmt.Errorf("extract built-in model: %w", err)
	}
	defer lock.Release()
	if verifyExtracted(dir) { // made while we waited
		return dir, false, nil
	}
	tmp, err := os.MkdirTemp(store, ".extract-*")
	if err != nil {
		return "", false, fmt.Errorf("model store %s: %w", store, err)
	}
	defer os.RemoveAll(tmp)
	for _, p := range builtinFiles {
		data, _ := builtinFS.ReadFile(p)
		rel, _ := filepath.Rel(builtinRoot, filepath.FromSlash(p))
		dst := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", false, err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return "", false, fmt.Errorf("extract built-in model: %w", err)
		}
	}
	meta, _ := json.MarshalIndent(map[string]any{"name": BuiltinName, "source": "built-in", "hash": builtinHash, "files": len(builtinFiles)}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "convis-model.json"), meta, 0o644); err != nil {
		return "", false, err
	}
	os.RemoveAll(dir) // an incomplete earlier copy (under the lock: no one is making it)
	if err := os.Rename(tmp, dir); err != nil {
		return "", false, fmt.Errorf("extract built-in model: %w", err)
	}
	return dir, true, nil
}

// BuiltinDir is the folder of the built-in model's copy under store.
func BuiltinDir(store string) string {
	builtinHashOnce.Do(hashBuiltin)
	return filepath.Join(store, "builtin-"+BuiltinName+"-"+builtinHash[:12])
}

// verifyExtracted checks that every embedded file is present with its
// content: sizes and times cannot tell three flipped bytes (a damaged
// disk, an edit), and a damaged model gives wrong maps without an error.
// Comparing 14 MB with the embedded copy costs a few milliseconds.
func verifyExtracted(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "convis-model.json")); err != nil {
		return false
	}
	for _, p := range builtinFiles {
		data, _ := builtinFS.ReadFile(p)
		rel := p[len(builtinRoot)+1:]
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(got, data) {
			return false
		}
	}
	return true
}
