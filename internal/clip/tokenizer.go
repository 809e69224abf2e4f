package clip

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// OpenAI's CLIP BPE vocabulary (MIT, see bpe/LICENSE).
//
//go:embed bpe/bpe_simple_vocab_16e6.txt.gz
var defaultBPE []byte

// CLIP's text constants.
const (
	StartToken    = 49406
	EndToken      = 49407
	ContextLength = 77
)

// Tokenizer is CLIP's byte-level BPE tokenizer, a pure Go port of the
// algorithm in OpenAI's simple_tokenizer.py.
type Tokenizer struct {
	encoder  map[string]int32
	ranks    map[[2]string]int
	byteRune [256]rune
	sot, eot int32
	context  int

	mu    sync.Mutex
	cache map[string][]int32
}

// The pre-tokenizer pattern of OpenAI's tokenizer. Go's \s is ASCII, but the
// text is whitespace-cleaned first, so only ' ' can remain.
var splitRE = regexp.MustCompile(`(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`)

var (
	defaultOnce sync.Once
	defaultTok  *Tokenizer
	defaultErr  error
)

// DefaultTokenizer returns the tokenizer of OpenAI's CLIP vocabulary.
func DefaultTokenizer() (*Tokenizer, error) {
	defaultOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(defaultBPE))
		if err != nil {
			defaultErr = err
			return
		}
		text, err := io.ReadAll(zr)
		if err != nil {
			defaultErr = err
			return
		}
		defaultTok, defaultErr = newFromMerges(strings.Split(string(text), "\n")[1 : 49152-256-2+1])
	})
	return defaultTok, defaultErr
}

// bytesToUnicode is GPT-2's reversible map from bytes to printable runes.
func bytesToUnicode() [256]rune {
	var table [256]rune
	used := [256]bool{}
	for _, r := range [][2]int{{'!', '~'}, {0xA1, 0xAC}, {0xAE, 0xFF}} {
		for b := r[0]; b <= r[1]; b++ {
			table[b] = rune(b)
			used[b] = true
		}
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !used[b] {
			table[b] = rune(256 + n)
			n++
		}
	}
	return table
}

func newFromMerges(mergeLines []string) (*Tokenizer, error) {
	t := &Tokenizer{encoder: map[string]int32{}, ranks: map[[2]string]int{}, byteRune: bytesToUnicode(), context: ContextLength, cache: map[string][]int32{}}
	// The base vocabulary lists byte runes in the order GPT-2's table builds
	// them: printable bytes first, then the remapped ones (U+0100 on).
	var base []string
	for b := 0; b < 256; b++ {
		if t.byteRune[b] < 256 {
			base = append(base, string(t.byteRune[b]))
		}
	}
	for r := rune(256); len(base) < 256; r++ {
		base = append(base, string(r))
	}
	vocab := append([]string{}, base...)
	for _, r := range base {
		vocab = append(vocab, r+"</w>")
	}
	for i, line := range mergeLines {
		parts := strings.Fields(line)
		if len(parts) != 2 {
			return nil, fmt.Errorf("bpe merges line %d: %q", i+2, line)
		}
		t.ranks[[2]string{parts[0], parts[1]}] = i
		vocab = append(vocab, parts[0]+parts[1])
	}
	vocab = append(vocab, "<|startoftext|>", "<|endoftext|>")
	for i, v := range vocab {
		t.encoder[v] = int32(i)
	}
	t.sot, t.eot = t.encoder["<|startoftext|>"], t.encoder["<|endoftext|>"]
	return t, nil
}

// LoadTokenizerJSON reads a Hugging Face tokenizer.json with a BPE model
// (vocab and merges), as published beside CLIP ONNX exports.
func LoadTokenizerJSON(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Model struct {
			Type   string           `json:"type"`
			Vocab  map[string]int32 `json:"vocab"`
			Merges json.RawMessage  `json:"merges"`
		} `json:"model"`
		AddedTokens []struct {
			ID      int32  `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a tokenizer.json: %w", path, err)
	}
	if doc.Model.Type != "BPE" || len(doc.Model.Vocab) == 0 {
		return nil, fmt.Errorf("%s: tokenizer model is %q, want BPE with a vocabulary", path, doc.Model.Type)
	}
	// Merges are "a b" strings in older files and ["a","b"] pairs in newer.
	var merges [][2]string
	var asStrings []string
	var asPairs [][2]string
	if err := json.Unmarshal(doc.Model.Merges, &asStrings); err == nil {
		for _, m := range asStrings {
			a, b, ok := strings.Cut(m, " ")
			if !ok {
				return nil, fmt.Errorf("%s: bad merge %q", path, m)
			}
			merges = append(merges, [2]string{a, b})
		}
	} else if err := json.Unmarshal(doc.Model.Merges, &asPairs); err == nil {
		merges = asPairs
	} else {
		return nil, fmt.Errorf("%s: cannot read merges", path)
	}
	t := &Tokenizer{encoder: doc.Model.Vocab, ranks: map[[2]string]int{}, byteRune: bytesToUnicode(), context: ContextLength, cache: map[string][]int32{}}
	for i, m := range merges {
		t.ranks[m] = i
	}
	for _, a := range doc.AddedTokens {
		t.encoder[a.Content] = a.ID
	}
	var ok1, ok2 bool
	t.sot, ok1 = t.encoder["<|startoftext|>"]
	t.eot, ok2 = t.encoder["<|endoftext|>"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: vocabulary lacks <|startoftext|> or <|endoftext|>", path)
	}
	return t, nil
}

// Clean normalises text as CLIP's tokenizer does before splitting: Unicode
// repair (the parts of ftfy.fix_text that apply to well-formed text), HTML
// unescaping twice, whitespace collapsed, lower case.
func Clean(text string) string {
	text = fixText(text)
	text = html.UnescapeString(html.UnescapeString(text))
	text = strings.Join(strings.FieldsFunc(text, isPySpace), " ")
	return strings.ToLower(text)
}

// isPySpace is Python's str.isspace, which re's \s follows: Go's
// unicode.IsSpace plus the information separators U+001C–U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

var quoteFixer = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201a", "'", "\u201b", "'", "\u2032", "'",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`, "\u201f", `"`, "\u2033", `"`,
	"\ufb00", "ff", "\ufb01", "fi", "\ufb02", "fl", "\ufb03", "ffi", "\ufb04", "ffl", "\ufb05", "st", "\ufb06", "st",
)

// fixText does what ftfy.fix_text does to text that is not mojibake: curly
// quotes and Latin ligatures to ASCII, control characters removed, NFC.
// Repairing mis-decoded text (mojibake) is not attempted; such input is rare
// in prompts and the repair heuristics would need ftfy's tables.
func fixText(text string) string {
	text = quoteFixer.Replace(text)
	text = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' {
			return r
		}
		if unicode.Is(unicode.Cc, r) && r != 0x1c && r != 0x1d && r != 0x1e && r != 0x1f && r != 0x85 {
			return -1
		}
		return r
	}, text)
	return norm.NFC.String(text)
}

// Encode returns the BPE ids of text, without start and end tokens.
func (t *Tokenizer) Encode(text string) []int32 {
	var ids []int32
	for _, piece := range splitRE.FindAllString(Clean(text), -1) {
		ids = append(ids, t.bpe(piece)...)
	}
	return ids
}

// Tokenize returns start, the ids and end, truncated to the context length
// with the end token kept last.
func (t *Tokenizer) Tokenize(text string) []int32 {
	ids := append([]int32{t.sot}, t.Encode(text)...)
	ids = append(ids, t.eot)
	if len(ids) > t.context {
		ids = ids[:t.context]
		ids[t.context-1] = t.eot
	}
	return ids
}

// EndToken is the id that ends every sequence (where CLIP pools).
func (t *Tokenizer) EndToken() int32 { return t.eot }

// ContextLength is the padded sequence length.
func (t *Tokenizer) ContextLength() int { return t.context }

func (t *Tokenizer) bpe(piece string) []int32 {
	t.mu.Lock()
	if ids, ok := t.cache[piece]; ok {
		t.mu.Unlock()
		return ids
	}
	t.mu.Unlock()
	var ids []int32
	if id, ok := t.encoder[piece]; ok && (piece == "<|startoftext|>" || piece == "<|endoftext|>") {
		ids = []int32{id}
	} else {
		var word []string
		for _, b := range []byte(piece) {
			word = append(word, string(t.byteRune[b]))
		}
		word[len(word)-1] += "</w>"
		for len(word) > 1 {
			best, bestRank := -1, int(^uint(0)>>1)
			for i := 0; i+1 < len(word); i++ {
				if r, ok := t.ranks[[2]string{word[i], word[i+1]}]; ok && r < bestRank {
					best, bestRank = i, r
				}
			}
			if best < 0 {
				break
			}
			first, second := word[best], word[best+1]
			merged := word[:0:0]
			for i := 0; i < len(word); {
				if i+1 < len(word) && word[i] == first && word[i+1] == second {
					merged = append(merged, first+second)
					i += 2
				} else {
					merged = append(merged, word[i])
					i++
				}
			}
			word = merged
		}
		for _, w := range word {
			if id, ok := t.encoder[w]; ok {
				ids = append(ids, id)
			}
		}
	}
	t.mu.Lock()
	t.cache[piece] = ids
	t.mu.Unlock()
	return ids
}

// TokenizerForDir returns the tokenizer of a model directory: its
// tokenizer.json when present, else OpenAI's default vocabulary.
func TokenizerForDir(dir string) (*Tokenizer, error) {
	p := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(p); err == nil {
		return LoadTokenizerJSON(p)
	}
	return DefaultTokenizer()
}

// TokenizerVersion names the default tokenizer (the embedded vocabulary
// and this implementation's revision): cached text embeddings key on it. A
// model's own tokenizer.json is covered by the model's content hash.
func TokenizerVersion() string {
	sum := sha256.Sum256(defaultBPE)
	return "bpe:" + hex.EncodeToString(sum[:8]) + "/1"
}
