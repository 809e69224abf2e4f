package saliency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/convis/convis/internal/atomicfile"
	"github.com/convis/convis/internal/filelock"
	"github.com/convis/convis/internal/wordnet"
)

// TextEmbedder embeds texts in batches (clip.Model.EmbedTexts).
type TextEmbedder func(ctx context.Context, texts []string, batch int) ([][]float32, error)

// BuildIndex embeds the prompts of T and normalises them. progress gets
// prompts done out of the total.
func BuildIndex(ctx context.Context, h *wordnet.Hierarchy, mode PromptMode, embed TextEmbedder, batch int, progress Progress) (*ConceptIndex, error) {
	return BuildIndexByLength(ctx, h, mode, embed, batch, nil, progress)
}

// BuildIndexByLength is BuildIndex with the prompts embedded in order of
// length (length(text), e.g. its tokens; nil: in T's order): a batch is
// padded to its longest prompt, so batches of like lengths encode the
// fewest padding tokens. The rows stay in T's order.
func BuildIndexByLength(ctx context.Context, h *wordnet.Hierarchy, mode PromptMode, embed TextEmbedder, batch int, length func(string) int, progress Progress) (*ConceptIndex, error) {
	texts, owner, err := Prompts(h, mode)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	if length != nil {
		lens := make([]int, len(texts))
		for i, t := range texts {
			lens[i] = length(t)
		}
		// Stable: prompts of one length keep T's order, so the build is
		// deterministic.
		sort.SliceStable(order, func(a, b int) bool { return lens[order[a]] < lens[order[b]] })
	}
	ix := &ConceptIndex{H: h, Mode: mode, Owner: owner}
	batchTexts := make([]string, 0, batch)
	for start := 0; start < len(texts); start += batch {
		end := min(start+batch, len(texts))
		batchTexts = batchTexts[:0]
		for _, i := range order[start:end] {
			batchTexts = append(batchTexts, texts[i])
		}
		embs, err := embed(ctx, batchTexts, batch)
		if err != nil {
			return nil, err
		}
		for k, e := range embs {
			if ix.Dim == 0 {
				ix.Dim = len(e)
				ix.Emb = make([]float32, len(texts)*ix.Dim)
			}
			var s float64
			for _, v := range e {
				s += float64(v) * float64(v)
			}
			inv := float32(1 / math.Max(math.Sqrt(s), 1e-12))
			row := ix.Emb[order[start+k]*ix.Dim : (order[start+k]+1)*ix.Dim]
			for j, v := range e {
				row[j] = v * inv
			}
		}
		if progress != nil {
			progress(end, len(texts))
		}
	}
	return ix, nil
}

// IndexKey names everything a cached index depends on.
type IndexKey struct {
	ModelHash string `json:"model_hash"`
	Vocab     string `json:"vocab"` // name, or the word list's hash for a file
	Mode      string `json:"mode"`
	Synsets   int    `json:"synsets"`
	// Data names convis's own inputs to the index: the WordNet data, the
	// model's tokenizer and the prompt rules (wordnet.DataVersion,
	// clip.Model.TokenizerVersion); a convis that changes them misses old entries.
	Data string `json:"data,omitempty"`
}

func (k IndexKey) file(dir string) string {
	b, _ := json.Marshal(k)
	sum := sha256.Sum256(b)
	return filepath.Join(dir, hex.EncodeToString(sum[:12])+indexExt)
}

const indexMagic = "CONVIS-INDEX-1\n"

// indexExt names cached concept indexes.
const indexExt = ".idx"

type indexHeader struct {
	Key     IndexKey `json:"key"`
	Prompts int      `json:"prompts"`
	Dim     int      `json:"dim"`
	SHA256  string   `json:"sha256"`
}

// IndexCacheOptions tune LoadOrBuildIndex's sharing between processes.
type IndexCacheOptions struct {
	// LockTimeout bounds the wait for another process building the same
	// index (default 30 minutes: a ViT-L index over all of WordNet).
	LockTimeout time.Duration
	Waiting     func()          // told once when another process holds the entry
	Warn        func(err error) // told when the cache cannot be written (the index is still returned)
}

// LoadOrBuildIndex returns the cached index for key from dir, or builds it
// and stores it (atomically: temporary file, then rename). A cache file
// that fails any check (header, sizes, checksum) is rebuilt, never trusted.
// With dir == "" the cache is bypassed. Processes share the work: the
// builder holds a lock on the entry, and another process asking for the
// same index waits, then loads what the first wrote. A cache that cannot be
// written (read-only, full) costs only the reuse: the index built is
// returned and Warn is told.
func LoadOrBuildIndex(ctx context.Context, dir string, key IndexKey, h *wordnet.Hierarchy, build func() (*ConceptIndex, error), opts ...IndexCacheOptions) (ix *ConceptIndex, cached bool, err error) {
	var o IndexCacheOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 30 * time.Minute
	}
	warn := func(err error) {
		if o.Warn != nil {
			o.Warn(fmt.Errorf("concept index cache: %w", err))
		}
	}
	if dir == "" {
		ix, err := build()
		return ix, false, err
	}
	path := key.file(dir)
	if ix, err := readIndex(path, key, h); err == nil {
		return ix, true, nil
	}
	var lock *filelock.Lock
	if err := os.MkdirAll(dir, 0o755); err != nil {
		warn(err)
	} else if lock, err = filelock.Acquire(ctx, path+".lock", o.LockTimeout, o.Waiting); err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var te *filelock.TimeoutError
		if errors.As(err, &te) {
			return nil, false, fmt.Errorf("concept index cache: %w", err)
		}
		warn(err) // cannot lock (read-only folder): build without sharing
	}
	defer lock.Release()
	// Built by the process we waited for?
	if ix, err := readIndex(path, key, h); err == nil {
		return ix, true, nil
	}
	ix, err = build()
	if err != nil {
		return nil, false, err
	}
	if err := writeIndex(dir, key, ix); err != nil {
		warn(err)
	}
	return ix, false, nil
}

func payload(ix *ConceptIndex) []byte {
	buf := make([]byte, 4*len(ix.Owner)+4*len(ix.Emb))
	for i, o := range ix.Owner {
		binary.LittleEndian.PutUint32(buf[4*i:], uint32(o))
	}
	off := 4 * len(ix.Owner)
	for i, v := range ix.Emb {
		binary.LittleEndian.PutUint32(buf[off+4*i:], math.Float32bits(v))
	}
	return buf
}

func writeIndex(dir string, key IndexKey, ix *ConceptIndex) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data := payload(ix)
	sum := sha256.Sum256(data)
	hdr, _ := json.Marshal(indexHeader{Key: key, Prompts: len(ix.Owner), Dim: ix.Dim, SHA256: hex.EncodeToString(sum[:])})
	_, err := writeEntry(key.file(dir), indexMagic, hdr, data)
	return err
}

// writeEntry writes a cache file, magic line, JSON header line and data,
// atomically (atomicfile); it returns the file's size.
func writeEntry(path, magic string, hdr, data []byte) (int64, error) {
	err := atomicfile.Write(path, func(w io.Writer) error {
		for _, b := range [][]byte{[]byte(magic), hdr, {'\n'}, data} {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	return int64(len(magic) + len(hdr) + 1 + len(data)), err
}

// readEntry splits a cache file into its JSON header (decoded into hdr)
// and its data.
func readEntry(raw []byte, magic string, hdr any) ([]byte, error) {
	if !bytes.HasPrefix(raw, []byte(magic)) {
		return nil, errors.New("not a convis cache file")
	}
	rest := raw[len(magic):]
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 {
		return nil, io.ErrUnexpectedEOF
	}
	if err := json.Unmarshal(rest[:nl], hdr); err != nil {
		return nil, fmt.Errorf("bad header: %v", err)
	}
	return rest[nl+1:], nil
}

func readIndex(path string, key IndexKey, h *wordnet.Hierarchy) (*ConceptIndex, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var hdr indexHeader
	data, err := readEntry(raw, indexMagic, &hdr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if hdr.Key != key || hdr.Dim <= 0 || len(data) != 4*hdr.Prompts*(1+hdr.Dim) {
		return nil, fmt.Errorf("%s: stale or truncated", path)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != hdr.SHA256 {
		return nil, fmt.Errorf("%s: checksum mismatch", path)
	}
	ix := &ConceptIndex{H: h, Mode: PromptMode(key.Mode), Dim: hdr.Dim, Owner: make([]int32, hdr.Prompts), Emb: make([]float32, hdr.Prompts*hdr.Dim)}
	for i := range ix.Owner {
		ix.Owner[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
		if ix.Owner[i] < 0 || int(ix.Owner[i]) >= h.Len() {
			return nil, fmt.Errorf("%s: bad owner", path)
		}
	}
	off := 4 * hdr.Prompts
	for i := range ix.Emb {
		ix.Emb[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
	}
	return ix, nil
}
