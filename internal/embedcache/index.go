package embedcache

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
	"time"

	"github.com/convis/convis/internal/atomicfile"
	"github.com/convis/convis/internal/filelock"
)

// Index is a concept index as the cache stores it: Owner maps each prompt
// to its synset's position in the hierarchy, Emb holds the prompts' unit
// embeddings (len(Owner) × Dim, row-major).
type Index struct {
	Dim   int
	Owner []int32
	Emb   []float32
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

// IndexOptions tune LoadOrBuildIndex's sharing between processes.
type IndexOptions struct {
	// LockTimeout bounds the wait for another process building the same
	// index (default 30 minutes: a ViT-L index over all of WordNet).
	LockTimeout time.Duration
	Waiting     func()          // told once when another process holds the entry
	Warn        func(err error) // told when the cache cannot be written (the index is still returned)
}

// LoadOrBuildIndex returns the cached index for key from dir (its owners
// checked against a hierarchy of synsets synsets), or builds it
// and stores it (atomically: temporary file, then rename). A cache file
// that fails any check (header, sizes, checksum) is rebuilt, never trusted.
// With dir == "" the cache is bypassed. Processes share the work: the
// builder holds a lock on the entry, and another process asking for the
// same index waits, then loads what the first wrote. A cache that cannot be
// written (read-only, full) costs only the reuse: the index built is
// returned and Warn is told.
func LoadOrBuildIndex(ctx context.Context, dir string, key IndexKey, synsets int, build func() (Index, error), opts ...IndexOptions) (ix Index, cached bool, err error) {
	var o IndexOptions
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
	if ix, err := readIndex(path, key, synsets); err == nil {
		return ix, true, nil
	}
	var lock *filelock.Lock
	if err := os.MkdirAll(dir, 0o755); err != nil {
		warn(err)
	} else if lock, err = filelock.Acquire(ctx, path+".lock", o.LockTimeout, o.Waiting); err != nil {
		if ctx.Err() != nil {
			return Index{}, false, ctx.Err()
		}
		var te *filelock.TimeoutError
		if errors.As(err, &te) {
			return Index{}, false, fmt.Errorf("concept index cache: %w", err)
		}
		warn(err) // cannot lock (read-only folder): build without sharing
	}
	defer lock.Release()
	// Built by the process we waited for?
	if ix, err := readIndex(path, key, synsets); err == nil {
		return ix, true, nil
	}
	ix, err = build()
	if err != nil {
		return Index{}, false, err
	}
	if err := writeIndex(dir, key, ix); err != nil {
		warn(err)
	}
	return ix, false, nil
}

func payload(ix Index) []byte {
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

func writeIndex(dir string, key IndexKey, ix Index) error {
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

func readIndex(path string, key IndexKey, synsets int) (Index, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Index{}, err
	}
	var hdr indexHeader
	data, err := readEntry(raw, indexMagic, &hdr)
	if err != nil {
		return Index{}, fmt.Errorf("%s: %w", path, err)
	}
	if hdr.Key != key || hdr.Dim <= 0 || len(data) != 4*hdr.Prompts*(1+hdr.Dim) {
		return Index{}, fmt.Errorf("%s: stale or truncated", path)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != hdr.SHA256 {
		return Index{}, fmt.Errorf("%s: checksum mismatch", path)
	}
	ix := Index{Dim: hdr.Dim, Owner: make([]int32, hdr.Prompts), Emb: make([]float32, hdr.Prompts*hdr.Dim)}
	for i := range ix.Owner {
		ix.Owner[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
		if ix.Owner[i] < 0 || int(ix.Owner[i]) >= synsets {
			return Index{}, fmt.Errorf("%s: bad owner", path)
		}
	}
	off := 4 * hdr.Prompts
	for i := range ix.Emb {
		ix.Emb[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
	}
	return ix, nil
}
