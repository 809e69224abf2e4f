package faithfulness

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convis/convis/internal/clip"
)

// synthetic is a model whose score is additive in the pixels: pixel i
// contributes weight[i] times its red level, normalised so that the white
// image scores 1. A map equal to weight orders pixels perfectly for it.
type synthetic struct{ weight []float64 }

func (s synthetic) score(_ context.Context, imgs []*clip.RGB) ([]float64, error) {
	total := 0.0
	for _, w := range s.weight {
		total += w
	}
	out := make([]float64, len(imgs))
	for k, im := range imgs {
		v := 0.0
		for i, w := range s.weight {
			v += w * float64(im.Pix[3*i]) / 255
		}
		out[k] = v / total
	}
	return out, nil
}

func white(w, h int) *clip.RGB {
	im := clip.NewRGB(w, h)
	for i := range im.Pix {
		im.Pix[i] = 255
	}
	return im
}

func syntheticSetup(t *testing.T) (*Perturber, synthetic, []float32) {
	t.Helper()
	const w, h = 8, 6
	rng := rand.New(rand.NewPCG(1, 2))
	s := synthetic{weight: make([]float64, w*h)}
	m := make([]float32, w*h)
	for i := range s.weight {
		s.weight[i] = rng.Float64() * rng.Float64()
		m[i] = float32(s.weight[i])
	}
	p, err := NewPerturber(white(w, h), FillGray, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p, s, m
}

func measure(t *testing.T, p *Perturber, m []float32, s synthetic, steps int) Result {
	t.Helper()
	r, err := Measure(context.Background(), p, m, steps, s.score)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The perfect map has the lowest deletion AUC and the highest insertion
// AUC of any order; the reversed map the highest deletion and lowest
// insertion; random maps lie between.
func TestPerfectAndReversedMaps(t *testing.T) {
	t.Parallel()
	p, s, perfect := syntheticSetup(t)
	reversed := make([]float32, len(perfect))
	for i, v := range perfect {
		reversed[i] = -v
	}
	const steps = 12
	best, worst := measure(t, p, perfect, s, steps), measure(t, p, reversed, s, steps)
	if !(best.DeletionAUC < worst.DeletionAUC && best.InsertionAUC > worst.InsertionAUC) {
		t.Fatalf("perfect %+v vs reversed %+v", best, worst)
	}
	for seed := uint64(0); seed < 50; seed++ {
		r := measure(t, p, RandomMap(p.Img.W, p.Img.H, seed), s, steps)
		if r.DeletionAUC < best.DeletionAUC-1e-12 || r.DeletionAUC > worst.DeletionAUC+1e-12 {
			t.Errorf("seed %d: deletion AUC %.4f outside [perfect %.4f, reversed %.4f]", seed, r.DeletionAUC, best.DeletionAUC, worst.DeletionAUC)
		}
		if r.InsertionAUC > best.InsertionAUC+1e-12 || r.InsertionAUC < worst.InsertionAUC-1e-12 {
			t.Errorf("seed %d: insertion AUC %.4f outside [reversed %.4f, perfect %.4f]", seed, r.InsertionAUC, worst.InsertionAUC, best.InsertionAUC)
		}
	}
	// Hand check of the ends: nothing removed scores the image, all
	// removed the grey image (128/255).
	if math.Abs(best.Deletion[0]-1) > 1e-12 || math.Abs(best.Deletion[steps]-128.0/255) > 1e-12 || math.Abs(best.Insertion[0]-128.0/255) > 1e-12 {
		t.Errorf("curve ends: deletion %v, insertion %v", best.Deletion, best.Insertion)
	}
	if best.Full != 1 || best.Blended > 1 || best.Drop < 0 {
		t.Errorf("full %g, blended %g, drop %g", best.Full, best.Blended, best.Drop)
	}
}

// A constant map carries no order: in expectation over the tie-breaking
// seed its AUCs are the random baseline's, which for an additive score is
// the line from the image's score to the fill's at the removed counts.
func TestConstantMapIsRandomBaseline(t *testing.T) {
	t.Parallel()
	p, s, _ := syntheticSetup(t)
	const steps, rounds = 10, 400
	n := p.Img.W * p.Img.H
	fill := 128.0 / 255
	var expDel, expIns []float64
	for k := 0; k <= steps; k++ {
		removed := math.Round(float64(k) / steps * float64(n))
		expDel = append(expDel, 1-removed/float64(n)*(1-fill))
		expIns = append(expIns, fill+removed/float64(n)*(1-fill))
	}
	xs := Fractions(steps)
	wantDel, wantIns := AUC(xs, expDel), AUC(xs, expIns)
	constant := make([]float32, n)
	var del, ins, del2 []float64
	for seed := uint64(0); seed < rounds; seed++ {
		p.Seed = seed
		r := measure(t, p, constant, s, steps)
		del, ins = append(del, r.DeletionAUC), append(ins, r.InsertionAUC)
		del2 = append(del2, measure(t, p, RandomMap(p.Img.W, p.Img.H, seed+1000), s, steps).DeletionAUC)
	}
	for _, c := range []struct {
		name string
		v    []float64
		want float64
	}{{"constant deletion", del, wantDel}, {"constant insertion", ins, wantIns}, {"random deletion", del2, wantDel}} {
		mean, sd := meanSD(c.v)
		if se := sd / math.Sqrt(rounds); math.Abs(mean-c.want) > 4*se || sd == 0 {
			t.Errorf("%s: mean AUC %.5f (sd %.5f), want %.5f ± %.5f", c.name, mean, sd, c.want, 4*se)
		}
	}
}

func meanSD(v []float64) (float64, float64) {
	m := 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	s := 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)-1))
}

// ROAD on a 3×3 grey image, worked by hand (weights 1/6 direct, 1/12
// diagonal):
//
//	10 20 30
//	40  c 60     c alone: (20+40+60+80)/6 + (10+30+70+90)/12 = 50
//	70 80 90
//
// With the top middle t removed too, t has neighbours 10, 30, c (1/6) and
// 40, 60 (1/12), weight 2/3:
//
//	(2/3)t − c/6 = 40/6 + 100/12 = 15
//	c − t/6      = 180/6 + 200/12 = 140/3
//
// so t = 820/23 ≈ 35.65 → 36 and c = 3630/69 ≈ 52.61 → 53.
func TestRoadHandWorked3x3(t *testing.T) {
	t.Parallel()
	img := clip.NewRGB(3, 3)
	for i, v := range []uint8{10, 20, 30, 40, 0, 60, 70, 80, 90} {
		img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = v, v, 255-v
	}
	got := Impute(img, []bool{false, false, false, false, true, false, false, false, false}, 0, 0)
	if c := got.Pix[3*4 : 3*4+3]; c[0] != 50 || c[1] != 50 || c[2] != 205 {
		t.Errorf("centre alone: %v, want [50 50 205]", c)
	}
	got = Impute(img, []bool{false, true, false, false, true, false, false, false, false}, 0, 0)
	if tp, c := got.Pix[3:6], got.Pix[12:15]; tp[0] != 36 || c[0] != 53 || tp[1] != 36 || c[1] != 53 {
		t.Errorf("top and centre: t %v, c %v, want 36 and 53", tp, c)
	}
	// Kept pixels are untouched.
	for _, i := range []int{0, 2, 3, 5, 6, 7, 8} {
		if !bytes.Equal(got.Pix[3*i:3*i+3], img.Pix[3*i:3*i+3]) {
			t.Errorf("pixel %d changed", i)
		}
	}
	// Nothing kept: mid grey; the noise is seeded.
	all := []bool{true, true, true, true, true, true, true, true, true}
	if g := Impute(img, all, 0, 0); g.Pix[0] != 128 || g.Pix[26] != 128 {
		t.Errorf("all removed: %v", g.Pix)
	}
	a, b, c := Impute(img, all[:9], 5, 7), Impute(img, all, 5, 7), Impute(img, all, 5, 8)
	if !bytes.Equal(a.Pix, b.Pix) || bytes.Equal(a.Pix, c.Pix) {
		t.Errorf("noise not seeded: %v %v %v", a.Pix, b.Pix, c.Pix)
	}
}

// ROAD on a larger hole: a linear ramp is reproduced inside (the mean of
// neighbours of a linear function is the function).
func TestRoadRamp(t *testing.T) {
	t.Parallel()
	const w, h = 24, 20
	img := clip.NewRGB(w, h)
	removed := make([]bool, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = uint8(10*x), uint8(5*y), 100
			removed[i] = x >= 4 && x < 18 && y >= 3 && y < 15
		}
	}
	got := Impute(img, removed, 0, 0)
	for i, r := range removed {
		if r && (got.Pix[3*i] != img.Pix[3*i] || got.Pix[3*i+1] != img.Pix[3*i+1] || got.Pix[3*i+2] != 100) {
			t.Fatalf("pixel %d,%d: %v, want %v", i%w, i/w, got.Pix[3*i:3*i+3], img.Pix[3*i:3*i+3])
		}
	}
}

func TestOrderBreaksTiesBySeed(t *testing.T) {
	t.Parallel()
	v := []float32{0, 1, 0, 1, 0.5}
	a, b := Order(v, 1), Order(v, 2)
	if a[0] != 1 && a[0] != 3 || a[2] != 4 || b[2] != 4 {
		t.Fatalf("order %v, %v", a, b)
	}
	c := Order(make([]float32, 64), 1)
	d := Order(make([]float32, 64), 2)
	same := true
	for i := range c {
		same = same && c[i] == d[i]
	}
	if same {
		t.Error("ties of a constant map in the same order for two seeds")
	}
}

func TestMeasureRejectsMismatch(t *testing.T) {
	t.Parallel()
	p, s, m := syntheticSetup(t)
	if _, err := Measure(context.Background(), p, m[:3], 4, s.score); err == nil {
		t.Error("a map of the wrong size was measured")
	}
	if _, err := Measure(context.Background(), p, m, 0, s.score); err == nil {
		t.Error("steps 0 was measured")
	}
	if _, err := ParseFill("black"); err == nil {
		t.Error("fill black parsed")
	}
}
