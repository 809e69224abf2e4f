package clip

import (
	"fmt"
	"sync"
)

type bpeOptions struct {
	endOfWordSuffix         string // "</w>" in CLIP's vocabularies
	continuingSubwordPrefix string
	// byteLevel maps each byte of a word to GPT-2's printable rune first
	// (OpenAI's own pipeline); files with a ByteLevel pre-tokenizer have
	// done that before the model sees the word.
	byteLevel    bool
	unk          int32 // -1: unknown symbols are dropped
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
}

// bpeModel is byte-pair encoding over any vocabulary and merge list: the
// pair of adjacent symbols with the lowest merge rank is merged, every
// occurrence left to right, until no pair has a rank (GPT-2's and OpenAI
// CLIP's algorithm; Hugging Face's merges one occurrence at a time in the
// same order, which gives the same symbols).
type bpeModel struct {
	vocab    map[string]int32
	ranks    map[[2]string]int
	opts     bpeOptions
	byteRune [256]rune

	mu    sync.Mutex
	cache map[string][]int32
}

func newBPEModel(vocab map[string]int32, merges [][2]string, opts bpeOptions) (*bpeModel, error) {
	m := &bpeModel{vocab: vocab, ranks: make(map[[2]string]int, len(merges)), opts: opts, byteRune: bytesToUnicode(), cache: map[string][]int32{}}
	plen := len(opts.continuingSubwordPrefix)
	for i, p := range merges {
		merged := p[0] + p[1]
		if plen > 0 && len(p[1]) >= plen && p[1][:plen] == opts.continuingSubwordPrefix {
			merged = p[0] + p[1][plen:]
		}
		if _, ok := vocab[merged]; !ok && !opts.byteLevel {
			return nil, fmt.Errorf("merge %d (%q %q) makes %q, which is not in the vocabulary", i, p[0], p[1], merged)
		}
		m.ranks[p] = i // a repeated pair takes its last rank, as both references do
	}
	return m, nil
}

func (m *bpeModel) tokenize(word string) []int32 {
	m.mu.Lock()
	if ids, ok := m.cache[word]; ok {
		m.mu.Unlock()
		return ids
	}
	m.mu.Unlock()
	ids := m.encode(word)
	m.mu.Lock()
	if len(m.cache) > 1<<16 { // bound the memory a long run can take
		m.cache = map[string][]int32{}
	}
	m.cache[word] = ids
	m.mu.Unlock()
	return ids
}

// A symbol of a word being merged; unknown symbols carry their id.
type bpeSymbol struct {
	s     string
	fixed int32 // >= 0: an unknown or byte-fallback id, never merged
}

func (m *bpeModel) encode(word string) []int32 {
	if m.opts.ignoreMerges {
		if id, ok := m.vocab[word]; ok {
			return []int32{id}
		}
	}
	var chars []string
	if m.opts.byteLevel {
		for _, b := range []byte(word) {
			chars = append(chars, string(m.byteRune[b]))
		}
	} else {
		for _, r := range word {
			chars = append(chars, string(r))
		}
	}
	if len(chars) == 0 {
		return nil
	}
	syms := make([]bpeSymbol, 0, len(chars))
	lastUnk := false
	for i, c := range chars {
		s := c
		if i > 0 && m.opts.continuingSubwordPrefix != "" {
			s = m.opts.continuingSubwordPrefix + s
		}
		if i == len(chars)-1 && m.opts.endOfWordSuffix != "" {
			s += m.opts.endOfWordSuffix
		}
		if _, ok := m.vocab[s]; ok || m.opts.byteLevel {
			// OpenAI's pipeline keeps symbols missing from the vocabulary
			// and drops them at the end, as simple_tokenizer.py does.
			syms = append(syms, bpeSymbol{s, -1})
			lastUnk = false
			continue
		}
		if m.opts.byteFallback {
			var fb []bpeSymbol
			for _, b := range []byte(c) {
				id, ok := m.vocab[fmt.Sprintf("<0x%02X>", b)]
				if !ok {
					fb = nil
					break
				}
				fb = append(fb, bpeSymbol{"", id})
			}
			if fb != nil {
				syms = append(syms, fb...)
				lastUnk = false
				continue
			}
		}
		if m.opts.unk >= 0 {
			if !(m.opts.fuseUnk && lastUnk) {
				syms = append(syms, bpeSymbol{"", m.opts.unk})
			}
			lastUnk = true
		}
	}
	plen := len(m.opts.continuingSubwordPrefix)
	for len(syms) > 1 {
		best, bestRank := -1, int(^uint(0)>>1)
		for i := 0; i+1 < len(syms); i++ {
			if syms[i].fixed >= 0 || syms[i+1].fixed >= 0 {
				continue
			}
			if r, ok := m.ranks[[2]string{syms[i].s, syms[i+1].s}]; ok && r < bestRank {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		first, second := syms[best].s, syms[best+1].s
		joined := first + second
		if plen > 0 && len(second) >= plen && second[:plen] == m.opts.continuingSubwordPrefix {
			joined = first + second[plen:]
		}
		merged := syms[:0:0]
		for i := 0; i < len(syms); {
			if i+1 < len(syms) && syms[i].fixed < 0 && syms[i+1].fixed < 0 && syms[i].s == first && syms[i+1].s == second {
				merged = append(merged, bpeSymbol{joined, -1})
				i += 2
			} else {
				merged = append(merged, syms[i])
				i++
			}
		}
		syms = merged
	}
	ids := make([]int32, 0, len(syms))
	for _, s := range syms {
		if s.fixed >= 0 {
			ids = append(ids, s.fixed)
		} else if id, ok := m.vocab[s.s]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}
