// Package embedcache keeps what convis computes with the model between
// runs, on disk: the encoder's window (and whole-image) embeddings and the
// concept indexes of prompt embeddings. Entries are checked on read and
// rebuilt, never trusted; the keys come from the callers (the method knows
// what its inputs are), so this package needs nothing of the method.
package embedcache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/convis/convis/internal/clip"
)

// DefaultMaxBytes bounds the window-embedding cache: about 1,400
// images of a ViT-B/32 (730 windows × 512 floats) or 5,000 of the built-in
// model.
const DefaultMaxBytes = 2 << 30

// Cache states recorded in sidecars and run records (window_cache).
const (
	Hit  = "hit"  // every embedding came from the cache: nothing encoded
	Miss = "miss" // encoded, and stored for next time
	Off  = "off"  // no cache (--no-cache)
)

// Embeddings keeps encoder outputs between runs so that asking again
// about an image (another concept, vocabulary, prompt mode or rendering)
// encodes nothing. An entry is one file, written atomically (temporary
// file, then rename) and checked on read (size and SHA-256): a corrupt
// entry is removed and recomputed, never trusted. Processes may share the
// folder: a rename is atomic, two writers of one key write the same bytes,
// and an entry removed under a reader is a miss. The folder is bounded:
// hits refresh an entry's modification time, and past MaxBytes the least
// recently used entries are removed.
type Embeddings struct {
	Dir      string
	MaxBytes int64
	Warn     func(error) // told of a corrupt entry or a failed write; the run goes on

	mu    sync.Mutex
	total int64 // bytes in Dir as last counted plus those written since; -1 unknown
}

// NewEmbeddings opens (lazily: nothing is read or made yet) a cache in dir.
func NewEmbeddings(dir string, maxBytes int64) *Embeddings {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Embeddings{Dir: dir, MaxBytes: maxBytes, total: -1}
}

const embMagic = "CONVIS-EMBEDDINGS-1\n"

// embExt names cache entries; Info and Clear touch nothing else.
const embExt = ".emb"

type embHeader struct {
	Key    string `json:"key"`
	Rows   int    `json:"rows"`
	Dim    int    `json:"dim"`
	SHA256 string `json:"sha256"`
}

func (c *Embeddings) path(key string) string { return filepath.Join(c.Dir, key+embExt) }

// Warning tells Warn (when set) of err, a failure that costs only reuse.
func (c *Embeddings) Warning(err error) {
	if c.Warn != nil {
		c.Warn(fmt.Errorf("embedding cache: %w", err))
	}
}

// Get returns the rows stored under key, or ok false. A corrupt entry is
// removed (and Warn told); a missing one is a plain miss.
func (c *Embeddings) Get(key string, rows int) ([][]float32, bool) {
	p := c.path(key)
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	out, err := decodeEmbeddings(raw, key, rows)
	if err != nil {
		c.Warning(fmt.Errorf("%s: %v; recomputing", p, err))
		os.Remove(p)
		return nil, false
	}
	now := time.Now()
	os.Chtimes(p, now, now) // least recently used goes first
	return out, true
}

func decodeEmbeddings(raw []byte, key string, rows int) ([][]float32, error) {
	var hdr embHeader
	data, err := readEntry(raw, embMagic, &hdr)
	if err != nil {
		return nil, err
	}
	if hdr.Key != key || hdr.Rows != rows || hdr.Dim <= 0 {
		return nil, fmt.Errorf("header names %d rows of key %.12s…, want %d of %.12s…", hdr.Rows, hdr.Key, rows, key)
	}
	if len(data) != 4*hdr.Rows*hdr.Dim {
		return nil, fmt.Errorf("%d bytes of data, want %d (truncated)", len(data), 4*hdr.Rows*hdr.Dim)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hdr.SHA256 {
		return nil, errors.New("checksum mismatch")
	}
	flat := make([]float32, hdr.Rows*hdr.Dim)
	for i := range flat {
		flat[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return clip.Rows(flat, hdr.Rows), nil
}

// Put stores rows under key, then trims the cache to MaxBytes. A failure
// is returned (and costs only the reuse).
func (c *Embeddings) Put(key string, rows [][]float32) error {
	if len(rows) == 0 {
		return nil
	}
	dim := len(rows[0])
	data := make([]byte, 4*len(rows)*dim)
	for i, row := range rows {
		if len(row) != dim {
			return fmt.Errorf("rows of %d and %d values", dim, len(row))
		}
		for k, v := range row {
			binary.LittleEndian.PutUint32(data[4*(i*dim+k):], math.Float32bits(v))
		}
	}
	sum := sha256.Sum256(data)
	hdr, _ := json.Marshal(embHeader{Key: key, Rows: len(rows), Dim: dim, SHA256: hex.EncodeToString(sum[:])})
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	size, err := writeEntry(c.path(key), embMagic, hdr, data)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= 0 {
		c.total += size
	}
	if c.total < 0 || c.total > c.MaxBytes {
		return c.evictLocked()
	}
	return nil
}

type cacheEntry struct {
	path string
	size int64
	used time.Time
}

func (c *Embeddings) entries() ([]cacheEntry, error) { return listEntries(c.Dir, embExt) }

// listEntries lists a cache folder's files ending in ext (temporary files
// of writers at work, dot-prefixed, excepted).
func listEntries(dir, ext string) ([]cacheEntry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []cacheEntry
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ext) || de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile by another process
		}
		out = append(out, cacheEntry{filepath.Join(dir, de.Name()), fi.Size(), fi.ModTime()})
	}
	return out, nil
}

// evictLocked counts the folder and, past MaxBytes, removes the least
// recently used entries down to 90% of it (so that not every write
// rescans the folder).
func (c *Embeddings) evictLocked() error {
	es, err := c.entries()
	if err != nil {
		return err
	}
	var total int64
	for _, e := range es {
		total += e.size
	}
	if total > c.MaxBytes {
		sort.Slice(es, func(i, j int) bool { return es[i].used.Before(es[j].used) })
		for _, e := range es {
			if total <= c.MaxBytes*9/10 {
				break
			}
			if err := os.Remove(e.path); err == nil || errors.Is(err, fs.ErrNotExist) {
				total -= e.size
			}
		}
	}
	c.total = total
	return nil
}

// Info describes a cache folder.
type Info struct {
	Dir     string    `json:"dir"`
	Entries int       `json:"entries"`
	Bytes   int64     `json:"bytes"`
	Oldest  time.Time `json:"oldest_use,omitzero"`
	Newest  time.Time `json:"newest_use,omitzero"`
}

// Info counts the cache's entries.
func (c *Embeddings) Info() (Info, error) { return folderInfo(c.Dir, embExt) }

// IndexInfo counts the concept indexes cached in dir.
func IndexInfo(dir string) (Info, error) { return folderInfo(dir, indexExt) }

func folderInfo(dir, ext string) (Info, error) {
	info := Info{Dir: dir}
	es, err := listEntries(dir, ext)
	if err != nil {
		return info, err
	}
	for _, e := range es {
		info.Entries++
		info.Bytes += e.size
		if info.Oldest.IsZero() || e.used.Before(info.Oldest) {
			info.Oldest = e.used
		}
		if e.used.After(info.Newest) {
			info.Newest = e.used
		}
	}
	return info, nil
}

// Clear removes every entry (and writers' leftovers over an hour old); it
// returns how many entries and bytes it removed.
func (c *Embeddings) Clear() (int, int64, error) {
	n, bytes, err := clearEntries(c.Dir, embExt)
	c.mu.Lock()
	c.total = -1
	c.mu.Unlock()
	return n, bytes, err
}

// ClearIndexes removes the concept indexes cached in dir (lock files of
// builders at work stay).
func ClearIndexes(dir string) (int, int64, error) { return clearEntries(dir, indexExt) }

func clearEntries(dir, ext string) (int, int64, error) {
	es, err := listEntries(dir, ext)
	if err != nil {
		return 0, 0, err
	}
	n, bytes := 0, int64(0)
	for _, e := range es {
		if err := os.Remove(e.path); err == nil {
			n++
			bytes += e.size
		} else if !errors.Is(err, fs.ErrNotExist) {
			return n, bytes, err
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	for _, t := range tmps {
		if fi, err := os.Stat(t); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.Remove(t) // a writer's leftover, not one writing now
		}
	}
	return n, bytes, nil
}
