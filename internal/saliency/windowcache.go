package saliency

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// DefaultWindowCacheBytes bounds the window-embedding cache: about 1,400
// images of a ViT-B/32 (730 windows × 512 floats) or 5,000 of the built-in
// model.
const DefaultWindowCacheBytes = 2 << 30

// Cache states recorded in sidecars and run records (window_cache).
const (
	CacheHit  = "hit"  // every embedding came from the cache: nothing encoded
	CacheMiss = "miss" // encoded, and stored for next time
	CacheOff  = "off"  // no cache (--no-cache)
)

// EmbeddingCache keeps encoder outputs between runs so that asking again
// about an image (another concept, vocabulary, prompt mode or rendering)
// encodes nothing. An entry is one file, written atomically (temporary
// file, then rename) and checked on read (size and SHA-256): a corrupt
// entry is removed and recomputed, never trusted. Processes may share the
// folder: a rename is atomic, two writers of one key write the same bytes,
// and an entry removed under a reader is a miss. The folder is bounded:
// hits refresh an entry's modification time, and past MaxBytes the least
// recently used entries are removed.
type EmbeddingCache struct {
	Dir      string
	MaxBytes int64
	Warn     func(error) // told of a corrupt entry or a failed write; the run goes on

	mu    sync.Mutex
	total int64 // bytes in Dir as last counted plus those written since; -1 unknown
}

// NewEmbeddingCache opens (lazily: nothing is read or made yet) a cache in dir.
func NewEmbeddingCache(dir string, maxBytes int64) *EmbeddingCache {
	if maxBytes <= 0 {
		maxBytes = DefaultWindowCacheBytes
	}
	return &EmbeddingCache{Dir: dir, MaxBytes: maxBytes, total: -1}
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

func (c *EmbeddingCache) path(key string) string { return filepath.Join(c.Dir, key+embExt) }

func (c *EmbeddingCache) warn(err error) {
	if c.Warn != nil {
		c.Warn(fmt.Errorf("embedding cache: %w", err))
	}
}

// Get returns the rows stored under key, or ok false. A corrupt entry is
// removed (and Warn told); a missing one is a plain miss.
func (c *EmbeddingCache) Get(key string, rows int) ([][]float32, bool) {
	p := c.path(key)
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	out, err := decodeEmbeddings(raw, key, rows)
	if err != nil {
		c.warn(fmt.Errorf("%s: %v; recomputing", p, err))
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
func (c *EmbeddingCache) Put(key string, rows [][]float32) error {
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

func (c *EmbeddingCache) entries() ([]cacheEntry, error) { return listEntries(c.Dir, embExt) }

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
func (c *EmbeddingCache) evictLocked() error {
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

// CacheInfo describes a cache folder.
type CacheInfo struct {
	Dir     string    `json:"dir"`
	Entries int       `json:"entries"`
	Bytes   int64     `json:"bytes"`
	Oldest  time.Time `json:"oldest_use,omitzero"`
	Newest  time.Time `json:"newest_use,omitzero"`
}

// Info counts the cache's entries.
func (c *EmbeddingCache) Info() (CacheInfo, error) { return folderInfo(c.Dir, embExt) }

// IndexCacheInfo counts the concept indexes cached in dir.
func IndexCacheInfo(dir string) (CacheInfo, error) { return folderInfo(dir, indexExt) }

func folderInfo(dir, ext string) (CacheInfo, error) {
	info := CacheInfo{Dir: dir}
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
func (c *EmbeddingCache) Clear() (int, int64, error) {
	n, bytes, err := clearEntries(c.Dir, embExt)
	c.mu.Lock()
	c.total = -1
	c.mu.Unlock()
	return n, bytes, err
}

// ClearIndexCache removes the concept indexes cached in dir (lock files of
// builders at work stay).
func ClearIndexCache(dir string) (int, int64, error) { return clearEntries(dir, indexExt) }

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

// WindowKey names the embeddings of windows: everything the encoder's
// inputs and outputs depend on. The canvas's own pixels stand for the
// image, the crop mode, the placement, the fill and its seed (they are
// what the crops are cut from), so any change of those is a new key; the
// windows, the preprocessing, the model's content hash and variant, and
// the encoder batch (batching may change float rounding) complete it.
func WindowKey(model string, pre clip.PreprocessConfig, batch int, c *Canvas, boxes []Box) string {
	h := sha256.New()
	// Each part is length-prefixed, so no two part lists hash alike.
	part := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	cfg, _ := json.Marshal(pre)
	part([]byte("convis windows 1"))
	part([]byte(model))
	part(cfg)
	part(fmt.Appendf(nil, "batch %d canvas %dx%d", batch, c.Img.W, c.Img.H))
	part(c.Img.Pix)
	bx := make([]byte, 0, 16*len(boxes))
	for _, b := range boxes {
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.X))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.Y))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.W))
		bx = binary.LittleEndian.AppendUint32(bx, uint32(b.H))
	}
	part(bx)
	return hex.EncodeToString(h.Sum(nil))
}

// InputKey names the embedding of encoder inputs given as they are (the
// whole image, preprocessed): the model and the exact input values.
func InputKey(model string, pixels []float32) string {
	h := sha256.New()
	io.WriteString(h, "convis input 1\x00"+model+"\x00")
	buf := make([]byte, 4*len(pixels))
	for i, v := range pixels {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}
