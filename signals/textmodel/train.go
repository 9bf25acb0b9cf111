package textmodel

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Example is one labelled text.
type Example struct {
	Text  string
	Label bool
}

// TrainConfig sets the features and the optimiser.
type TrainConfig struct {
	Features Features
	Epochs   int     // passes over the data
	Rate     float64 // AdaGrad learning rate
	L2       float64 // L2 penalty per update
	NB       bool    // scale features by their NB log-count ratio (NBSVM)
	NBAlpha  float64 // NB smoothing (Wang & Manning use 1)
	Seed     uint64  // for the fixed example order
}

// Validate checks the configuration.
func (c *TrainConfig) Validate() error {
	f := c.Features
	var errs []error
	if f.Bits < 8 || f.Bits > 26 {
		errs = append(errs, fmt.Errorf("bits %d: want 8..26", f.Bits))
	}
	if f.CharMin > f.CharMax || f.CharMax > 8 || f.JoinMin > f.JoinMax || f.JoinMax > 8 {
		errs = append(errs, fmt.Errorf("n-gram ranges %d..%d, %d..%d: want min <= max <= 8", f.CharMin, f.CharMax, f.JoinMin, f.JoinMax))
	}
	if f.CharMin == 0 && f.JoinMin == 0 && !f.Words && !f.WordBigrams {
		errs = append(errs, errors.New("no features"))
	}
	if c.Epochs < 1 || c.Rate <= 0 || c.L2 < 0 {
		errs = append(errs, fmt.Errorf("epochs %d, rate %g, l2 %g: want epochs >= 1, rate > 0, l2 >= 0", c.Epochs, c.Rate, c.L2))
	}
	return errors.Join(errs...)
}

// Hashed is a data set with its features hashed once, for training and
// evaluating several models on the same features.
type Hashed struct {
	Features Features
	off      []int32 // example i's features are feat[off[i]:off[i+1]]
	feat     []uint32
	labels   []bool
}

// Len is the number of examples.
func (h *Hashed) Len() int { return len(h.labels) }

// Hash computes the features of every example.
func Hash(f Features, ex []Example) *Hashed {
	h := &Hashed{Features: f, off: make([]int32, 1, len(ex)+1), labels: make([]bool, len(ex))}
	var buf []rune
	for i, e := range ex {
		buf = normalize(buf, e.Text)
		f.each(buf, func(b uint32) { h.feat = append(h.feat, b) })
		h.off = append(h.off, int32(len(h.feat)))
		h.labels[i] = e.Label
	}
	return h
}

// Train fits a model to the hashed examples.
func Train(d *Hashed, c TrainConfig) (*Model, error) {
	c.Features = d.Features
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("train text model: %w", err)
	}
	size := 1 << c.Features.Bits
	r := make([]float32, size) // per-bucket feature scale
	for i := range r {
		r[i] = 1
	}
	if c.NB {
		pos, neg := make([]float32, size), make([]float32, size)
		var npos, nneg float64
		for i := range d.labels {
			fs := d.feat[d.off[i]:d.off[i+1]]
			// binarised counts: each bucket once per example
			uniq := slices.Clone(fs)
			slices.Sort(uniq)
			uniq = slices.Compact(uniq)
			for _, b := range uniq {
				if d.labels[i] {
					pos[b]++
				} else {
					neg[b]++
				}
			}
			if d.labels[i] {
				npos += float64(len(uniq))
			} else {
				nneg += float64(len(uniq))
			}
		}
		a := c.NBAlpha
		for i := range r {
			p := (float64(pos[i]) + a) / (npos + a*float64(size))
			q := (float64(neg[i]) + a) / (nneg + a*float64(size))
			r[i] = float32(math.Log(p / q))
		}
	}
	w := make([]float32, size)
	g := make([]float32, size)
	var bias, gb float64
	order := make([]int, len(d.labels))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	for range c.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			fs := d.feat[d.off[i]:d.off[i+1]]
			if len(fs) == 0 {
				continue
			}
			norm := float32(1 / math.Sqrt(float64(len(fs))))
			z := bias
			for _, b := range fs {
				z += float64(w[b] * r[b] * norm)
			}
			y := 0.0
			if d.labels[i] {
				y = 1
			}
			grad := 1/(1+math.Exp(-z)) - y
			gb += grad * grad
			bias -= c.Rate * grad / math.Sqrt(gb+1e-8)
			for _, b := range fs {
				gi := float32(grad)*r[b]*norm + float32(c.L2)*w[b]
				g[b] += gi * gi
				w[b] -= float32(c.Rate) * gi / float32(math.Sqrt(float64(g[b])+1e-8))
			}
		}
	}
	// fold the NB scale into the weights and quantise to int8
	var maxAbs float64
	for i := range w {
		w[i] *= r[i]
		maxAbs = math.Max(maxAbs, math.Abs(float64(w[i])))
	}
	m := &Model{Features: c.Features, Bias: float32(bias), W: make([]int8, size)}
	if maxAbs == 0 {
		m.Scale = 1
		return m, nil
	}
	m.Scale = float32(maxAbs / 127)
	for i, v := range w {
		m.W[i] = int8(math.Round(float64(v) / float64(m.Scale)))
	}
	return m, nil
}

// Logits scores every example of d with m (whose features must be d's).
func (m *Model) Logits(d *Hashed) []float64 {
	out := make([]float64, d.Len())
	for i := range out {
		fs := d.feat[d.off[i]:d.off[i+1]]
		var sum int32
		for _, b := range fs {
			sum += int32(m.W[b])
		}
		out[i] = float64(m.Bias)
		if len(fs) > 0 {
			out[i] += float64(sum) * float64(m.Scale) / math.Sqrt(float64(len(fs)))
		}
	}
	return out
}

// Labels returns the examples' labels.
func (d *Hashed) Labels() []bool { return d.labels }

// Calibrate fits Platt scaling (Platt 1999): z' = a·z + b minimising the log
// loss of the labels given the logits, by Newton's method. It returns a, b.
func Calibrate(logits []float64, labels []bool) (a, b float64) {
	a, b = 1, 0
	for range 50 {
		var ga, gb, haa, hab, hbb float64
		for i, z := range logits {
			p := 1 / (1 + math.Exp(-(a*z + b)))
			y := 0.0
			if labels[i] {
				y = 1
			}
			d := p - y
			w := p * (1 - p)
			ga += d * z
			gb += d
			haa += w * z * z
			hab += w * z
			hbb += w
		}
		det := haa*hbb - hab*hab
		if det <= 1e-12 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a -= da
		b -= db
		if math.Abs(da)+math.Abs(db) < 1e-9 {
			break
		}
	}
	return a, b
}

// Rescale folds z' = a·z + b into the model.
func (m *Model) Rescale(a, b float64) {
	m.Bias = float32(a*float64(m.Bias) + b)
	m.Scale = float32(a * float64(m.Scale))
}
