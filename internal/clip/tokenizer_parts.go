package clip

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The parts of a tokenizer.json pipeline convis implements. Each reader
// returns an error naming the part it does not implement.

type partError struct{ kind, name, detail string }

func (e *partError) Error() string {
	if e.detail != "" {
		return fmt.Sprintf("%s %q: %s", e.kind, e.name, e.detail)
	}
	return fmt.Sprintf("%s %q is not supported", e.kind, e.name)
}

type jsonPart struct {
	Type string `json:"type"`
}

func partType(raw json.RawMessage) (string, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	var p jsonPart
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", false, err
	}
	return p.Type, true, nil
}

// pattern is tokenizer.json's {"String": "..."} or {"Regex": "..."}.
type pattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p pattern) compile() (*regexp.Regexp, error) {
	switch {
	case p.String != nil:
		return regexp.MustCompile(regexp.QuoteMeta(*p.String)), nil
	case p.Regex != nil:
		return compileOniguruma(*p.Regex)
	}
	return nil, fmt.Errorf("pattern has neither String nor Regex")
}

// The Unicode classes behind Oniguruma's \s, \w and \d (Go's are ASCII).
const (
	uniSpace = `\t\n\v\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
	uniWord  = `\p{L}\p{M}\p{Nd}\p{Pc}`
	uniDigit = `\p{Nd}`
)

// compileOniguruma translates the patterns found in tokenizer files
// (Oniguruma syntax, as the Rust library uses) to Go's RE2: \s, \w and \d
// become their Unicode classes. Look-around and back-references, which RE2
// lacks, are an error.
func compileOniguruma(src string) (*regexp.Regexp, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' && i+1 < len(src) {
			n := src[i+1]
			class := map[byte]string{'s': uniSpace, 'w': uniWord, 'd': uniDigit}
			neg := map[byte]byte{'S': 's', 'W': 'w', 'D': 'd'}
			if cl, ok := class[n]; ok {
				if inClass {
					b.WriteString(cl)
				} else {
					b.WriteString("[" + cl + "]")
				}
				i++
				continue
			}
			if pos, ok := neg[n]; ok {
				if inClass {
					return nil, fmt.Errorf("regex %q: \\%c inside a class is not supported", src, n)
				}
				b.WriteString("[^" + class[pos] + "]")
				i++
				continue
			}
			b.WriteByte(c)
			b.WriteByte(n)
			i++
			continue
		}
		switch c {
		case '[':
			if inClass {
				b.WriteString(`\[`)
				continue
			}
			inClass = true
			b.WriteByte(c)
			// a leading ] or ^] is literal
			if i+1 < len(src) && src[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(src) && src[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
			continue
		case ']':
			inClass = false
		}
		b.WriteByte(c)
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("regex %q is not supported by Go's regexp: %v", src, err)
	}
	return re, nil
}

// ---- normalizers ----

func readNormalizer(raw json.RawMessage) (normalizer, error) {
	typ, ok, err := partType(raw)
	if err != nil || !ok {
		return nil, err
	}
	switch typ {
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Lowercase":
		return lowerFull, nil
	case "StripAccents":
		return stripMarks, nil
	case "Strip":
		var p struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		return func(s string) string {
			if p.Left {
				s = strings.TrimLeftFunc(s, unicode.IsSpace)
			}
			if p.Right {
				s = strings.TrimRightFunc(s, unicode.IsSpace)
			}
			return s
		}, nil
	case "Replace":
		var p struct {
			Pattern pattern `json:"pattern"`
			Content string  `json:"content"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		re, err := p.Pattern.compile()
		if err != nil {
			return nil, &partError{"normalizer", typ, err.Error()}
		}
		return func(s string) string { return re.ReplaceAllLiteralString(s, p.Content) }, nil
	case "Prepend":
		var p struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		return func(s string) string {
			if s == "" {
				return s
			}
			return p.Prepend + s
		}, nil
	case "BertNormalizer":
		p := struct {
			CleanText    bool  `json:"clean_text"`
			ChineseChars bool  `json:"handle_chinese_chars"`
			StripAccents *bool `json:"strip_accents"`
			Lowercase    bool  `json:"lowercase"`
		}{CleanText: true, ChineseChars: true, Lowercase: true}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		strip := p.Lowercase
		if p.StripAccents != nil {
			strip = *p.StripAccents
		}
		return bertNormalizer(p.CleanText, p.ChineseChars, strip, p.Lowercase), nil
	case "Precompiled":
		var p struct {
			Charsmap []byte `json:"precompiled_charsmap"` // base64 in JSON
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, &partError{"normalizer", typ, err.Error()}
		}
		if len(p.Charsmap) == 0 || (len(p.Charsmap) >= 4 && binary.LittleEndian.Uint32(p.Charsmap) == 0) {
			// null, empty or an empty trie: the Rust library maps nothing
			// either (files converted from identity-normalised models)
			return nil, nil
		}
		cm, err := newCharsmap(p.Charsmap)
		if err != nil {
			return nil, &partError{"normalizer", typ, err.Error()}
		}
		return cm.normalize, nil
	case "Sequence":
		var p struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		var seq []normalizer
		for _, n := range p.Normalizers {
			f, err := readNormalizer(n)
			if err != nil {
				return nil, err
			}
			if f != nil {
				seq = append(seq, f)
			}
		}
		return func(s string) string {
			for _, f := range seq {
				s = f(s)
			}
			return s
		}, nil
	}
	return nil, &partError{"normalizer", typ, ""}
}

// lowerFull lower-cases with Unicode's full mapping where it differs from
// the simple one Go's strings.ToLower uses: U+0130 (İ) becomes "i̇", as in
// Rust's char::to_lowercase and Python's str.lower.
func lowerFull(s string) string {
	if strings.ContainsRune(s, 'İ') {
		s = strings.ReplaceAll(s, "İ", "i\u0307")
	}
	return strings.ToLower(s)
}

// stripMarks removes nonspacing marks after canonical decomposition.
func stripMarks(s string) string {
	s = norm.NFD.String(s)
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, s)
}

// isBertControl is BERT's _is_control: Unicode category C* except tab,
// newline and carriage return. Unassigned code points (Cn) count too.
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isBertSpace is BERT's _is_whitespace: space, tab, newline, CR and Zs.
func isBertSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isBertPunct is BERT's _is_punctuation: ASCII non-alphanumeric symbols
// and Unicode category P*.
func isBertPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// isCJK is BERT's _is_chinese_char: the CJK Unified Ideographs blocks.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// bertNormalizer is BERT's BasicTokenizer up to the split: control
// characters removed and whitespace made ' ' (clean_text), spaces around CJK
// characters, lower case and accents stripped.
func bertNormalizer(clean, cjk, strip, lower bool) normalizer {
	return func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case clean && (r == 0 || r == utf8.RuneError || isBertControl(r)):
				continue
			case clean && isBertSpace(r):
				b.WriteByte(' ')
			case cjk && isCJK(r):
				b.WriteByte(' ')
				b.WriteRune(r)
				b.WriteByte(' ')
			default:
				b.WriteRune(r)
			}
		}
		s = b.String()
		if lower {
			s = lowerFull(s)
		}
		if strip {
			s = stripMarks(s)
		}
		return s
	}
}

// ---- pre-tokenizers ----

// splitBehavior cuts text at the matches of re (tokenizer.json's Split):
// delimiters are the matches, or with invert the text between them.
func splitBehavior(s string, re *regexp.Regexp, behavior string, invert bool) []string {
	return splitMatches(s, re.FindAllStringIndex(s, -1), behavior, invert)
}

func splitMatches(s string, matches [][]int, behavior string, invert bool) []string {
	type piece struct {
		s     string
		delim bool
	}
	var pieces []piece
	last := 0
	for _, m := range matches {
		if m[0] == m[1] {
			continue
		}
		if m[0] > last {
			pieces = append(pieces, piece{s[last:m[0]], invert})
		}
		pieces = append(pieces, piece{s[m[0]:m[1]], !invert})
		last = m[1]
	}
	if last < len(s) {
		pieces = append(pieces, piece{s[last:], invert})
	}
	var out []string
	switch behavior {
	case "Removed":
		for _, p := range pieces {
			if !p.delim {
				out = append(out, p.s)
			}
		}
	case "Isolated":
		for _, p := range pieces {
			out = append(out, p.s)
		}
	case "MergedWithPrevious":
		// a delimiter joins the piece before it unless that is a delimiter
		prevDelim := false
		for _, p := range pieces {
			if p.delim && !prevDelim && len(out) > 0 {
				out[len(out)-1] += p.s
			} else {
				out = append(out, p.s)
			}
			prevDelim = p.delim
		}
	case "MergedWithNext":
		// a delimiter joins the piece after it unless that is a delimiter
		nextDelim := false
		for k := len(pieces) - 1; k >= 0; k-- {
			p := pieces[k]
			if p.delim && !nextDelim && len(out) > 0 {
				out[len(out)-1] = p.s + out[len(out)-1]
			} else {
				out = append(out, p.s)
			}
			nextDelim = p.delim
		}
		slices.Reverse(out)
	case "Contiguous":
		prevDelim := false
		for _, p := range pieces {
			if p.delim && prevDelim && len(out) > 0 {
				out[len(out)-1] += p.s
			} else {
				out = append(out, p.s)
			}
			prevDelim = p.delim
		}
	}
	return out
}

var splitBehaviors = map[string]bool{"Removed": true, "Isolated": true, "MergedWithPrevious": true, "MergedWithNext": true, "Contiguous": true}

func eachWord(f func(string) []string) preTokenizer {
	return func(words []string, _ bool) []string {
		var out []string
		for _, w := range words {
			out = append(out, f(w)...)
		}
		return out
	}
}

var (
	whitespaceRE = regexp.MustCompile(`[` + uniWord + `]+|[^` + uniWord + uniSpace + `]+`)
	punctRE      = regexp.MustCompile(`[\p{P}!-/:-@\[-` + "`" + `{-~]`)
	digitsRE     = regexp.MustCompile(`\p{Nd}+`)
	digitRE      = regexp.MustCompile(`\p{Nd}`)
)

func readPreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	typ, ok, err := partType(raw)
	if err != nil || !ok {
		return nil, err
	}
	switch typ {
	case "ByteLevel":
		p := struct {
			AddPrefixSpace bool  `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}{}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		useRegex := p.UseRegex == nil || *p.UseRegex
		table := bytesToUnicode()
		return eachWord(func(w string) []string {
			if p.AddPrefixSpace && !strings.HasPrefix(w, " ") {
				w = " " + w
			}
			words := []string{w}
			if useRegex {
				words = gpt2Split(w)
			}
			for i, x := range words {
				var b strings.Builder
				for _, c := range []byte(x) {
					b.WriteRune(table[c])
				}
				words[i] = b.String()
			}
			return words
		}), nil
	case "Whitespace":
		return eachWord(func(w string) []string { return whitespaceRE.FindAllString(w, -1) }), nil
	case "WhitespaceSplit":
		return eachWord(func(w string) []string { return strings.FieldsFunc(w, unicode.IsSpace) }), nil
	case "BertPreTokenizer":
		return eachWord(func(w string) []string {
			var out []string
			for _, f := range strings.FieldsFunc(w, unicode.IsSpace) {
				start := 0
				for i, r := range f {
					if isBertPunct(r) {
						if i > start {
							out = append(out, f[start:i])
						}
						out = append(out, string(r))
						start = i + utf8.RuneLen(r)
					}
				}
				if start < len(f) {
					out = append(out, f[start:])
				}
			}
			return out
		}), nil
	case "Metaspace":
		p := struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			Split          *bool   `json:"split"`
		}{Replacement: "▁"}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		scheme := "always"
		if p.PrependScheme != nil {
			scheme = *p.PrependScheme
		} else if p.AddPrefixSpace != nil && !*p.AddPrefixSpace {
			scheme = "never"
		}
		if scheme != "always" && scheme != "first" && scheme != "never" {
			return nil, &partError{"pre_tokenizer", typ, fmt.Sprintf("prepend_scheme %q is not supported", scheme)}
		}
		split := p.Split == nil || *p.Split
		rep := p.Replacement
		return func(words []string, first bool) []string {
			var out []string
			for i, w := range words {
				w = strings.ReplaceAll(w, " ", rep)
				if (scheme == "always" || (scheme == "first" && first && i == 0)) && !strings.HasPrefix(w, rep) {
					w = rep + w
				}
				if !split {
					out = append(out, w)
					continue
				}
				// split before each replacement character (MergedWithNext)
				start := 0
				for j := strings.Index(w[1:], rep); j >= 0; {
					at := start + 1 + j
					out = append(out, w[start:at])
					start = at
					if start+1 > len(w) {
						break
					}
					j = strings.Index(w[start+1:], rep)
				}
				out = append(out, w[start:])
			}
			return out
		}, nil
	case "Split":
		var p struct {
			Pattern  pattern `json:"pattern"`
			Behavior string  `json:"behavior"`
			Invert   bool    `json:"invert"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		if !splitBehaviors[p.Behavior] {
			return nil, &partError{"pre_tokenizer", typ, fmt.Sprintf("behavior %q is not supported", p.Behavior)}
		}
		if p.Pattern.Regex != nil && *p.Pattern.Regex == gpt2Pattern {
			// GPT-2's pattern needs a look-ahead RE2 lacks: use the scanner.
			return eachWord(func(w string) []string {
				var idx [][]int
				at := 0
				for _, x := range gpt2Split(w) {
					idx = append(idx, []int{at, at + len(x)})
					at += len(x)
				}
				return splitMatches(w, idx, p.Behavior, p.Invert)
			}), nil
		}
		re, err := p.Pattern.compile()
		if err != nil {
			return nil, &partError{"pre_tokenizer", typ, err.Error()}
		}
		return eachWord(func(w string) []string { return splitBehavior(w, re, p.Behavior, p.Invert) }), nil
	case "Punctuation":
		p := struct {
			Behavior string `json:"behavior"`
		}{Behavior: "Isolated"}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		if !splitBehaviors[p.Behavior] {
			return nil, &partError{"pre_tokenizer", typ, fmt.Sprintf("behavior %q is not supported", p.Behavior)}
		}
		return eachWord(func(w string) []string { return splitBehavior(w, punctRE, p.Behavior, false) }), nil
	case "Digits":
		var p struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		re := digitsRE
		if p.Individual {
			re = digitRE
		}
		return eachWord(func(w string) []string { return splitBehavior(w, re, "Isolated", false) }), nil
	case "Sequence":
		var p struct {
			PreTokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		var seq []preTokenizer
		for _, n := range p.PreTokenizers {
			f, err := readPreTokenizer(n)
			if err != nil {
				return nil, err
			}
			if f != nil {
				seq = append(seq, f)
			}
		}
		return func(words []string, first bool) []string {
			for _, f := range seq {
				words = f(words, first)
			}
			return words
		}, nil
	}
	return nil, &partError{"pre_tokenizer", typ, ""}
}

// GPT-2's pre-tokenizer pattern, which ByteLevel uses.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

func isUniSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// gpt2Split is GPT-2's pattern (gpt2Pattern) as a scanner: Go's regexp
// has no look-ahead for its \s+(?!\S).
func gpt2Split(s string) []string {
	var out []string
	isL := func(r rune) bool { return unicode.IsLetter(r) }
	isN := func(r rune) bool { return unicode.IsNumber(r) }
	isO := func(r rune) bool { return !isUniSpace(r) && !isL(r) && !isN(r) }
	run := func(i int, f func(rune) bool) int {
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !f(r) {
				break
			}
			i += n
		}
		return i
	}
	for i := 0; i < len(s); {
		if s[i] == '\'' {
			matched := false
			for _, c := range []string{"s", "t", "re", "ve", "m", "ll", "d"} {
				if strings.HasPrefix(s[i+1:], c) {
					out = append(out, s[i:i+1+len(c)])
					i += 1 + len(c)
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		j := i
		if r == ' ' && i+1 < len(s) {
			r2, _ := utf8.DecodeRuneInString(s[i+1:])
			if !isUniSpace(r2) {
				j, r = i+1, r2
			}
		}
		switch {
		case isL(r):
			e := run(j, isL)
			out = append(out, s[i:e])
			i = e
		case isN(r):
			e := run(j, isN)
			out = append(out, s[i:e])
			i = e
		case isO(r):
			e := run(j, isO)
			out = append(out, s[i:e])
			i = e
		default: // whitespace
			e := run(i, isUniSpace)
			if e < len(s) && e-i > n {
				// \s+(?!\S): leave the last space to prefix the next word
				_, ln := utf8.DecodeLastRuneInString(s[i:e])
				e -= ln
			}
			out = append(out, s[i:e])
			i = e
		}
	}
	return out
}
