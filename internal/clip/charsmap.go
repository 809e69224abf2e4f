package clip

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// charsmap is SentencePiece's precompiled normalisation map (the
// "precompiled_charsmap" of a model's normalizer_spec, and of tokenizer.json's
// Precompiled normaliser): a darts-clone double-array trie over UTF-8 byte
// strings whose values are offsets of the replacements in a NUL-separated
// blob. Written here because no Go module reads it; the lookup follows
// darts-clone's commonPrefixSearch and SentencePiece's normalizer.cc.
type charsmap struct {
	units []uint32
	blob  []byte
}

func newCharsmap(data []byte) (*charsmap, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("precompiled charsmap of %d bytes is too short", len(data))
	}
	size := int(binary.LittleEndian.Uint32(data))
	if size%4 != 0 || 4+size > len(data) || size == 0 {
		return nil, fmt.Errorf("precompiled charsmap: trie of %d bytes does not fit in %d", size, len(data))
	}
	c := &charsmap{units: make([]uint32, size/4), blob: data[4+size:]}
	for i := range c.units {
		c.units[i] = binary.LittleEndian.Uint32(data[4+4*i:])
	}
	return c, nil
}

// longest is the longest prefix of key in the trie: its length in bytes
// and its replacement, or 0.
func (c *charsmap) longest(key string) (int, string) {
	offset := func(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
	label := func(u uint32) uint32 { return u & ((1 << 31) | 0xFF) }
	hasLeaf := func(u uint32) bool { return (u>>8)&1 == 1 }
	value := func(u uint32) uint32 { return u & ((1 << 31) - 1) }
	pos := offset(c.units[0])
	bestLen, bestVal := 0, uint32(0)
	for i := 0; i < len(key); i++ {
		pos ^= uint32(key[i])
		if int(pos) >= len(c.units) {
			break
		}
		u := c.units[pos]
		if label(u) != uint32(key[i]) {
			break
		}
		pos ^= offset(u)
		if int(pos) >= len(c.units) {
			break
		}
		if hasLeaf(u) {
			bestLen, bestVal = i+1, value(c.units[pos])
		}
	}
	if bestLen == 0 || int(bestVal) >= len(c.blob) {
		return 0, ""
	}
	rep := c.blob[bestVal:]
	if end := bytes.IndexByte(rep, 0); end >= 0 {
		rep = rep[:end]
	}
	return bestLen, string(rep)
}

// normalize replaces, from left to right, the longest prefix found in the
// map; text the map does not cover is copied a character at a time
// (malformed UTF-8 becomes U+FFFD).
func (c *charsmap) normalize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if n, rep := c.longest(s[i:]); n > 0 {
			b.WriteString(rep)
			i += n
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
