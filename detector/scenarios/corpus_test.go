package scenarios

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "regenerate the scenario corpus in testdata/")

// maxCorpusBytes bounds the uncompressed corpus.
const maxCorpusBytes = 20 << 20

// TestCorpusUpToDate regenerates every scenario from its seed and checks
// that the files in testdata are exactly what the generator makes (so the
// corpus is reproducible and nobody edited it by hand). With -update it
// rewrites them.
func TestCorpusUpToDate(t *testing.T) {
	specs := Corpus()
	if *update {
		for _, h := range HalfNames {
			if err := os.RemoveAll(filepath.Join("testdata", h)); err != nil {
				t.Fatal(err)
			}
		}
		total := 0
		for _, s := range specs {
			n, err := Write(filepath.Join("testdata", s.Half), s)
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		t.Logf("wrote %d scenarios, %d bytes uncompressed", len(specs), total)
	}
	total := 0
	for i, s := range specs {
		if raceEnabled && i%4 != 0 {
			continue // generation is slow under -race; a quarter shows determinism
		}
		var want bytes.Buffer
		truth, err := Generate(s, &want)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join("testdata", s.Half, s.Name())
		got := readGz(t, base+".jsonl.gz")
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from what the generator makes; run go test -run TestCorpusUpToDate -update", base)
		}
		total += len(got)
		scs, err := Load(filepath.Join("testdata", s.Half))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, sc := range scs {
			if sc.Truth.Name == truth.Name {
				found = true
				if sc.Truth.Release != truth.Release || len(sc.Truth.Halts) != len(truth.Halts) {
					t.Errorf("%s: truth on disk %+v, generator %+v", s.Name(), sc.Truth, truth)
				}
			}
		}
		if !found {
			t.Errorf("%s: no truth file", s.Name())
		}
	}
	if !raceEnabled && total > maxCorpusBytes {
		t.Errorf("corpus is %d bytes uncompressed, more than %d", total, maxCorpusBytes)
	}
}

// TestCorpusShape checks what the corpus promises: at least 16 scenarios,
// both halves covering incidents and clean releases of every kind.
func TestCorpusShape(t *testing.T) {
	total := 0
	for _, h := range HalfNames {
		scs, err := Load(filepath.Join("testdata", h))
		if err != nil {
			t.Fatal(err)
		}
		total += len(scs)
		kinds := map[string]bool{}
		incidents, clean := 0, 0
		for _, sc := range scs {
			kinds[sc.Truth.Kind] = true
			if len(sc.Truth.Halts) > 0 {
				incidents++
			} else {
				clean++
			}
		}
		if len(kinds) != len(Kinds) || incidents < 4 || clean < 4 {
			t.Errorf("%s: %d kinds (want %d), %d incidents, %d clean", h, len(kinds), len(Kinds), incidents, clean)
		}
	}
	if total < 16 {
		t.Errorf("%d scenarios, want at least 16", total)
	}
}

func readGz(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
