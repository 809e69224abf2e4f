package record

import (
	"strconv"
	"testing"

	"github.com/convis/convis/internal/saliency"
)

// A sidecar without seeds (written before explain recorded them) was made
// on one canvas: it matches --seeds 1 and differs from the default, by
// name, so check can say which setting changed.
func TestSidecarWithoutSeedsReadsAsOneSeed(t *testing.T) {
	t.Parallel()
	old := &Sidecar{Params: map[string]any{"stride": 16.0}}
	one := &Sidecar{Params: map[string]any{"stride": 16.0, "seeds": 1.0}}
	deflt := &Sidecar{Params: map[string]any{"stride": 16.0, "seeds": float64(saliency.DefaultSeeds)}}
	if d := SettingsDiff(old, one); len(d) != 0 {
		t.Errorf("old sidecar against --seeds 1: %q, want no difference", d)
	}
	n := strconv.Itoa(saliency.DefaultSeeds)
	if d := SettingsDiff(old, deflt); len(d) != 1 || d[0] != "seeds 1 → "+n {
		t.Errorf("old sidecar against the default: %q, want [seeds 1 → %s]", d, n)
	}
	if d := SettingsDiff(deflt, old); len(d) != 1 || d[0] != "seeds "+n+" → 1" {
		t.Errorf("the default against an old sidecar: %q, want [seeds %s → 1]", d, n)
	}
}
