package saliency

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestIoU(t *testing.T) {
	if v := IoU(Rect{0, 0, 10, 10}, Rect{5, 0, 10, 10}); math.Abs(v-50.0/150) > 1e-9 {
		t.Fatal(v)
	}
	if IoU(Rect{0, 0, 5, 5}, Rect{10, 10, 5, 5}) != 0 {
		t.Fatal("disjoint")
	}
}

func TestPointingAndEnergy(t *testing.T) {
	m := &Map{W: 224, H: 224, V: make([]float32, 224*224)}
	m.V[100*224+100] = 1
	m.V[10*224+10] = 0.5
	if !PointingHit(m, Rect{110, 110, 20, 20}) { // 10 px away: within 15
		t.Fatal("within tolerance")
	}
	if PointingHit(m, Rect{120, 120, 20, 20}) { // 20 px away
		t.Fatal("outside tolerance")
	}
	if e := EnergyPointing(m, Rect{90, 90, 20, 20}); math.Abs(e-1/1.5) > 1e-6 {
		t.Fatal(e)
	}
}

func TestMaxBoxAcc(t *testing.T) {
	m := &Map{W: 100, H: 100, V: make([]float32, 10000)}
	for y := 20; y < 60; y++ {
		for x := 20; x < 60; x++ {
			m.V[y*100+x] = 0.8
		}
	}
	hits := BoxHits(m, Rect{20, 20, 40, 40})
	if hits[0] || !hits[1] || !hits[80] || hits[81] {
		t.Fatalf("hits at 0, 1, 80, 81: %v %v %v %v", hits[0], hits[1], hits[80], hits[81])
	}
	acc, th := MaxBoxAcc([][]bool{hits, make([]bool, 100)})
	if acc != 0.5 || th != 0.01 {
		t.Fatal(acc, th)
	}
}

func TestBootstrapIsSeededAndBracketsTheMean(t *testing.T) {
	vals := []float64{0, 1, 1, 0, 1, 1, 1, 0, 1, 1}
	mean := func(idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += vals[i]
		}
		return s / float64(len(idx))
	}
	a, b := Bootstrap(len(vals), 3, mean), Bootstrap(len(vals), 3, mean)
	if a != b || a.Mean != 0.7 || a.Lo > 0.7 || a.Hi < 0.7 || a.Lo >= a.Hi {
		t.Fatalf("%+v %+v", a, b)
	}
}

// BoxHits' one-pass boxes are BoxAt's at every threshold, ties between
// equal regions included: maps of few levels (many equal areas), of
// blobs, of noise, negative values and odd sizes.
func TestBoxesAtThresholdsEqualBoxAt(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for k := 0; k < 60; k++ {
		w, h := 1+r.IntN(40), 1+r.IntN(30)
		m := &Map{W: w, H: h, V: make([]float32, w*h)}
		levels := []int{2, 3, 5, 100, 0}[k%5]
		for i := range m.V {
			if levels == 0 {
				m.V[i] = r.Float32()*1.2 - 0.1
			} else {
				m.V[i] = float32(r.IntN(levels)) / float32(levels-1+k%2)
			}
		}
		if k%7 == 0 { // a smooth blob
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					dx, dy := float64(x-w/2), float64(y-h/3)
					m.V[y*w+x] = float32(math.Exp(-(dx*dx + dy*dy) / 50))
				}
			}
		}
		boxes, ok := m.boxesAtThresholds()
		for th := 0; th < BoxThresholds; th++ {
			b, o := m.BoxAt(float32(th) / 100)
			if o != ok[th] || b != boxes[th] {
				t.Fatalf("map %d (%dx%d, %d levels), threshold %d: one pass %v %v, BoxAt %v %v", k, w, h, levels, th, boxes[th], ok[th], b, o)
			}
		}
	}
}
