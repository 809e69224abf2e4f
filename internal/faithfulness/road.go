package faithfulness

import (
	"math"
	"math/rand/v2"

	"github.com/convis/convis/internal/clip"
)

// roadNeighbours are ROAD's weights of a pixel's eight neighbours.
var roadNeighbours = [8]struct {
	dx, dy int
	w      float64
}{
	{0, -1, 1.0 / 6}, {0, 1, 1.0 / 6}, {-1, 0, 1.0 / 6}, {1, 0, 1.0 / 6},
	{-1, -1, 1.0 / 12}, {1, -1, 1.0 / 12}, {-1, 1, 1.0 / 12}, {1, 1, 1.0 / 12},
}

// Impute is ROAD's noisy linear imputation: the removed pixels x solve,
// for every removed pixel i with neighbours j inside the image,
//
//	(Σ_j w_ij)·x_i − Σ_{j removed} w_ij·x_j = Σ_{j kept} w_ij·v_j
//
// (each is the weighted mean of its neighbours), per channel; then
// Gaussian noise of standard deviation noise is added to them. A group of
// removed pixels that touches no kept pixel (all of the image, say) has no
// solution to take; it gets the mean colour of the kept pixels (mid grey
// when none is kept). The system is solved by conjugate gradients with a
// Jacobi preconditioner: ROAD's reference uses a sparse direct solver,
// which Go's standard library lacks, and the result is rounded to 8 bits,
// so iterating to a residual well under half a level is exact enough.
func Impute(img *clip.RGB, removed []bool, noise float64, seed uint64) *clip.RGB {
	w, h := img.W, img.H
	out := &clip.RGB{W: w, H: h, Pix: append([]uint8(nil), img.Pix...)}
	// Unknowns, numbered.
	id := make([]int, w*h)
	var unk []int
	for i := range id {
		id[i] = -1
		if removed[i] {
			id[i] = len(unk)
			unk = append(unk, i)
		}
	}
	if len(unk) == 0 {
		return out
	}
	// Components of removed pixels (8-connected, as the weights); those
	// that touch no kept pixel are isolated and take the kept mean.
	comp := make([]int, len(unk))
	for i := range comp {
		comp[i] = -1
	}
	var touches []bool
	stack := []int{}
	for s := range unk {
		if comp[s] >= 0 {
			continue
		}
		c := len(touches)
		touches = append(touches, false)
		comp[s] = c
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := unk[u]%w, unk[u]/w
			for _, nb := range roadNeighbours {
				nx, ny := x+nb.dx, y+nb.dy
				if nx < 0 || ny < 0 || nx >= w || ny >= h {
					continue
				}
				j := ny*w + nx
				if id[j] < 0 {
					touches[c] = true
				} else if comp[id[j]] < 0 {
					comp[id[j]] = c
					stack = append(stack, id[j])
				}
			}
		}
	}
	var mean [3]float64
	kept := len(id) - len(unk)
	for i := range id {
		if id[i] < 0 {
			for c := 0; c < 3; c++ {
				mean[c] += float64(img.Pix[3*i+c])
			}
		}
	}
	for c := range mean {
		if kept > 0 {
			mean[c] /= float64(kept)
		} else {
			mean[c] = 128
		}
	}
	n := len(unk)
	diag := make([]float64, n)
	for u, i := range unk {
		x, y := i%w, i/w
		for _, nb := range roadNeighbours {
			nx, ny := x+nb.dx, y+nb.dy
			if nx >= 0 && ny >= 0 && nx < w && ny < h {
				diag[u] += nb.w
			}
		}
	}
	// A·v over the unknowns of solvable components (isolated ones are
	// fixed and decoupled from every other pixel).
	mul := func(dst, v []float64) {
		for u, i := range unk {
			if !touches[comp[u]] {
				dst[u] = v[u]
				continue
			}
			x, y := i%w, i/w
			s := diag[u] * v[u]
			for _, nb := range roadNeighbours {
				nx, ny := x+nb.dx, y+nb.dy
				if nx < 0 || ny < 0 || nx >= w || ny >= h {
					continue
				}
				if j := id[ny*w+nx]; j >= 0 {
					s -= nb.w * v[j]
				}
			}
			dst[u] = s
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x726f6164)) // "road"
	b, xv, r, z, p, ap := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	result := make([][]float64, 3)
	for c := 0; c < 3; c++ {
		for u, i := range unk {
			if !touches[comp[u]] {
				b[u] = mean[c]
				continue
			}
			x, y := i%w, i/w
			s := 0.0
			for _, nb := range roadNeighbours {
				nx, ny := x+nb.dx, y+nb.dy
				if nx < 0 || ny < 0 || nx >= w || ny >= h {
					continue
				}
				if j := ny*w + nx; id[j] < 0 {
					s += nb.w * float64(img.Pix[3*j+c])
				}
			}
			b[u] = s
		}
		precond := func(dst, v []float64) {
			for u := range v {
				if touches[comp[u]] {
					dst[u] = v[u] / diag[u]
				} else {
					dst[u] = v[u]
				}
			}
		}
		// Start from the kept mean: close for large holes, harmless for small.
		for u := range xv {
			xv[u] = mean[c]
		}
		mul(ap, xv)
		for u := range r {
			r[u] = b[u] - ap[u]
		}
		precond(z, r)
		copy(p, z)
		rz := dot(r, z)
		for it := 0; it < 4*n+100; it++ {
			if maxAbs(r) < 1e-3 {
				break
			}
			mul(ap, p)
			alpha := rz / dot(p, ap)
			for u := range xv {
				xv[u] += alpha * p[u]
				r[u] -= alpha * ap[u]
			}
			precond(z, r)
			rz2 := dot(r, z)
			beta := rz2 / rz
			rz = rz2
			for u := range p {
				p[u] = z[u] + beta*p[u]
			}
		}
		result[c] = append([]float64(nil), xv...)
	}
	for u, i := range unk {
		for c := 0; c < 3; c++ {
			v := result[c][u]
			if noise > 0 {
				v += noise * rng.NormFloat64()
			}
			out.Pix[3*i+c] = uint8(math.Round(math.Min(255, math.Max(0, v))))
		}
	}
	return out
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}
