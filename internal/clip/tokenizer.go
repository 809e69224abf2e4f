package clip

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Why convis has its own tokenizers. Go libraries evaluated (their READMEs
// and package docs, found with the search tool and pkg.go.dev):
// github.com/sugarme/tokenizer (a Go port of Hugging Face tokenizers; its
// models are word level, WordPiece and BPE: no Unigram, which SigLIP needs),
// github.com/zerfoo/ztoken (BPE only), github.com/daulet/tokenizers (cgo
// bindings to the Rust library: a second native library to build and ship,
// and cgo is kept to internal/clip/ort), github.com/pkoukk/tiktoken-go
// (OpenAI's tiktoken encodings only). The three algorithms convis needs
// (byte-level BPE, WordPiece, Unigram with Viterbi) and the pipeline parts
// found in CLIP-family tokenizer files are small, so they are written here
// and checked against reference implementations (scripts/tokenizer_parity.py,
// tokenizer_parity_test.go); every part of a file that is not implemented
// is an error that names it.

// OpenAI's CLIP BPE vocabulary (MIT, see bpe/LICENSE).
//
//go:embed bpe/bpe_simple_vocab_16e6.txt.gz
var defaultBPE []byte

// CLIP's text constants (OpenAI's vocabulary).
const (
	StartToken    = 49406
	EndToken      = 49407
	ContextLength = 77
)

// Kinds of tokenizer model.
const (
	KindBPE       = "BPE"
	KindWordPiece = "WordPiece"
	KindUnigram   = "Unigram"
)

// Tokenizer turns text into the id sequence a text encoder takes. It is one
// pipeline for every model family: added (special) tokens split out, a
// normaliser, a pre-tokenizer, the model (BPE, WordPiece or Unigram), the
// post-processor's special tokens, truncation that keeps the end tokens and,
// where the tokenizer file says so, padding to a fixed length.
type Tokenizer struct {
	kind    string
	source  string
	version string

	normalize normalizer   // nil: the text as it is
	preTok    preTokenizer // nil: each segment is one word
	model     tokenModel
	added     *addedVocab // nil: no added tokens

	prefix, suffix []int32 // the post-processor's special tokens around $A
	maxLen         int     // the longest sequence, special tokens included
	truncLeft      bool    // truncation drops tokens from the start
	padFixed       int     // pad every sequence to this length (0: no padding)
	padMultiple    int     // with padFixed, round the length up to a multiple
	padLeft        bool
	padID          int32
	eot            int32
	vocabSize      int
}

// A normalizer rewrites a text segment before it is split into words.
type normalizer func(string) string

// A preTokenizer splits normalised text into words. first says whether the
// segment starts the text (Metaspace's prepend_scheme "first" needs it).
type preTokenizer func(words []string, first bool) []string

// tokenModel maps one word to ids.
type tokenModel interface {
	tokenize(word string) []int32
}

// Kind is the tokenizer model: BPE, WordPiece or Unigram.
func (t *Tokenizer) Kind() string { return t.kind }

// Source names where the tokenizer was read from: a file of the model
// folder, or "bundled OpenAI CLIP vocabulary".
func (t *Tokenizer) Source() string { return t.source }

// Version identifies the implementation and, for the bundled vocabulary, its
// data; a model's own tokenizer file is covered by the model's content hash.
func (t *Tokenizer) Version() string { return t.version }

// EndToken is the id of the last special token of every sequence ([SEP],
// </s>, <|endoftext|>), or -1 when the post-processor adds none.
func (t *Tokenizer) EndToken() int32 { return t.eot }

// ContextLength is the longest sequence Tokenize returns.
func (t *Tokenizer) ContextLength() int { return t.maxLen }

// PadID is the id to pad sequences with.
func (t *Tokenizer) PadID() int32 { return t.padID }

// FixedLength is the length every sequence is padded to (SigLIP: 64), or 0
// when the tokenizer does not pad.
func (t *Tokenizer) FixedLength() int { return t.padFixed }

// VocabSize is the number of ids the tokenizer can produce.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// Encode returns the ids of text without special tokens, untruncated.
func (t *Tokenizer) Encode(text string) []int32 {
	var ids []int32
	for i, seg := range t.added.split(text, false) {
		if seg.id >= 0 {
			ids = append(ids, seg.id)
			continue
		}
		s := seg.text
		if t.normalize != nil {
			s = t.normalize(s)
		}
		for _, sub := range t.added.split(s, true) {
			if sub.id >= 0 {
				ids = append(ids, sub.id)
				continue
			}
			if sub.text == "" {
				continue
			}
			words := []string{sub.text}
			if t.preTok != nil {
				words = t.preTok(words, i == 0 && seg.start == 0 && sub.start == 0)
			}
			for _, w := range words {
				if w != "" {
					ids = append(ids, t.model.tokenize(w)...)
				}
			}
		}
	}
	return ids
}

// Tokenize returns the sequence the text encoder takes: the post-processor's
// special tokens around the ids, truncated to ContextLength with the special
// tokens kept (the end token stays last), padded where the tokenizer pads.
func (t *Tokenizer) Tokenize(text string) []int32 {
	ids, _ := t.TokenizeMask(text)
	return ids
}

// TokenizeMask is Tokenize with the attention mask: 1 for real tokens, 0
// for padding.
func (t *Tokenizer) TokenizeMask(text string) (ids, mask []int32) {
	body := t.Encode(text)
	if t.maxLen > 0 {
		room := max(t.maxLen-len(t.prefix)-len(t.suffix), 0)
		if len(body) > room {
			if t.truncLeft {
				body = body[len(body)-room:]
			} else {
				body = body[:room]
			}
		}
	}
	ids = make([]int32, 0, max(t.padFixed, len(t.prefix)+len(body)+len(t.suffix)))
	ids = append(append(append(ids, t.prefix...), body...), t.suffix...)
	n := len(ids)
	target := n
	if t.padFixed > 0 {
		target = max(target, t.padFixed)
		if t.padMultiple > 1 && target%t.padMultiple != 0 {
			target += t.padMultiple - target%t.padMultiple
		}
	}
	mask = make([]int32, target)
	for i := range mask {
		mask[i] = 1
	}
	if target == n {
		return ids, mask
	}
	pad := make([]int32, target-n)
	for i := range pad {
		pad[i] = t.padID
	}
	if t.padLeft {
		for i := 0; i < len(pad); i++ {
			mask[i] = 0
		}
		return append(pad, ids...), mask
	}
	for i := n; i < target; i++ {
		mask[i] = 0
	}
	return append(ids, pad...), mask
}

// ---- OpenAI's CLIP tokenizer (the bundled default) ----

// openAIBPE is CLIP's byte-level BPE, a pure Go port of the algorithm in
// OpenAI's simple_tokenizer.py (its words end in "</w>").
type openAIBPE struct {
	bpe *bpeModel
	sot int32
	eot int32
}

func (m *openAIBPE) tokenize(piece string) []int32 {
	if piece == "<|startoftext|>" {
		return []int32{m.sot}
	}
	if piece == "<|endoftext|>" {
		return []int32{m.eot}
	}
	return m.bpe.tokenize(piece)
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
		defaultTok, defaultErr = newOpenAI(strings.Split(string(text), "\n")[1 : 49152-256-2+1])
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

func newOpenAI(mergeLines []string) (*Tokenizer, error) {
	byteRune := bytesToUnicode()
	// The base vocabulary lists byte runes in the order GPT-2's table builds
	// them: printable bytes first, then the remapped ones (U+0100 on).
	var base []string
	for b := 0; b < 256; b++ {
		if byteRune[b] < 256 {
			base = append(base, string(byteRune[b]))
		}
	}
	for r := rune(256); len(base) < 256; r++ {
		base = append(base, string(r))
	}
	vocab := append([]string{}, base...)
	for _, r := range base {
		vocab = append(vocab, r+"</w>")
	}
	var merges [][2]string
	for i, line := range mergeLines {
		parts := strings.Fields(line)
		if len(parts) != 2 {
			return nil, fmt.Errorf("bpe merges line %d: %q", i+2, line)
		}
		merges = append(merges, [2]string{parts[0], parts[1]})
		vocab = append(vocab, parts[0]+parts[1])
	}
	vocab = append(vocab, "<|startoftext|>", "<|endoftext|>")
	encoder := make(map[string]int32, len(vocab))
	for i, v := range vocab {
		encoder[v] = int32(i)
	}
	bpe, err := newBPEModel(encoder, merges, bpeOptions{endOfWordSuffix: "</w>", byteLevel: true})
	if err != nil {
		return nil, err
	}
	sot, eot := encoder["<|startoftext|>"], encoder["<|endoftext|>"]
	sum := sha256.Sum256(defaultBPE)
	return &Tokenizer{
		kind: KindBPE, source: "bundled OpenAI CLIP vocabulary", version: "bpe:" + hex.EncodeToString(sum[:8]) + "/1",
		normalize: Clean,
		preTok: func(words []string, _ bool) []string {
			var out []string
			for _, w := range words {
				out = append(out, splitRE.FindAllString(w, -1)...)
			}
			return out
		},
		model:  &openAIBPE{bpe: bpe, sot: sot, eot: eot},
		prefix: []int32{sot}, suffix: []int32{eot},
		maxLen: ContextLength, padID: eot, eot: eot, vocabSize: len(encoder),
	}, nil
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

// TokenizerVersion names the default tokenizer (the embedded vocabulary
// and this implementation's revision): cached text embeddings key on it. A
// model's own tokenizer file is covered by the model's content hash.
func TokenizerVersion() string {
	sum := sha256.Sum256(defaultBPE)
	return "bpe:" + hex.EncodeToString(sum[:8]) + "/1"
}
