package faithfulness

import (
	"context"
	"fmt"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/saliency"
)

// Built-in methods, named as `eval faithfulness --method` and `eval
// sanity --method` take them.
const (
	MethodGrid          = "grid"           // explain's default map (refined, when Params.Refine is set)
	MethodGridUnrefined = "grid-unrefined" // Algorithm 1's map (--refine=false), from the same windows
	MethodStochastic    = "stochastic"
	MethodOcclusion     = "occlusion" // cosine with the concept's own prompt, the grid's windows
	MethodCenter        = "center"    // the centre prior: ignores image and model
	MethodRandom        = "random"    // a seeded uniform random map
)

// BuiltinMethods lists them in the order reports show them.
var BuiltinMethods = []string{MethodGrid, MethodGridUnrefined, MethodStochastic, MethodOcclusion, MethodCenter, MethodRandom}

// IsBuiltin says whether convis makes the method's maps itself.
func IsBuiltin(m string) bool {
	for _, b := range BuiltinMethods {
		if b == m {
			return true
		}
	}
	return false
}

// Maps are the maps of an image for its concepts, per method, at the
// image's resolution.
type Maps struct {
	ByMethod map[string][]*saliency.Map // method → one map per concept
	// Encoded is the windows the maps needed encoded (the window cache
	// may have held them).
	Encoded int
}

// MakeMaps makes the built-in methods' maps of one image: the grid family
// (grid, grid-unrefined, occlusion) shares one explanation's windows; the
// random map is seeded by seed. p is explain's parameters (p.Refine set
// for the default, refined, grid map).
func MakeMaps(ctx context.Context, ex *saliency.Explainer, img *clip.RGB, concepts []saliency.Concept, methods []string, p saliency.Params, seed uint64) (*Maps, error) {
	out := &Maps{ByMethod: map[string][]*saliency.Map{}}
	var grid *saliency.Explanation
	for _, m := range methods {
		switch m {
		case MethodGrid, MethodGridUnrefined, MethodOcclusion:
			if grid == nil {
				gp := p
				gp.Method = saliency.MethodGrid
				var err error
				if grid, err = ex.Explain(ctx, img, concepts, gp, nil); err != nil {
					return nil, err
				}
				out.Encoded += grid.Encoded + grid.RefineWindows
			}
			for _, cm := range grid.Maps {
				var sm *saliency.Map
				switch m {
				case MethodGrid:
					sm = cm.Square
				case MethodGridUnrefined:
					sm = saliency.GridMap(grid.Canvas, grid.Windows, cm.Ranks, true)
				default:
					sm = saliency.GridMap(grid.Canvas, grid.Windows, cm.Cosines, false)
				}
				out.ByMethod[m] = append(out.ByMethod[m], grid.Canvas.ToSource(sm))
			}
		case MethodStochastic:
			sp := p
			sp.Method, sp.Refine = saliency.MethodStochastic, nil
			res, err := ex.Explain(ctx, img, concepts, sp, nil)
			if err != nil {
				return nil, err
			}
			out.Encoded += res.Encoded
			for _, cm := range res.Maps {
				out.ByMethod[m] = append(out.ByMethod[m], res.Canvas.ToSource(cm.Square))
			}
		case MethodCenter:
			for range concepts {
				out.ByMethod[m] = append(out.ByMethod[m], saliency.CenterPrior(img.W, img.H))
			}
		case MethodRandom:
			for k := range concepts {
				out.ByMethod[m] = append(out.ByMethod[m], &saliency.Map{W: img.W, H: img.H, V: RandomMap(img.W, img.H, seed+uint64(k))})
			}
		default:
			return nil, fmt.Errorf("unknown method %q (want %v)", m, BuiltinMethods)
		}
	}
	return out, nil
}
