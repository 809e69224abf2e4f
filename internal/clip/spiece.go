package clip

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// spModel is the part of SentencePiece's ModelProto (sentencepiece_model.proto)
// convis reads, decoded field by field with protowire: the generated Go
// package would need the .proto compiled into this module for a handful of
// fields.
type spModel struct {
	pieces []string
	scores []float64
	types  []int // 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte

	modelType    int // 1 unigram, 2 bpe, 3 word, 4 char
	byteFallback bool
	unkID        int
	bosID, eosID int
	padID        int

	normName        string
	charsmap        []byte
	addDummyPrefix  bool
	removeExtraWS   bool
	escapeWS        bool
	whitespaceAfter bool // treat_whitespace_as_suffix
}

func parseSentencePiece(data []byte) (*spModel, error) {
	m := &spModel{modelType: 1, unkID: 0, bosID: 1, eosID: 2, padID: -1, addDummyPrefix: true, removeExtraWS: true, escapeWS: true}
	err := eachField(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1: // pieces
			if typ != protowire.BytesType {
				return fmt.Errorf("pieces: wire type %d", typ)
			}
			piece, score, ptype := "", 0.0, 1
			err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					piece = string(v)
				case num == 2 && typ == protowire.Fixed32Type:
					score = float64(math.Float32frombits(uint32(x)))
				case num == 3 && typ == protowire.VarintType:
					ptype = int(x)
				}
				return nil
			})
			if err != nil {
				return err
			}
			m.pieces = append(m.pieces, piece)
			m.scores = append(m.scores, score)
			m.types = append(m.types, ptype)
		case 2: // trainer_spec
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				if typ != protowire.VarintType {
					return nil
				}
				switch num {
				case 3:
					m.modelType = int(x)
				case 24:
					m.whitespaceAfter = x != 0
				case 35:
					m.byteFallback = x != 0
				case 40:
					m.unkID = int(int32(x))
				case 41:
					m.bosID = int(int32(x))
				case 42:
					m.eosID = int(int32(x))
				case 43:
					m.padID = int(int32(x))
				}
				return nil
			})
		case 3: // normalizer_spec
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					m.normName = string(v)
				case num == 2 && typ == protowire.BytesType:
					m.charsmap = append([]byte(nil), v...)
				case num == 3 && typ == protowire.VarintType:
					m.addDummyPrefix = x != 0
				case num == 4 && typ == protowire.VarintType:
					m.removeExtraWS = x != 0
				case num == 5 && typ == protowire.VarintType:
					m.escapeWS = x != 0
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(m.pieces) == 0 {
		return nil, fmt.Errorf("no pieces: not a SentencePiece model")
	}
	return m, nil
}

// eachField calls f for every field of a protobuf message; v holds the
// bytes of length-delimited fields and x the value of the others.
func eachField(data []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("bad protobuf: %v", protowire.ParseError(n))
		}
		data = data[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(data)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(data)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(data)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return fmt.Errorf("bad protobuf: %v", protowire.ParseError(n))
		}
		data = data[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// LoadSentencePiece reads a SentencePiece Unigram model (spiece.model) as
// SentencePiece encodes with it: its normalisation (the precompiled
// charsmap, extra whitespace removed, a ▁ prefix, spaces as ▁), Viterbi over
// the piece scores, byte fallback; the sequence ends with </s> (eos_id), as
// Hugging Face's tokenizers for SentencePiece CLIPs (SigLIP, T5) do. The
// maximum length comes from tokenizer_config.json or config.json.
func LoadSentencePiece(path string) (*Tokenizer, error) {
	return loadTokenizerFile(path, loadSentencePiece)
}

func loadSentencePiece(path string, data []byte) (*Tokenizer, error) {
	m, err := parseSentencePiece(data)
	if err != nil {
		return nil, err
	}
	if m.modelType != 1 {
		name := map[int]string{2: "BPE", 3: "WORD", 4: "CHAR"}[m.modelType]
		return nil, fmt.Errorf("SentencePiece model type %s (%d) is not supported: only Unigram", name, m.modelType)
	}
	if m.whitespaceAfter {
		return nil, fmt.Errorf("treat_whitespace_as_suffix is not supported")
	}
	var cm *charsmap
	if len(m.charsmap) > 0 {
		if cm, err = newCharsmap(m.charsmap); err != nil {
			return nil, err
		}
	} else if m.normName != "" && m.normName != "identity" {
		return nil, fmt.Errorf("normalization rule %q has no precompiled charsmap", m.normName)
	}
	inRange := func(id int) bool { return id >= 0 && id < len(m.pieces) }
	unk := int32(-1)
	if inRange(m.unkID) {
		unk = int32(m.unkID)
	}
	usable := func(id int) bool { t := m.types[id]; return t == 1 || t == 4 }
	model := newUnigramModel(m.pieces, m.scores, usable, unk, m.byteFallback)
	limits, err := readModelLimits(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	maxLen, err := limits.maxLength()
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{
		kind: KindUnigram, source: path, version: "unigram:spiece.model/" + tokenizerImplVersion,
		model: model, maxLen: maxLen, eot: -1, vocabSize: len(m.pieces),
	}
	t.normalize = func(s string) string {
		if cm != nil {
			s = cm.normalize(s)
		}
		if m.removeExtraWS {
			s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
		}
		return s
	}
	esc := " "
	if m.escapeWS {
		esc = "▁"
	}
	t.preTok = func(words []string, _ bool) []string {
		var out []string
		for _, w := range words {
			w = strings.ReplaceAll(w, " ", esc)
			if m.addDummyPrefix && !strings.HasPrefix(w, esc) {
				w = esc + w
			}
			out = append(out, w) // Viterbi over the whole text, as SentencePiece runs it
		}
		return out
	}
	if inRange(m.eosID) {
		t.suffix = []int32{int32(m.eosID)}
		t.eot = int32(m.eosID)
	}
	t.padID = t.eot
	if inRange(m.padID) {
		t.padID = int32(m.padID)
	}
	vocab := map[string]int32{}
	for i, p := range m.pieces {
		if _, dup := vocab[p]; !dup {
			vocab[p] = int32(i)
		}
	}
	limits.padSigLIP(t, vocab)
	return t, nil
}
