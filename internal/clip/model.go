package clip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Model is a loaded CLIP: encoders, tokenizer and preprocessing.
type Model struct {
	Dir       *ModelDir
	Image     ImageEncoder
	Text      TextEncoder
	Tokenizer *Tokenizer
	Pre       *Preprocessor

	hashOnce sync.Once
	hash     string
	hashErr  error
}

// LoadModel opens both encoders of a model directory with a runtime.
func LoadModel(dir *ModelDir, rt Runtime) (*Model, error) {
	m, err := LoadModelLazily(dir, rt)
	if err != nil {
		return nil, err
	}
	var oe *OpenError
	if _, err := m.Image.(*lazyImage).get(); errors.As(err, &oe) {
		return nil, oe.Err
	}
	if _, err := m.Text.(*lazyText).get(); errors.As(err, &oe) {
		m.Close()
		return nil, oe.Err
	}
	return m, nil
}

// LoadModelLazily is LoadModel with each encoder opened on first use (its
// errors then come from that use): a run that finds its embeddings cached
// never pays for opening them.
func LoadModelLazily(dir *ModelDir, rt Runtime) (*Model, error) {
	tok, err := TokenizerForDir(dir.Path)
	if err != nil {
		return nil, &ModelError{dir.Path, err.Error()}
	}
	imgOpts := EncoderOptions{Output: dir.ImageOutput}
	txtOpts := EncoderOptions{Output: dir.TextOutput, PadID: int64(padID(tok)), PadTo: tok.FixedLength()}
	img := &lazyImage{lazy[ImageEncoder]{open: func() (ImageEncoder, error) { return rt.OpenImageEncoder(dir.VisionPath, imgOpts) }}}
	txt := &lazyText{lazy[TextEncoder]{open: func() (TextEncoder, error) { return rt.OpenTextEncoder(dir.TextPath, txtOpts) }}}
	return &Model{Dir: dir, Image: img, Text: txt, Tokenizer: tok, Pre: NewPreprocessor(dir.Pre)}, nil
}

// realTokens is the tokenizer's sequence without its trailing padding:
// the encoder pads to the model's length (EncoderOptions.PadTo) and masks
// the padding where the model takes a mask, so a padded sequence and its
// mask cannot disagree.
func realTokens(tok *Tokenizer, text string) []int32 {
	ids, mask := tok.TokenizeMask(text)
	n := len(ids)
	for n > 0 && mask[n-1] == 0 {
		n--
	}
	return ids[:n]
}

// padID is the token that pads a text to the model's fixed length: the
// tokenizer's padding token where it has one, else its end token (CLIP).
func padID(tok any) int32 {
	if p, ok := tok.(interface{ PadID() int32 }); ok {
		return p.PadID()
	}
	if p, ok := tok.(interface{ EndToken() int32 }); ok {
		return p.EndToken()
	}
	return EndToken
}

// NewModel assembles a model from parts (tests use fake encoders).
func NewModel(dir *ModelDir, img ImageEncoder, txt TextEncoder, tok *Tokenizer, pre PreprocessConfig) *Model {
	return &Model{Dir: dir, Image: img, Text: txt, Tokenizer: tok, Pre: NewPreprocessor(pre)}
}

// Hash is the model's content hash, computed once; with an embedding
// output chosen by flag, the hash of the content and that choice.
func (m *Model) Hash() (string, error) {
	m.hashOnce.Do(func() {
		if m.Dir == nil {
			m.hash, m.hashErr = "unhashed", nil
			return
		}
		m.hash, m.hashErr = m.Dir.Hash()
		if m.hashErr == nil && (m.Dir.ImageOutput != "" || m.Dir.TextOutput != "") {
			// Another output is another embedding: every cache key and
			// sidecar names the choice with the content.
			sum := sha256.Sum256([]byte(m.hash + "\x00image_output=" + m.Dir.ImageOutput + "\x00text_output=" + m.Dir.TextOutput))
			m.hash = hex.EncodeToString(sum[:])
		}
	})
	return m.hash, m.hashErr
}

// TokenizerVersion names the model's tokenizer implementation (and, for
// the bundled vocabulary, its data) for cache keys; the model's own
// tokenizer files are covered by its content hash.
func (m *Model) TokenizerVersion() string {
	if m.Tokenizer == nil {
		return TokenizerVersion()
	}
	return m.Tokenizer.Version()
}

// Close releases the encoders.
func (m *Model) Close() error {
	var err error
	if m.Image != nil {
		err = m.Image.Close()
	}
	if m.Text != nil {
		if e := m.Text.Close(); err == nil {
			err = e
		}
	}
	return err
}

// EmbedImages preprocesses and encodes images in batches of at most batch.
func (m *Model) EmbedImages(ctx context.Context, imgs []*RGB, batch int) ([][]float32, error) {
	if batch <= 0 {
		batch = 32
	}
	per := m.Pre.Config.InputValues()
	buf := make([]float32, batch*per)
	var out [][]float32
	for start := 0; start < len(imgs); start += batch {
		n := min(batch, len(imgs)-start)
		for i := 0; i < n; i++ {
			if err := m.Pre.Into(buf[i*per:(i+1)*per], imgs[start+i]); err != nil {
				return nil, err
			}
		}
		emb, err := m.Image.EncodeImages(ctx, buf[:n*per], n)
		if err != nil {
			return nil, err
		}
		out = append(out, Rows(emb, n)...)
	}
	return out, nil
}

// EmbedTexts tokenizes and encodes texts in batches of at most batch.
func (m *Model) EmbedTexts(ctx context.Context, texts []string, batch int) ([][]float32, error) {
	if batch <= 0 {
		batch = 64
	}
	var out [][]float32
	for start := 0; start < len(texts); start += batch {
		n := min(batch, len(texts)-start)
		ids := make([][]int32, n)
		for i := range ids {
			ids[i] = realTokens(m.Tokenizer, texts[start+i])
		}
		emb, err := m.Text.EncodeTexts(ctx, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, Rows(emb, n)...)
	}
	return out, nil
}

// Rows splits a row-major n×D matrix into n slices.
func Rows(flat []float32, n int) [][]float32 {
	if n == 0 {
		return nil
	}
	d := len(flat) / n
	out := make([][]float32, n)
	for i := range out {
		out[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return out
}

// Normalize scales v to unit length in place (a zero vector stays zero).
func Normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// Cosine is the cosine similarity of a and b.
func Cosine(a, b []float32) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("cosine: lengths %d and %d differ", len(a), len(b))
	}
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0, nil
	}
	return ab / math.Sqrt(aa*bb), nil
}
