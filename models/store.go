package models

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

//go:embed known.json
var knownJSON []byte

// Known is a model alias of models/known.json.
type Known struct {
	Repo      string `json:"repo"`
	About     string `json:"about"`
	Family    string `json:"family"`
	InputSize int    `json:"input_size"`
	Tokenizer string `json:"tokenizer"` // BPE, WordPiece or Unigram
	Dim       int    `json:"embedding_dim"`
	License   string `json:"license"`
	// FilesSeen are the repository's files this entry was checked against
	// (file lists found in public code that downloads them); empty for the
	// entries that predate the check.
	FilesSeen []string `json:"files_seen,omitempty"`
}

// KnownModels returns the aliases that `convis model pull` understands.
func KnownModels() map[string]Known {
	var m map[string]Known
	if err := json.Unmarshal(knownJSON, &m); err != nil {
		panic("models/known.json: " + err.Error())
	}
	return m
}

// Ref is what a user names: an alias or hf:OWNER/REPO[@REVISION].
type Ref struct {
	Name     string // folder name in the store
	Repo     string // OWNER/REPO on the Hub
	Revision string // branch, tag or commit ("main" by default)
}

// ParseRef understands an alias or hf:OWNER/REPO[@REVISION].
func ParseRef(s string) (Ref, error) {
	if strings.HasPrefix(s, "hf:") {
		spec := strings.TrimPrefix(s, "hf:")
		repo, rev, _ := strings.Cut(spec, "@")
		parts := strings.Split(repo, "/")
		if len(parts) != 2 || !nameRE.MatchString(parts[0]) || !nameRE.MatchString(parts[1]) {
			return Ref{}, fmt.Errorf("model %q: want hf:OWNER/REPO[@REVISION]", s)
		}
		if rev == "" {
			rev = "main"
		}
		return Ref{Name: parts[0] + "--" + parts[1], Repo: repo, Revision: rev}, nil
	}
	name, rev, _ := strings.Cut(s, "@")
	k, ok := KnownModels()[name]
	if !ok {
		var names []string
		for n := range KnownModels() {
			names = append(names, n)
		}
		sort.Strings(names)
		return Ref{}, fmt.Errorf("unknown model %q: use one of %s, or hf:OWNER/REPO", s, strings.Join(names, ", "))
	}
	if rev == "" {
		rev = "main"
	}
	return Ref{Name: name, Repo: k.Repo, Revision: rev}, nil
}

// Installed describes a model in the store (convis-model.json).
type Installed struct {
	Name     string               `json:"name"`
	Repo     string               `json:"repo,omitempty"`
	Revision string               `json:"revision,omitempty"` // the commit pulled
	Variant  string               `json:"variant,omitempty"`  // the variant pulled last
	Variants []string             `json:"variants,omitempty"` // every variant whose files are here
	Source   string               `json:"source,omitempty"`
	Files    map[string]FileEntry `json:"files,omitempty"`
	Pulled   time.Time            `json:"pulled,omitempty"`
	Path     string               `json:"-"`
	Size     int64                `json:"-"`
}

// AllVariants lists the variants installed (older stores name one).
func (in *Installed) AllVariants() []string {
	if len(in.Variants) > 0 {
		return in.Variants
	}
	if in.Variant != "" {
		return []string{in.Variant}
	}
	return []string{"fp32"}
}

// readInstalled reads a model folder's convis-model.json.
func readInstalled(dir string) (*Installed, error) {
	data, err := os.ReadFile(filepath.Join(dir, "convis-model.json"))
	if err != nil {
		return nil, err
	}
	var in Installed
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, err
	}
	in.Path = dir
	return &in, nil
}

// FileEntry is a verified file of an installed model.
type FileEntry struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	GitSHA string `json:"git_sha1,omitempty"`
}

// List returns the installed models under store, by name.
func List(store string) ([]Installed, error) {
	entries, err := os.ReadDir(store)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []Installed
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(store, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, "convis-model.json"))
		if err != nil {
			continue // not a complete model
		}
		var in Installed
		if json.Unmarshal(data, &in) != nil {
			continue
		}
		in.Path = dir
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				in.Size += fi.Size()
			}
			return nil
		})
		if in.Name == "" {
			in.Name = e.Name()
		}
		out = append(out, in)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// Remove deletes an installed model (and any partial download of it).
func Remove(store, name string) error {
	dirName := name
	if strings.HasPrefix(name, "hf:") || KnownModels()[name].Repo != "" {
		if r, err := ParseRef(name); err == nil {
			dirName = r.Name
		}
	}
	if !nameRE.MatchString(dirName) {
		return fmt.Errorf("model %q: not a model name", name)
	}
	dir := filepath.Join(store, dirName)
	if _, err := os.Stat(filepath.Join(dir, "convis-model.json")); err != nil {
		return &NotInstalledError{name}
	}
	// Rename first: a model is either whole or absent, even if removal stops.
	trash := filepath.Join(store, ".remove-"+dirName+fmt.Sprint(time.Now().UnixNano()))
	if err := os.Rename(dir, trash); err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(store, ".partial", dirName))
	return os.RemoveAll(trash)
}

// DirFor maps a --model name (alias, hf:OWNER/REPO or folder name) to its store folder name.
func DirFor(name string) string {
	if r, err := ParseRef(name); err == nil {
		return r.Name
	}
	return name
}
