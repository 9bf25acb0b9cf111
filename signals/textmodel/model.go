package textmodel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// magic starts every model file; the byte after it is the format version.
var magic = [4]byte{'A', 'S', 'T', 'M'}

const formatVersion = 1

// headerLen is the fixed part of a model file before the weights.
const headerLen = 4 + 1 + 7 + 4 + 4

// Model is a trained linear classifier. Its weights are quantised to int8
// with one scale for the whole table. Score is safe for concurrent use.
type Model struct {
	Features Features
	Bias     float32 // intercept, in logits
	Scale    float32 // a weight is W[i] * Scale
	W        []int8  // 2^Features.Bits weights
	pool     sync.Pool
}

// Logit returns the model's log-odds that text belongs to the positive
// class. It does not allocate once the model's buffer pool is warm.
func (m *Model) Logit(text string) float64 {
	bp, _ := m.pool.Get().(*[]rune)
	if bp == nil {
		bp = new([]rune)
		*bp = make([]rune, 0, 256)
	}
	rs := normalize(*bp, text)
	var sum int32
	n := 0
	m.Features.each(rs, func(h uint32) {
		sum += int32(m.W[h])
		n++
	})
	*bp = rs[:0]
	m.pool.Put(bp)
	if n == 0 {
		return float64(m.Bias)
	}
	return float64(m.Bias) + float64(sum)*float64(m.Scale)/math.Sqrt(float64(n))
}

// Prob returns the probability of the positive class.
func (m *Model) Prob(text string) float64 {
	return 1 / (1 + math.Exp(-m.Logit(text)))
}

// WriteTo writes the model file: magic, version, features, bias, scale,
// then the int8 weights. The same model always gives the same bytes.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	var hdr bytes.Buffer
	hdr.Write(magic[:])
	hdr.WriteByte(formatVersion)
	f := m.Features
	hdr.Write([]byte{f.Bits, f.CharMin, f.CharMax, f.JoinMin, f.JoinMax, b2u(f.Words), b2u(f.WordBigrams)})
	_ = binary.Write(&hdr, binary.LittleEndian, m.Bias)
	_ = binary.Write(&hdr, binary.LittleEndian, m.Scale)
	n, err := w.Write(hdr.Bytes())
	if err != nil {
		return int64(n), fmt.Errorf("write model header: %w", err)
	}
	raw := make([]byte, len(m.W))
	for i, v := range m.W {
		raw[i] = byte(v)
	}
	k, err := w.Write(raw)
	if err != nil {
		return int64(n + k), fmt.Errorf("write model weights: %w", err)
	}
	return int64(n + k), nil
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Load parses a model file written by WriteTo.
func Load(b []byte) (*Model, error) {
	if len(b) < headerLen || !bytes.Equal(b[:4], magic[:]) {
		return nil, errors.New("load text model: not a model file")
	}
	if b[4] != formatVersion {
		return nil, fmt.Errorf("load text model: format version %d, want %d", b[4], formatVersion)
	}
	f := Features{Bits: b[5], CharMin: b[6], CharMax: b[7], JoinMin: b[8], JoinMax: b[9], Words: b[10] == 1, WordBigrams: b[11] == 1}
	if f.Bits < 8 || f.Bits > 26 || f.CharMin > f.CharMax || f.JoinMin > f.JoinMax || f.CharMax > 8 || f.JoinMax > 8 {
		return nil, fmt.Errorf("load text model: bad features %+v", f)
	}
	m := &Model{Features: f}
	m.Bias = math.Float32frombits(binary.LittleEndian.Uint32(b[12:]))
	m.Scale = math.Float32frombits(binary.LittleEndian.Uint32(b[16:]))
	w := b[headerLen:]
	if len(w) != 1<<f.Bits {
		return nil, fmt.Errorf("load text model: %d weights, want %d", len(w), 1<<f.Bits)
	}
	m.W = make([]int8, len(w))
	for i, v := range w {
		m.W[i] = int8(v)
	}
	return m, nil
}
