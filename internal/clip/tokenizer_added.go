package clip

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens: text that is
// never split and maps to one id.
type addedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// addedVocab finds added tokens in text, longest match first at the
// leftmost position (as Hugging Face's tokenizers do). Tokens with
// normalized=false are found in the raw text, the others in each normalised
// segment.
type addedVocab struct {
	raw, normalized []addedToken // longest content first
}

func newAddedVocab(tokens []addedToken) *addedVocab {
	if len(tokens) == 0 {
		return nil
	}
	v := &addedVocab{}
	for _, t := range tokens {
		if t.Content == "" {
			continue
		}
		if t.Normalized {
			v.normalized = append(v.normalized, t)
		} else {
			v.raw = append(v.raw, t)
		}
	}
	for _, l := range [][]addedToken{v.raw, v.normalized} {
		sort.SliceStable(l, func(i, j int) bool { return len(l[i].Content) > len(l[j].Content) })
	}
	return v
}

// segment is a piece of text (id < 0) or an added token (id >= 0); start
// is its byte offset in the text split.
type segment struct {
	text  string
	id    int32
	start int
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_'
}

// split cuts text at the added tokens of one kind (normalized or not).
func (v *addedVocab) split(text string, normalized bool) []segment {
	var toks []addedToken
	if v != nil {
		toks = v.raw
		if normalized {
			toks = v.normalized
		}
	}
	if len(toks) == 0 {
		return []segment{{text, -1, 0}}
	}
	var out []segment
	last := 0 // start of the pending text
	for i := 0; i < len(text); {
		var hit *addedToken
		for k := range toks {
			t := &toks[k]
			if !strings.HasPrefix(text[i:], t.Content) {
				continue
			}
			if t.SingleWord {
				before, _ := utf8.DecodeLastRuneInString(text[:i])
				after, _ := utf8.DecodeRuneInString(text[i+len(t.Content):])
				if (i > 0 && isWordRune(before)) || (i+len(t.Content) < len(text) && isWordRune(after)) {
					continue
				}
			}
			hit = t
			break
		}
		if hit == nil {
			_, n := utf8.DecodeRuneInString(text[i:])
			i += n
			continue
		}
		start, end := i, i+len(hit.Content)
		if hit.Lstrip {
			start = last + len(strings.TrimRightFunc(text[last:start], unicode.IsSpace))
		}
		if hit.Rstrip {
			end += len(text[end:]) - len(strings.TrimLeftFunc(text[end:], unicode.IsSpace))
		}
		if start > last {
			out = append(out, segment{text[last:start], -1, last})
		}
		out = append(out, segment{"", hit.ID, start})
		i, last = end, end
	}
	if last < len(text) {
		out = append(out, segment{text[last:], -1, last})
	}
	return out
}
