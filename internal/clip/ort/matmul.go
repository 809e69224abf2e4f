package ort

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"

	ortgo "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/encoding/protowire"
)

// MatMul multiplies batches of rows with a fixed matrix in ONNX Runtime,
// whose MLAS kernels use the CPU's vector units (AVX2, AVX-512): convis's
// ranking of window embeddings against every prompt, some 28 G
// multiply-adds per map over all of WordNet, at several times the speed of
// scalar Go. The fixed matrix is a constant of the graph, so ONNX Runtime
// packs it for its kernels once, when the session is made.
type MatMul struct {
	sess *session
	p, d int
}

// NewMatMul makes a session computing rows × Bᵀ for B, p rows of d values
// (row-major): out[i][j] = Σ_k rows[i][k]·B[j][k].
func (r *Runtime) NewMatMul(b []float32, p, d int) (*MatMul, error) {
	if p <= 0 || d <= 0 || len(b) != p*d {
		return nil, fmt.Errorf("matmul: %d values are not %d×%d", len(b), p, d)
	}
	opts, err := r.sessionOptions(r.Spin == "on") // it runs beside the encoder
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	s, err := ortgo.NewDynamicAdvancedSessionWithONNXData(gemmModel(b, p, d), []string{"rows"}, []string{"products"}, opts)
	if err != nil {
		return nil, fmt.Errorf("matmul session: %w", err)
	}
	m := &MatMul{sess: &session{s: s, path: "matmul"}, p: p, d: d}
	// Commands Close the index (ConceptIndex.Close); the finalizer is a
	// backstop for an index dropped without it.
	runtime.SetFinalizer(m, func(m *MatMul) { m.sess.s.Destroy() })
	return m, nil
}

// Products computes n rows (n×d, row-major) times Bᵀ into out (n×p).
func (m *MatMul) Products(ctx context.Context, rows []float32, n int, out []float32) error {
	if n <= 0 || len(rows) != n*m.d || len(out) < n*m.p {
		return fmt.Errorf("matmul: %d rows of %d values into %d, want %d×%d into %d×%d", n, len(rows), len(out), n, m.d, n, m.p)
	}
	in, err := ortgo.NewTensor(ortgo.NewShape(int64(n), int64(m.d)), rows)
	if err != nil {
		return err
	}
	defer in.Destroy()
	// The output is written straight into out: no copy of n×p floats.
	res, err := ortgo.NewTensor(ortgo.NewShape(int64(n), int64(m.p)), out[:n*m.p])
	if err != nil {
		return err
	}
	defer res.Destroy()
	err = m.sess.run(ctx, []ortgo.Value{in}, []ortgo.Value{res})
	// m's finalizer frees the session: m must stay reachable until the
	// run is over (its last use above is reading m.sess). The tensors
	// point into rows and out, Go memory, for as long.
	runtime.KeepAlive(m)
	runtime.KeepAlive(rows)
	runtime.KeepAlive(out)
	return err
}

// Close frees the session.
func (m *MatMul) Close() error {
	runtime.SetFinalizer(m, nil)
	return m.sess.s.Destroy()
}

// gemmModel encodes an ONNX model with one Gemm node, products =
// rows × Bᵀ (transB = 1), B a float initializer of p×d. It is written with
// the protobuf wire encoder, field by field, rather than with ONNX's
// generated Go types: six messages do not warrant another module.
func gemmModel(b []float32, p, d int) []byte {
	msg := func(fields ...[]byte) []byte {
		var out []byte
		for _, f := range fields {
			out = append(out, f...)
		}
		return out
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		out := protowire.AppendTag(nil, num, protowire.BytesType)
		return protowire.AppendBytes(out, v)
	}
	str := func(num protowire.Number, s string) []byte { return bytesField(num, []byte(s)) }
	varint := func(num protowire.Number, v int64) []byte {
		out := protowire.AppendTag(nil, num, protowire.VarintType)
		return protowire.AppendVarint(out, uint64(v))
	}
	const float = 1 // TensorProto.DataType FLOAT
	// ValueInfoProto{name, type: TypeProto{tensor_type{elem_type, shape}}}
	// with one symbolic dimension and one fixed.
	valueInfo := func(name, sym string, fixed int) []byte {
		shape := msg(
			bytesField(1, str(2, sym)),             // dim { dim_param }
			bytesField(1, varint(1, int64(fixed))), // dim { dim_value }
		)
		tensor := msg(varint(1, float), bytesField(2, shape))
		return msg(str(1, name), bytesField(2, bytesField(1, tensor)))
	}
	raw := make([]byte, 4*len(b))
	for i, v := range b {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	init := msg(varint(1, int64(p)), varint(1, int64(d)), varint(2, float), str(8, "B"), bytesField(9, raw))
	transB := msg(str(1, "transB"), varint(3, 1), varint(20, 2)) // AttributeProto{name, i, type INT}
	node := msg(str(1, "rows"), str(1, "B"), str(2, "products"), str(3, "gemm"), str(4, "Gemm"), bytesField(5, transB))
	graph := msg(
		bytesField(1, node),
		str(2, "convis-similarities"),
		bytesField(5, init),
		bytesField(11, valueInfo("rows", "n", d)),
		bytesField(12, valueInfo("products", "n", p)),
	)
	opset := msg(str(1, ""), varint(2, 13))
	return msg(varint(1, 8), str(2, "convis"), bytesField(7, graph), bytesField(8, opset))
}
