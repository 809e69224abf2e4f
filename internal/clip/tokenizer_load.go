package clip

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// tokenizerImplVersion changes when a tokenizer read from a model's own
// files would give different ids for the same file.
const tokenizerImplVersion = "1"

// The files a model folder's tokenizer may come from, in the order they are
// tried.
var tokenizerFileNames = []string{"tokenizer.json", "vocab.txt", "spiece.model"}

// TokenizerFiles lists the files of dir the tokenizer is read from (the
// tokenizer file itself and the configuration it reads limits from), for
// the model's content hash.
func TokenizerFiles(dir string) []string {
	var out []string
	for _, name := range tokenizerFileNames {
		if p := filepath.Join(dir, name); isFile(p) {
			out = append(out, p)
			break
		}
	}
	if p := filepath.Join(dir, "tokenizer_config.json"); isFile(p) {
		out = append(out, p)
	}
	return out
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// TokenizerForDir returns the tokenizer a model folder describes, from the
// first of: tokenizer.json (BPE, WordPiece or Unigram), vocab.txt
// (WordPiece with BERT's defaults), spiece.model (SentencePiece Unigram);
// else OpenAI's bundled vocabulary, but only when config.json says the model
// is an OpenAI CLIP. Anything else is an error: a model never silently gets
// another model's vocabulary.
func TokenizerForDir(dir string) (*Tokenizer, error) {
	if p := filepath.Join(dir, "tokenizer.json"); isFile(p) {
		return LoadTokenizerJSON(p)
	}
	if p := filepath.Join(dir, "vocab.txt"); isFile(p) {
		return LoadVocabTxt(p)
	}
	if p := filepath.Join(dir, "spiece.model"); isFile(p) {
		return LoadSentencePiece(p)
	}
	cfg, err := readModelLimits(dir)
	if err != nil {
		return nil, err
	}
	if !cfg.isOpenAICLIP() {
		what := "config.json has no model_type"
		if cfg.ModelType != "" {
			what = fmt.Sprintf("config.json says model_type %q", cfg.ModelType)
		}
		if cfg.ModelType == "clip" {
			what = fmt.Sprintf("config.json says a vocabulary of %d, not OpenAI's 49408", cfg.TextConfig.VocabSize)
		}
		return nil, fmt.Errorf("no tokenizer.json, vocab.txt or spiece.model, and %s: the bundled OpenAI CLIP vocabulary is only used for OpenAI CLIP models", what)
	}
	return DefaultTokenizer()
}

// modelLimits is what the tokenizer reads from config.json and
// tokenizer_config.json.
type modelLimits struct {
	ModelType  string `json:"model_type"`
	TextConfig struct {
		MaxPositions int `json:"max_position_embeddings"`
		VocabSize    int `json:"vocab_size"`
	} `json:"text_config"`
	tokCfg tokenizerConfig
}

// tokenizerConfig is the part of Hugging Face's tokenizer_config.json convis
// reads.
type tokenizerConfig struct {
	ModelMaxLength *float64 `json:"model_max_length"`
	DoLowerCase    *bool    `json:"do_lower_case"`
	StripAccents   *bool    `json:"strip_accents"`
	ChineseChars   *bool    `json:"tokenize_chinese_chars"`
	PadToken       any      `json:"pad_token"` // a string or {"content": ...}
}

func (c *modelLimits) isOpenAICLIP() bool {
	return c.ModelType == "clip" && (c.TextConfig.VocabSize == 0 || c.TextConfig.VocabSize == 49408)
}

func readModelLimits(dir string) (*modelLimits, error) {
	c := &modelLimits{}
	if data, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		if err := json.Unmarshal(data, c); err != nil {
			return nil, fmt.Errorf("config.json: invalid JSON: %v", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if data, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		if err := json.Unmarshal(data, &c.tokCfg); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: invalid JSON: %v", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return c, nil
}

// maxLength is the context length when the tokenizer file sets none:
// tokenizer_config.json's model_max_length (Hugging Face writes 1e30 for
// "none"), else config.json's text_config.max_position_embeddings.
func (c *modelLimits) maxLength() (int, error) {
	if l := c.tokCfg.ModelMaxLength; l != nil && *l >= 1 && *l <= 1<<20 {
		return int(*l), nil
	}
	if c.TextConfig.MaxPositions > 0 {
		return c.TextConfig.MaxPositions, nil
	}
	if c.isOpenAICLIP() {
		return ContextLength, nil
	}
	return 0, fmt.Errorf("no maximum length: no truncation here, no model_max_length in tokenizer_config.json, no text_config.max_position_embeddings in config.json")
}

// isSigLIP says config.json is a SigLIP's (Hugging Face's model types).
func (c *modelLimits) isSigLIP() bool {
	return c.ModelType == "siglip" || c.ModelType == "siglip_text_model"
}

// padSigLIP pads a SigLIP's sequences to the context length when the
// tokenizer file itself does not pad: SigLIP's text tower was trained on
// sequences padded to 64 and pools the last position, so Hugging Face's
// processor pads with padding="max_length" (the pad token is
// tokenizer_config.json's, </s> by SiglipTokenizer's default).
func (c *modelLimits) padSigLIP(t *Tokenizer, vocab map[string]int32) {
	if !c.isSigLIP() || t.padFixed > 0 {
		return
	}
	t.padFixed = t.maxLen
	t.padID = t.eot
	if id, ok := vocab[c.padToken()]; ok {
		t.padID = id
	}
}

func (c *modelLimits) padToken() string {
	switch v := c.tokCfg.PadToken.(type) {
	case string:
		return v
	case map[string]any:
		if s, ok := v["content"].(string); ok {
			return s
		}
	}
	return ""
}

type tokenizerFile struct {
	Truncation *struct {
		Direction string `json:"direction"`
		MaxLength int    `json:"max_length"`
	} `json:"truncation"`
	Padding *struct {
		Strategy        json.RawMessage `json:"strategy"`
		Direction       string          `json:"direction"`
		PadToMultipleOf *int            `json:"pad_to_multiple_of"`
		PadID           int32           `json:"pad_id"`
	} `json:"padding"`
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
}

// loadTokenizerFile reads a tokenizer file and parses it; its errors start
// with the file's name.
func loadTokenizerFile(path string, parse func(path string, data []byte) (*Tokenizer, error)) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		var t *Tokenizer
		if t, err = parse(path, data); err == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
}

// LoadTokenizerJSON reads a Hugging Face tokenizer.json: its normaliser,
// pre-tokenizer, model (BPE, WordPiece or Unigram), added tokens,
// post-processor, truncation and padding. tokenizer_config.json and
// config.json beside it supply the maximum length when the file has none.
func LoadTokenizerJSON(path string) (*Tokenizer, error) {
	return loadTokenizerFile(path, loadTokenizerJSON)
}

func loadTokenizerJSON(path string, data []byte) (*Tokenizer, error) {
	var f tokenizerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %v", err)
	}
	limits, err := readModelLimits(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{source: path, eot: -1}
	var vocab map[string]int32
	t.kind, t.model, vocab, err = readModel(f.Model)
	if err != nil {
		return nil, err
	}
	for _, a := range f.AddedTokens {
		if _, ok := vocab[a.Content]; !ok {
			vocab[a.Content] = a.ID
		}
	}
	t.added = newAddedVocab(f.AddedTokens)
	if t.normalize, err = readNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if t.preTok, err = readPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if t.prefix, t.suffix, err = readPostProcessor(f.PostProcessor, vocab); err != nil {
		return nil, err
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, err
	}
	if f.Truncation != nil && f.Truncation.MaxLength > 0 {
		t.maxLen = f.Truncation.MaxLength
		t.truncLeft = f.Truncation.Direction == "Left"
	} else if t.maxLen, err = limits.maxLength(); err != nil {
		return nil, err
	}
	if len(t.suffix) > 0 {
		t.eot = t.suffix[len(t.suffix)-1]
	}
	t.padID = t.eot
	if id, ok := vocab[limits.padToken()]; ok {
		t.padID = id
	} else if id, ok := vocab["[PAD]"]; ok {
		t.padID = id
	} else if id, ok := vocab["<pad>"]; ok {
		t.padID = id
	}
	if p := f.Padding; p != nil {
		t.padID = p.PadID
		t.padLeft = p.Direction == "Left"
		var fixed struct {
			Fixed int `json:"Fixed"`
		}
		var name string
		switch {
		case json.Unmarshal(p.Strategy, &name) == nil && name == "BatchLongest":
			// the encoder pads a batch to its longest sequence with PadID
		case json.Unmarshal(p.Strategy, &fixed) == nil && fixed.Fixed > 0:
			t.padFixed = fixed.Fixed
			if p.PadToMultipleOf != nil {
				t.padMultiple = *p.PadToMultipleOf
			}
		default:
			return nil, fmt.Errorf("padding strategy %s is not supported", p.Strategy)
		}
	}
	limits.padSigLIP(t, vocab)
	t.vocabSize = vocabSize(vocab)
	t.version = strings.ToLower(t.kind) + ":tokenizer.json/" + tokenizerImplVersion
	return t, nil
}

// vocabSize is one more than the largest id.
func vocabSize(vocab map[string]int32) int {
	n := 0
	for _, id := range vocab {
		n = max(n, int(id)+1)
	}
	return n
}

// readModel reads tokenizer.json's "model".
func readModel(raw json.RawMessage) (string, tokenModel, map[string]int32, error) {
	typ, ok, err := partType(raw)
	if err != nil {
		return "", nil, nil, fmt.Errorf("model: %v", err)
	}
	if !ok {
		return "", nil, nil, fmt.Errorf("no model")
	}
	switch typ {
	case "BPE":
		var p struct {
			Vocab                   map[string]int32 `json:"vocab"`
			Merges                  json.RawMessage  `json:"merges"`
			Dropout                 *float64         `json:"dropout"`
			UnkToken                *string          `json:"unk_token"`
			ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
			EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
			FuseUnk                 bool             `json:"fuse_unk"`
			ByteFallback            bool             `json:"byte_fallback"`
			IgnoreMerges            bool             `json:"ignore_merges"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return "", nil, nil, fmt.Errorf("model BPE: %v", err)
		}
		if len(p.Vocab) == 0 {
			return "", nil, nil, fmt.Errorf("model BPE has no vocabulary")
		}
		if p.Dropout != nil && *p.Dropout > 0 {
			return "", nil, nil, &partError{"model", "BPE", "dropout is not supported (it makes tokenization random)"}
		}
		merges, err := readMerges(p.Merges)
		if err != nil {
			return "", nil, nil, err
		}
		opts := bpeOptions{unk: -1, fuseUnk: p.FuseUnk, byteFallback: p.ByteFallback, ignoreMerges: p.IgnoreMerges}
		if p.ContinuingSubwordPrefix != nil {
			opts.continuingSubwordPrefix = *p.ContinuingSubwordPrefix
		}
		if p.EndOfWordSuffix != nil {
			opts.endOfWordSuffix = *p.EndOfWordSuffix
		}
		if p.UnkToken != nil {
			id, ok := p.Vocab[*p.UnkToken]
			if !ok {
				return "", nil, nil, fmt.Errorf("model BPE: unk_token %q is not in the vocabulary", *p.UnkToken)
			}
			opts.unk = id
		}
		m, err := newBPEModel(p.Vocab, merges, opts)
		if err != nil {
			return "", nil, nil, fmt.Errorf("model BPE: %v", err)
		}
		return KindBPE, m, copyVocab(p.Vocab), nil
	case "WordPiece":
		p := struct {
			Vocab    map[string]int32 `json:"vocab"`
			Unk      string           `json:"unk_token"`
			Prefix   *string          `json:"continuing_subword_prefix"`
			MaxChars int              `json:"max_input_chars_per_word"`
		}{Unk: "[UNK]", MaxChars: 100}
		if err := json.Unmarshal(raw, &p); err != nil {
			return "", nil, nil, fmt.Errorf("model WordPiece: %v", err)
		}
		prefix := "##"
		if p.Prefix != nil {
			prefix = *p.Prefix
		}
		m, err := newWordPiece(p.Vocab, p.Unk, prefix, p.MaxChars)
		if err != nil {
			return "", nil, nil, fmt.Errorf("model WordPiece: %v", err)
		}
		return KindWordPiece, m, copyVocab(p.Vocab), nil
	case "Unigram":
		var p struct {
			Vocab        [][2]json.RawMessage `json:"vocab"`
			UnkID        *int                 `json:"unk_id"`
			ByteFallback bool                 `json:"byte_fallback"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return "", nil, nil, fmt.Errorf("model Unigram: %v", err)
		}
		if len(p.Vocab) == 0 {
			return "", nil, nil, fmt.Errorf("model Unigram has no vocabulary")
		}
		pieces := make([]string, len(p.Vocab))
		scores := make([]float64, len(p.Vocab))
		vocab := make(map[string]int32, len(p.Vocab))
		for i, e := range p.Vocab {
			if err := json.Unmarshal(e[0], &pieces[i]); err != nil {
				return "", nil, nil, fmt.Errorf("model Unigram: vocab entry %d: %v", i, err)
			}
			if err := json.Unmarshal(e[1], &scores[i]); err != nil {
				return "", nil, nil, fmt.Errorf("model Unigram: vocab entry %d: %v", i, err)
			}
			if _, dup := vocab[pieces[i]]; !dup {
				vocab[pieces[i]] = int32(i)
			}
		}
		unk := int32(-1)
		if p.UnkID != nil {
			if *p.UnkID < 0 || *p.UnkID >= len(pieces) {
				return "", nil, nil, fmt.Errorf("model Unigram: unk_id %d outside the vocabulary of %d", *p.UnkID, len(pieces))
			}
			unk = int32(*p.UnkID)
		}
		return KindUnigram, newUnigramModel(pieces, scores, nil, unk, p.ByteFallback), vocab, nil
	}
	return "", nil, nil, &partError{"model", typ, ""}
}

func copyVocab(v map[string]int32) map[string]int32 {
	out := make(map[string]int32, len(v))
	for k, id := range v {
		out[k] = id
	}
	return out
}

func newWordPiece(vocab map[string]int32, unk, prefix string, maxChars int) (*wordPieceModel, error) {
	if len(vocab) == 0 {
		return nil, fmt.Errorf("no vocabulary")
	}
	id, ok := vocab[unk]
	if !ok {
		return nil, fmt.Errorf("unk_token %q is not in the vocabulary", unk)
	}
	if maxChars <= 0 {
		maxChars = 100
	}
	return &wordPieceModel{vocab: vocab, unk: id, prefix: prefix, maxChars: maxChars}, nil
}

// readMerges reads "a b" strings (older files) or ["a", "b"] pairs (newer).
func readMerges(raw json.RawMessage) ([][2]string, error) {
	var merges [][2]string
	var asStrings []string
	if err := json.Unmarshal(raw, &asStrings); err == nil {
		for _, m := range asStrings {
			a, b, ok := strings.Cut(m, " ")
			if !ok {
				return nil, fmt.Errorf("model BPE: bad merge %q", m)
			}
			merges = append(merges, [2]string{a, b})
		}
		return merges, nil
	}
	if err := json.Unmarshal(raw, &merges); err == nil {
		return merges, nil
	}
	return nil, fmt.Errorf("model BPE: cannot read merges")
}

// readPostProcessor returns the special tokens a single sequence gets
// before and after its ids.
func readPostProcessor(raw json.RawMessage, vocab map[string]int32) (prefix, suffix []int32, err error) {
	typ, ok, err := partType(raw)
	if err != nil || !ok {
		return nil, nil, err
	}
	tokenPair := func(p [2]json.RawMessage, name string) (int32, error) {
		var id int32
		if err := json.Unmarshal(p[1], &id); err != nil {
			return 0, &partError{"post_processor", typ, name + ": " + err.Error()}
		}
		return id, nil
	}
	switch typ {
	case "ByteLevel":
		return nil, nil, nil // offsets only
	case "BertProcessing", "RobertaProcessing":
		var p struct {
			Sep [2]json.RawMessage `json:"sep"`
			Cls [2]json.RawMessage `json:"cls"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, nil, &partError{"post_processor", typ, err.Error()}
		}
		cls, err := tokenPair(p.Cls, "cls")
		if err != nil {
			return nil, nil, err
		}
		sep, err := tokenPair(p.Sep, "sep")
		if err != nil {
			return nil, nil, err
		}
		return []int32{cls}, []int32{sep}, nil
	case "TemplateProcessing":
		var p struct {
			Single []struct {
				SpecialToken *struct {
					ID string `json:"id"`
				} `json:"SpecialToken"`
				Sequence *struct {
					ID string `json:"id"`
				} `json:"Sequence"`
			} `json:"single"`
			SpecialTokens map[string]struct {
				IDs []int32 `json:"ids"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, nil, &partError{"post_processor", typ, err.Error()}
		}
		seen := false
		for _, item := range p.Single {
			switch {
			case item.Sequence != nil:
				if seen || item.Sequence.ID != "A" {
					return nil, nil, &partError{"post_processor", typ, "single template must hold $A once"}
				}
				seen = true
			case item.SpecialToken != nil:
				st, ok := p.SpecialTokens[item.SpecialToken.ID]
				if !ok {
					return nil, nil, &partError{"post_processor", typ, fmt.Sprintf("special token %q is not in special_tokens", item.SpecialToken.ID)}
				}
				if seen {
					suffix = append(suffix, st.IDs...)
				} else {
					prefix = append(prefix, st.IDs...)
				}
			}
		}
		if !seen {
			return nil, nil, &partError{"post_processor", typ, "single template has no $A"}
		}
		return prefix, suffix, nil
	case "Sequence":
		var p struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, nil, &partError{"post_processor", typ, err.Error()}
		}
		for _, q := range p.Processors {
			pre, suf, err := readPostProcessor(q, vocab)
			if err != nil {
				return nil, nil, err
			}
			prefix, suffix = append(pre, prefix...), append(suffix, suf...)
		}
		return prefix, suffix, nil
	}
	return nil, nil, &partError{"post_processor", typ, ""}
}

// checkDecoder accepts the decoders of the files convis reads. convis never
// turns ids back into text, so a decoder changes nothing here; an unknown
// one is still an error, so that a file convis does not understand is not
// taken as understood.
func checkDecoder(raw json.RawMessage) error {
	typ, ok, err := partType(raw)
	if err != nil || !ok {
		return err
	}
	switch typ {
	case "ByteLevel", "WordPiece", "Metaspace", "BPEDecoder", "ByteFallback", "Fuse", "Strip", "Replace", "CTC":
		return nil
	case "Sequence":
		var p struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		for _, d := range p.Decoders {
			if err := checkDecoder(d); err != nil {
				return err
			}
		}
		return nil
	}
	return &partError{"decoder", typ, ""}
}

// LoadVocabTxt reads a BERT vocab.txt (one piece a line, the id its line
// number) as a WordPiece tokenizer with BERT's defaults: BertNormalizer
// (lower case and accents stripped unless tokenizer_config.json says
// otherwise), BertPreTokenizer, [CLS] $A [SEP], [UNK], "##" continuations,
// 100 characters a word at most.
func LoadVocabTxt(path string) (*Tokenizer, error) {
	return loadTokenizerFile(path, loadVocabTxt)
}

func loadVocabTxt(path string, data []byte) (*Tokenizer, error) {
	vocab := map[string]int32{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	n := int32(0)
	for sc.Scan() {
		// tokenization.py's load_vocab strips each line
		if tok := strings.TrimSpace(sc.Text()); tok != "" {
			if _, dup := vocab[tok]; !dup {
				vocab[tok] = n
			}
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	limits, err := readModelLimits(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	m, err := newWordPiece(vocab, "[UNK]", "##", 100)
	if err != nil {
		return nil, err
	}
	cls, ok1 := vocab["[CLS]"]
	sep, ok2 := vocab["[SEP]"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("vocabulary lacks [CLS] or [SEP]")
	}
	lower, cjk := true, true
	if c := limits.tokCfg; c.DoLowerCase != nil {
		lower = *c.DoLowerCase
	}
	if c := limits.tokCfg; c.ChineseChars != nil {
		cjk = *c.ChineseChars
	}
	strip := lower
	if c := limits.tokCfg; c.StripAccents != nil {
		strip = *c.StripAccents
	}
	var specials []addedToken
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		if id, ok := vocab[s]; ok {
			specials = append(specials, addedToken{ID: id, Content: s, Special: true})
		}
	}
	sort.Slice(specials, func(i, j int) bool { return specials[i].ID < specials[j].ID })
	maxLen, err := limits.maxLength()
	if err != nil {
		return nil, err
	}
	bpt, _ := readPreTokenizer(json.RawMessage(`{"type": "BertPreTokenizer"}`))
	t := &Tokenizer{
		kind: KindWordPiece, source: path, version: "wordpiece:vocab.txt/" + tokenizerImplVersion,
		normalize: bertNormalizer(true, cjk, strip, lower), preTok: bpt, model: m, added: newAddedVocab(specials),
		prefix: []int32{cls}, suffix: []int32{sep}, maxLen: maxLen, eot: sep, padID: sep, vocabSize: int(n),
	}
	if id, ok := vocab[limits.padToken()]; ok {
		t.padID = id
	} else if id, ok := vocab["[PAD]"]; ok {
		t.padID = id
	}
	return t, nil
}
