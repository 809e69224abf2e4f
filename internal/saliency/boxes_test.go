package saliency

import (
	"math"
	"reflect"
	"testing"
)

// blobs draws Gaussian bumps (x, y, sigma, height) on a low background.
func blobs(w, h int, bumps ...[4]float64) *Map {
	m := &Map{W: w, H: h, V: make([]float32, w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 0.05 * float64((x*7+y*13)%5) / 5 // faint texture
			for _, b := range bumps {
				d2 := (float64(x)-b[0])*(float64(x)-b[0]) + (float64(y)-b[1])*(float64(y)-b[1])
				v = math.Max(v, b[3]*math.Exp(-d2/(2*b[2]*b[2])))
			}
			m.V[y*w+x] = float32(v)
		}
	}
	return m
}

func near(a, b Rect, tol int) bool {
	return abs(a.X-b.X) <= tol && abs(a.Y-b.Y) <= tol && abs(a.W-b.W) <= tol && abs(a.H-b.H) <= tol
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func otsuRule(t *testing.T) BoxRule {
	r, err := ParseBoxRule("otsu")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// One bump: one box around it, about 2σ each side at Otsu's threshold.
func TestBoxesSingleRegion(t *testing.T) {
	m := blobs(200, 150, [4]float64{120, 60, 12, 1})
	res := m.BoxesBy(otsuRule(t), true)
	if len(res.Boxes) != 1 || res.NoBox != "" {
		t.Fatalf("%d boxes (%q), want 1", len(res.Boxes), res.NoBox)
	}
	b := res.Boxes[0]
	if cx, cy := b.X+b.W/2, b.Y+b.H/2; abs(cx-120) > 2 || abs(cy-60) > 2 || b.W < 20 || b.W > 60 {
		t.Fatalf("box %+v, want centred at (120, 60), 20–60 wide", b)
	}
	if res.Separability < MinSeparability {
		t.Fatalf("separability %.2f for a clear bump", res.Separability)
	}
}

// Two bumps apart: the first box holds the peak (the higher bump), and
// --boxes all adds the other; a small bump is not an instance.
func TestBoxesTwoRegions(t *testing.T) {
	m := blobs(300, 200, [4]float64{70, 100, 14, 0.9}, [4]float64{220, 90, 16, 1}, [4]float64{150, 180, 3, 0.6})
	res := m.BoxesBy(otsuRule(t), true)
	if len(res.Boxes) != 2 {
		t.Fatalf("%d boxes %+v, want 2", len(res.Boxes), res.Boxes)
	}
	if c := res.Boxes[0].X + res.Boxes[0].W/2; abs(c-220) > 3 {
		t.Fatalf("first box %+v is not the peak's region", res.Boxes[0])
	}
	if c := res.Boxes[1].X + res.Boxes[1].W/2; abs(c-70) > 3 {
		t.Fatalf("second box %+v is not the other bump", res.Boxes[1])
	}
	if one := m.BoxesBy(otsuRule(t), false); len(one.Boxes) != 1 || one.Boxes[0] != res.Boxes[0] {
		t.Fatalf("without all: %+v", one.Boxes)
	}
	// The reference rule: one box, the largest region at 0.7.
	ref := m.BoxesBy(ReferenceBoxRule, true)
	want, _ := m.BoxAt(0.7)
	if ref.Boxes[0] != want {
		t.Fatalf("reference rule box %+v, BoxAt %+v", ref.Boxes[0], want)
	}
}

// A flat map, and a map that is a plain ramp (no region stands out), get
// no box under otsu, and say why.
func TestBoxesFlatAndUnclearMaps(t *testing.T) {
	flat := &Map{W: 10, H: 10, V: make([]float32, 100), Flat: true}
	if res := flat.BoxesBy(otsuRule(t), true); len(res.Boxes) != 0 || res.NoBox == "" {
		t.Fatalf("flat map: %+v", res)
	}
	if res := flat.BoxesBy(ReferenceBoxRule, true); len(res.Boxes) != 0 || res.NoBox == "" {
		t.Fatalf("flat map, reference rule: %+v", res)
	}
	// Uniform noise: no region stands out.
	noise := &Map{W: 100, H: 100, V: make([]float32, 10000)}
	for i := range noise.V {
		noise.V[i] = float32((i*2654435761)%1000) / 999
	}
	if res := noise.BoxesBy(otsuRule(t), false); len(res.Boxes) != 0 || res.NoBox == "" {
		t.Fatalf("noise: %+v (separability %.2f)", res.Boxes, res.Separability)
	}
}

// A region against the image's border is boxed up to the border, never
// past it.
func TestBoxesTouchingTheBorder(t *testing.T) {
	m := blobs(160, 120, [4]float64{0, 119, 15, 1})
	res := m.BoxesBy(otsuRule(t), false)
	if len(res.Boxes) != 1 {
		t.Fatalf("%d boxes", len(res.Boxes))
	}
	b := res.Boxes[0]
	if b.X != 0 || b.Y+b.H != 120 || b.W < 15 || b.W > 50 {
		t.Fatalf("box %+v, want against the left and bottom borders", b)
	}
}

func TestParseBoxRule(t *testing.T) {
	for in, want := range map[string]BoxRule{"0.7": ReferenceBoxRule, "otsu": {Mode: "otsu"}, "otsu:0.5": {Mode: "otsu", Threshold: 0.5}} {
		got, err := ParseBoxRule(in)
		if err != nil || !reflect.DeepEqual(got, want) || got.String() != in {
			t.Errorf("%q: %+v %v (String %q)", in, got, err, got.String())
		}
	}
	for _, bad := range []string{"", "0", "1.5", "otsu:", "otsu:1", "nan", "largest"} {
		if _, err := ParseBoxRule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
