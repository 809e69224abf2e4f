package saliency

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/clip/cliptest"
	"github.com/convis/convis/internal/embedcache"
	"github.com/convis/convis/internal/wordnet"
)

var (
	testIndexOnce sync.Once
	testIndex     *ConceptIndex
)

func fixture(t testing.TB) (*Explainer, *cliptest.Encoder, []Concept) {
	t.Helper()
	db := wordnet.MustLoad()
	h, err := db.LoadHierarchy(wordnet.VocabPaper)
	if err != nil {
		t.Fatal(err)
	}
	testIndexOnce.Do(func() {
		testIndex, err = BuildIndex(context.Background(), h, PromptDefinitions, cliptest.Texts(16), 512, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	enc := cliptest.NewEncoder(16)
	pre := clip.NewPreprocessor(clip.PreprocessConfig{DoConvertRGB: true, DoResize: true, ShortestEdge: 224, Resample: 3,
		DoCenterCrop: true, CropW: 224, CropH: 224, DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true,
		Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}})
	var concepts []Concept
	for _, name := range []string{"dog.n.01", "animal.n.01"} {
		s, _ := db.ByName(name)
		c, err := testIndex.Concept(name, s)
		if err != nil {
			t.Fatal(err)
		}
		concepts = append(concepts, c)
	}
	return &Explainer{Encoder: enc, Pre: pre, Index: testIndex}, enc, concepts
}

func testImage(w, h int) *clip.RGB {
	im := clip.NewRGB(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			im.Pix[i] = uint8(x * 255 / w)
			im.Pix[i+1] = uint8(y * 255 / h)
			if (x-w/3)*(x-w/3)+(y-h/2)*(y-h/2) < w*h/30 {
				im.Pix[i+2] = 255
			}
		}
	}
	return im
}

func TestGridPlanCounts(t *testing.T) {
	c, err := NewCanvas(testImage(300, 200), DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	useful, _ := GridPlan(c, []int{128, 64}, 16, true)
	all, _ := GridPlan(c, []int{128, 64}, 16, false)
	large := 0
	for _, b := range useful {
		if b.W == 128 {
			large++
		}
	}
	if len(useful) != 730 || large != 441 || len(all) != 1800 {
		t.Fatalf("useful %d (large %d), all %d; want 730 (441), 1800", len(useful), large, len(all))
	}
}

// With the reference's centre crop and a fill that does not depend on the
// seed, the map from the 730 windows that overlap the image equals the
// map from all 1,800.
func TestOverlappingWindowsGiveTheFullPlansMap(t *testing.T) {
	ex, enc, concepts := fixture(t)
	p := DefaultParams()
	p.Canvas.Crop, p.Canvas.Fill = CropCenter, FillGray
	img := testImage(260, 200)
	useful, err := ex.Explain(context.Background(), img, concepts, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.FullPlan = true
	full, err := ex.Explain(context.Background(), img, concepts, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if useful.Stats.Passes != 730 || full.Stats.Passes != 1800 {
		t.Fatalf("passes %d and %d", useful.Stats.Passes, full.Stats.Passes)
	}
	for k := range concepts {
		a, b := useful.Maps[k].Map, full.Maps[k].Map
		if a.Flat || !reflect.DeepEqual(a.V, b.V) {
			t.Fatalf("%s: maps differ (flat %v)", concepts[k].Synset.Name, a.Flat)
		}
	}
	_ = enc
}

// The encoder sees full batches; only the last of the windows inside the
// image and the last of the others may be smaller (embedSplit encodes
// them apart). Every concept is scored from the same passes.
func TestBatchingAndPasses(t *testing.T) {
	for _, tc := range []struct {
		method Method
		passes int
	}{{MethodGrid, 730}, {MethodStochastic, -1}, {MethodOcclusion, 730}} {
		ex, enc, concepts := fixture(t)
		p := DefaultParams()
		p.Method = tc.method
		p.Batch = 32
		if tc.passes < 0 {
			// 600 windows are sampled; those that miss the image are not encoded.
			c, _ := NewCanvas(testImage(224, 224), p.Canvas)
			plan, _ := StochasticPlan(c, p.Stochastic)
			x0, y0, x1, y1 := c.ImageRect()
			for _, b := range plan {
				if b.Overlaps(x0, y0, x1, y1) {
					tc.passes++
				}
			}
			tc.passes++ // from -1
			if len(plan) != 600 || tc.passes >= 600 || tc.passes < 300 {
				t.Fatalf("plan %d windows, %d encoded", len(plan), tc.passes)
			}
		}
		res, err := ex.Explain(context.Background(), testImage(224, 224), concepts, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Stats.Passes != tc.passes {
			t.Errorf("%s: %d passes, want %d", tc.method, res.Stats.Passes, tc.passes)
		}
		// The layout: the inside windows in batches of 32, then the others.
		x0, y0, x1, y1 := res.Canvas.ContentRect()
		inside := 0
		for _, b := range res.Windows {
			if b.Inside(x0, y0, x1, y1) {
				inside++
			}
		}
		var want []int
		for _, n := range []int{inside, tc.passes - inside} {
			for ; n > 0; n -= 32 {
				want = append(want, min(n, 32))
			}
		}
		if inside == 0 || !slices.Equal(enc.Batches(), want) || len(res.Maps) != 2 {
			t.Errorf("%s: batches %v, want %v (%d windows inside the image); %d maps", tc.method, enc.Batches(), want, inside, len(res.Maps))
		}
	}
}

func TestSameSeedSameMapsOtherSeedOtherCanvas(t *testing.T) {
	ex, _, concepts := fixture(t)
	p := DefaultParams()
	p.Canvas.Seed = 7
	img := testImage(200, 240)
	a, _ := ex.Explain(context.Background(), img, concepts[:1], p, nil)
	b, _ := ex.Explain(context.Background(), img, concepts[:1], p, nil)
	if !reflect.DeepEqual(a.Maps[0].Map.V, b.Maps[0].Map.V) || !reflect.DeepEqual(a.Canvas.Img.Pix, b.Canvas.Img.Pix) {
		t.Fatal("same seed gave different results")
	}
	p.Canvas.Seed = 8
	c, _ := NewCanvas(img, p.Canvas)
	if reflect.DeepEqual(a.Canvas.Img.Pix, c.Img.Pix) {
		t.Fatal("another seed gave the same noise canvas")
	}
	if a.Maps[0].Map.W != 200 || a.Maps[0].Map.H != 240 {
		t.Fatalf("map is %dx%d, want the input's 200x240", a.Maps[0].Map.W, a.Maps[0].Map.H)
	}
}

func TestCanvasPlacesImage(t *testing.T) {
	img := testImage(224, 224)
	c, _ := NewCanvas(img, CanvasOptions{Size: 480, ImageSize: 224, Offset: 128, Fill: FillGray, Crop: CropCenter})
	got := c.Crop(Box{128, 128, 224, 224})
	if !reflect.DeepEqual(got.Pix, img.Pix) {
		t.Fatal("image not at (128,128)")
	}
	if c.Img.Pix[0] != 128 {
		t.Fatal("gray fill")
	}
	off := c.Crop(Box{464, 464, 32, 32})
	if off.Pix[len(off.Pix)-1] != 0 {
		t.Fatal("outside the canvas should be black")
	}
}

func TestBoxAtLargestComponent(t *testing.T) {
	m := &Map{W: 10, H: 8, V: make([]float32, 80)}
	set := func(x0, y0, x1, y1 int, v float32) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				m.V[y*10+x] = v
			}
		}
	}
	set(1, 1, 3, 3, 0.9) // 4 pixels
	set(5, 2, 9, 6, 0.8) // 16 pixels
	m.V[7*10+0] = 1
	r, ok := m.BoxAt(0.7)
	if !ok || r != (Rect{5, 2, 4, 4}) {
		t.Fatalf("box %+v", r)
	}
	if x, y := m.Peak(); x != 0 || y != 7 {
		t.Fatalf("peak %d,%d", x, y)
	}
	if _, ok := m.BoxAt(1.1); ok {
		t.Fatal("no pixel passes 1.1")
	}
}

func TestScores(t *testing.T) {
	sims := []float32{0.1, 0.9, 0.5, 0.7}
	if r := BestRank(sims, []int32{2, 0}); r != 2 {
		t.Fatalf("rank %d", r)
	}
	if r := BestRank(sims, []int32{1}); r != 0 {
		t.Fatalf("rank %d", r)
	}
	if s := RankScore(0, 5, 91); s != 1 {
		t.Fatal(s)
	}
	if s := RankScore(91, 5, 91); s != -1 {
		t.Fatal(s)
	}
}

func TestGridMapInvertsRanks(t *testing.T) {
	c, _ := NewCanvas(testImage(224, 224), CanvasOptions{Size: 480, ImageSize: 224, Offset: 128, Fill: FillGray, Crop: CropCenter})
	boxes := []Box{{128, 128, 64, 64}, {288, 288, 64, 64}}
	m := GridMap(c, boxes, []float64{0, 100}, true)
	if m.V[0] != 1 || m.V[223*224+223] != 0 {
		t.Fatalf("low rank should be salient: %v %v", m.V[0], m.V[223*224+223])
	}
}

func TestIndexCache(t *testing.T) {
	db := wordnet.MustLoad()
	h, _ := db.LoadHierarchy(wordnet.VocabPaper)
	dir := t.TempDir()
	key := embedcache.IndexKey{ModelHash: "abc", Vocab: "paper", Mode: "definitions", Synsets: h.Len()}
	builds := 0
	build := func() (*ConceptIndex, error) {
		builds++
		return BuildIndex(context.Background(), h, PromptDefinitions, cliptest.Texts(8), 1000, nil)
	}
	a, cached, err := LoadOrBuildIndex(context.Background(), dir, key, h, build)
	if err != nil || cached {
		t.Fatal(err, cached)
	}
	b, cached, err := LoadOrBuildIndex(context.Background(), dir, key, h, build)
	if err != nil || !cached || !reflect.DeepEqual(a.Emb, b.Emb) || !reflect.DeepEqual(a.Owner, b.Owner) {
		t.Fatal("cached index differs", err, cached)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.idx"))
	if len(files) != 1 {
		t.Fatalf("%d cache files", len(files))
	}
	raw, _ := os.ReadFile(files[0])
	raw[len(raw)-1] ^= 0xff
	os.WriteFile(files[0], raw, 0o644)
	if _, cached, _ := LoadOrBuildIndex(context.Background(), dir, key, h, build); cached || builds != 2 {
		t.Fatal("a corrupt cache must be rebuilt")
	}
	key.ModelHash = "other"
	if _, cached, _ := LoadOrBuildIndex(context.Background(), dir, key, h, build); cached {
		t.Fatal("another model must not use this cache")
	}
	key.ModelHash = "abc"
	key.Data = "another WordNet"
	if _, cached, _ := LoadOrBuildIndex(context.Background(), dir, key, h, build); cached {
		t.Fatal("other WordNet data or tokenizer must not use this cache")
	}
}

// Regression (issue 20.6): with the reference's centre crop, maps come
// back in the source image's pixels for metrics: a peak at the centre of
// the square lands at the centre of the image, and cut-away pixels are 0.
func TestToSourceUndoesTheCentreCrop(t *testing.T) {
	src := clip.NewRGB(448, 300)
	opts := DefaultCanvas()
	opts.Crop = CropCenter
	c, err := NewCanvas(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	sq := &Map{W: 224, H: 224, V: make([]float32, 224*224)}
	for y := 100; y < 124; y++ {
		for x := 100; x < 124; x++ {
			sq.V[y*224+x] = 1
		}
	}
	m := c.ToSource(sq)
	if m.W != 448 || m.H != 300 {
		t.Fatalf("map %dx%d, want 448x300", m.W, m.H)
	}
	x, y := m.Peak()
	// The square's [100,124) is the crop's [134,166) of 300, shifted by 74.
	if x < 74+134 || x >= 74+166 || y < 134 || y >= 166 {
		t.Errorf("peak (%d,%d) is not on the object at x 208–240, y 134–166", x, y)
	}
	if m.V[10] != 0 || m.V[299*448+447] != 0 {
		t.Error("pixels outside the crop are not 0")
	}
}

// Regression (issue 20.8): parameters that overflow the stochastic score
// (γ < 0 makes it grow with the rank) give a map that Finite flags, and
// Explain refuses such a map instead of writing NaNs.
func TestNonFiniteMapsAreFlagged(t *testing.T) {
	c, err := NewCanvas(clip.NewRGB(64, 64), DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	sp := DefaultStochastic()
	sp.Gamma, sp.Epsilon, sp.Samples = -300, 1, 4
	boxes := []Box{{X: 128, Y: 128, W: 128, H: 128}, {X: 140, Y: 140, W: 128, H: 128}, {X: 150, Y: 150, W: 128, H: 128}, {X: 160, Y: 160, W: 64, H: 64}}
	m := StochasticMap(c, boxes, []int{90, 90, 90, 90}, sp)
	if m.Finite() {
		t.Fatal("an overflowing map passed Finite")
	}
	if !GridMap(c, boxes, []float64{1, 2, 3, 4}, true).Finite() {
		t.Fatal("a normal map failed Finite")
	}
}

func TestPresenceRule(t *testing.T) {
	for _, c := range []struct {
		whole, window int
		absent        bool
	}{{0, 0, false}, {500, 0, false}, {3, 40, false}, {AbsentWholeRank + 1, AbsentWindowRank + 1, true}} {
		p := NewPresence(c.whole, c.window)
		if p.LooksAbsent != c.absent || p.Score != float64(-c.whole) || p.Rule != AbsenceRule {
			t.Errorf("ranks %d/%d: %+v", c.whole, c.window, p)
		}
	}
	// The best window rank only counts windows that were encoded.
	ex, _, concepts := fixture(t)
	img := clip.NewRGB(64, 48)
	res, err := ex.Explain(context.Background(), img, concepts[:1], DefaultParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	best := math.MaxInt
	for i, r := range res.Maps[0].Ranks {
		if res.Windows[i].Overlaps(res.Canvas.ContentRect()) {
			best = min(best, int(r))
		}
	}
	if res.Maps[0].BestRank != best {
		t.Errorf("best window rank %d, want %d", res.Maps[0].BestRank, best)
	}
	w, err := ex.WholeImage(context.Background(), img)
	if err != nil || w.Rank(concepts[0]) < 0 {
		t.Fatalf("whole image: %v", err)
	}
}

// Regression: EmbedWindows's scoring goroutine read the channel variable,
// which the function sets to nil when it returns; a goroutine scheduled
// late then waited on a nil channel and the call never returned (a batch
// hung on Ctrl-C). A cancelled context must return, every time.
func TestEmbedWindowsReturnsWhenCancelled(t *testing.T) {
	ex, _, _ := fixture(t)
	c, err := NewCanvas(clip.NewRGB(64, 64), DefaultCanvas())
	if err != nil {
		t.Fatal(err)
	}
	boxes := []Box{{X: 128, Y: 128, W: 64, H: 64}, {X: 140, Y: 140, W: 64, H: 64}}
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan struct{})
		go func() {
			EmbedWindows(ctx, c, boxes, ex.Encoder, ex.Pre, 1, nil, func(int, [][]float32) {})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("EmbedWindows did not return after cancellation (try %d)", i)
		}
	}
}

// closingKernel is a kernel that records being closed.
type closingKernel struct{ closed int }

func (k *closingKernel) Products(ctx context.Context, rows []float32, n int, out []float32) error {
	return errors.New("unused")
}
func (k *closingKernel) Close() error { k.closed++; return nil }

// Regression (issue 29.21): the ranking session (74k prompts for WordNet)
// was freed only by a finalizer; commands Close the index.
func TestConceptIndexCloseFreesTheKernel(t *testing.T) {
	k := &closingKernel{}
	ix := &ConceptIndex{Kernel: k}
	if err := ix.Close(); err != nil || k.closed != 1 || ix.Kernel != nil {
		t.Fatalf("closed %d times, kernel %v, err %v", k.closed, ix.Kernel, err)
	}
	ix.Close()
	if k.closed != 1 {
		t.Errorf("closed twice")
	}
}
