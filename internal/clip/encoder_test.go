package clip

import (
	"strings"
	"testing"
)

func TestChooseEmbeddingOutput(t *testing.T) {
	t.Parallel()
	f := func(name string, shape ...int64) TensorInfo {
		return TensorInfo{Name: name, Type: "float", Shape: shape}
	}
	hidden := f("last_hidden_state", -1, -1, 64)
	cases := []struct {
		outs     []TensorInfo
		override string
		want     string // output name, or "error: …"
	}{
		{[]TensorInfo{hidden, f("text_embeds", -1, 32), f("pooler_output", -1, 64)}, "", "text_embeds"},
		{[]TensorInfo{hidden, f("pooler_output", -1, 64)}, "", "pooler_output"},           // SigLIP
		{[]TensorInfo{hidden, f("sentence_embedding", -1, 64)}, "", "sentence_embedding"}, // the only [B, D]
		{[]TensorInfo{f("a", -1, 8), f("b", -1, 8)}, "", "error: no embedding output: none is text_embeds or pooler_output, and 2 outputs are float [B, D] (outputs: a float [-1 8]; b float [-1 8]); name one with --text-output"},
		{[]TensorInfo{f("a", -1, 8), f("b", -1, 8)}, "b", "b"},
		{[]TensorInfo{hidden, f("text_embeds", -1, 32)}, "pooler_output", `error: --text-output "pooler_output": no such output (outputs: last_hidden_state float [-1 -1 64]; text_embeds float [-1 32])`},
		{[]TensorInfo{hidden, f("text_embeds", -1, 32)}, "last_hidden_state", "error: want a float [B, D] embedding"},
	}
	for i, c := range cases {
		got, err := ChooseEmbeddingOutput("m/text_model.onnx", c.outs, c.override, "text_embeds", "--text-output")
		if strings.HasPrefix(c.want, "error: ") {
			if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(c.want, "error: ")) || !strings.HasPrefix(err.Error(), "m/text_model.onnx: ") {
				t.Errorf("case %d: error %v, want %q", i, err, c.want)
			}
			continue
		}
		if err != nil || got.Name != c.want {
			t.Errorf("case %d: %v %v, want %s", i, got.Name, err, c.want)
		}
	}
}
