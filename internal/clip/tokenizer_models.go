package clip

import (
	"math"
	"unicode/utf8"
)

// wordPieceModel is BERT's greedy longest-match-first WordPiece: a word is
// cut into the longest vocabulary entries from the left, continuations
// carrying the prefix ("##"); a word with a part not in the vocabulary, or
// longer than maxChars, is the unknown token.
type wordPieceModel struct {
	vocab    map[string]int32
	unk      int32
	prefix   string
	maxChars int
}

func (m *wordPieceModel) tokenize(word string) []int32 {
	if utf8.RuneCountInString(word) > m.maxChars {
		return []int32{m.unk}
	}
	var ids []int32
	for start := 0; start < len(word); {
		end := len(word)
		found := int32(-1)
		for end > start {
			sub := word[start:end]
			if start > 0 {
				sub = m.prefix + sub
			}
			if id, ok := m.vocab[sub]; ok {
				found = id
				break
			}
			_, n := utf8.DecodeLastRuneInString(word[start:end])
			end -= n
		}
		if found < 0 {
			return []int32{m.unk}
		}
		ids = append(ids, found)
		start = end
	}
	return ids
}

// unigramModel is SentencePiece's Unigram: the segmentation of a word into
// vocabulary pieces with the highest total score (Viterbi over the lattice
// of pieces). A character no piece covers is unknown (score: the lowest
// piece score minus 10, as SentencePiece and Hugging Face's tokenizers
// use); runs of unknown characters become one unknown token, or with byte
// fallback their UTF-8 bytes as <0xNN> pieces.
type unigramModel struct {
	pieces       map[string]int32 // pieces the lattice may use
	scores       []float64        // by id
	maxLen       int              // longest piece, in bytes
	unk          int32            // -1: no unknown token
	byteFallback bool
	byteIDs      [256]int32 // -1 where <0xNN> is missing
	minScore     float64
}

func newUnigramModel(pieces []string, scores []float64, usable func(id int) bool, unk int32, byteFallback bool) *unigramModel {
	m := &unigramModel{pieces: map[string]int32{}, scores: scores, unk: unk, byteFallback: byteFallback, minScore: math.Inf(1)}
	for i := range m.byteIDs {
		m.byteIDs[i] = -1
	}
	for i, p := range pieces {
		m.minScore = min(m.minScore, scores[i])
		if b, ok := bytePiece(p); ok {
			m.byteIDs[b] = int32(i)
		}
		if usable != nil && !usable(i) {
			continue
		}
		if int32(i) == unk {
			continue
		}
		if _, dup := m.pieces[p]; !dup {
			m.pieces[p] = int32(i)
		}
		m.maxLen = max(m.maxLen, len(p))
	}
	if math.IsInf(m.minScore, 1) {
		m.minScore = 0
	}
	return m
}

func (m *unigramModel) tokenize(word string) []int32 {
	n := len(word)
	const unkPenalty = 10.0
	unkScore := m.minScore - unkPenalty
	// best[i]: the best score of a segmentation of word[:i]; from[i] its
	// last piece's start and id (-2: unknown character).
	best := make([]float64, n+1)
	from := make([]int, n+1)
	ids := make([]int32, n+1)
	for i := 1; i <= n; i++ {
		best[i] = math.Inf(-1)
	}
	for i := 0; i < n; {
		if math.IsInf(best[i], -1) {
			_, sz := utf8.DecodeRuneInString(word[i:])
			i += sz
			continue
		}
		_, first := utf8.DecodeRuneInString(word[i:])
		single := false
		for e := i + 1; e <= n && e-i <= m.maxLen; e++ {
			id, ok := m.pieces[word[i:e]]
			if !ok {
				continue
			}
			if e-i == first {
				single = true
			}
			if s := best[i] + m.scores[id]; s > best[e] {
				best[e], from[e], ids[e] = s, i, id
			}
		}
		if !single {
			e := i + first
			if s := best[i] + unkScore; s > best[e] {
				best[e], from[e], ids[e] = s, i, -2
			}
		}
		i += first
	}
	// Walk back, then emit left to right, fusing runs of unknowns.
	type step struct {
		start, end int
		id         int32
	}
	var path []step
	for e := n; e > 0; e = from[e] {
		path = append(path, step{from[e], e, ids[e]})
	}
	var out []int32
	for k := len(path) - 1; k >= 0; k-- {
		s := path[k]
		if s.id != -2 {
			out = append(out, s.id)
			continue
		}
		end := s.end
		for k > 0 && path[k-1].id == -2 {
			k--
			end = path[k].end
		}
		out = append(out, m.unknown(word[s.start:end])...)
	}
	return out
}

func (m *unigramModel) unknown(text string) []int32 {
	if m.byteFallback {
		ids := make([]int32, 0, len(text))
		for i := 0; i < len(text); i++ {
			if m.byteIDs[text[i]] < 0 {
				ids = nil
				break
			}
			ids = append(ids, m.byteIDs[text[i]])
		}
		if ids != nil {
			return ids
		}
	}
	if m.unk < 0 {
		return nil
	}
	return []int32{m.unk}
}

// bytePiece reads a byte-fallback piece, "<0xNN>" (upper-case hex).
func bytePiece(p string) (byte, bool) {
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return 0, false
	}
	var b byte
	for _, c := range p[3:5] {
		switch {
		case c >= '0' && c <= '9':
			b = b<<4 | byte(c-'0')
		case c >= 'A' && c <= 'F':
			b = b<<4 | byte(c-'A'+10)
		default:
			return 0, false
		}
	}
	return b, true
}
