package saliency

import (
	"math"
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
