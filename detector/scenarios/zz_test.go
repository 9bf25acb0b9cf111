package scenarios

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestZZWrite(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	pools := loadPools(t, Tune)
	spec := Spec{Kind: "monday-surge", Seed: 159, Half: Tune}
	var buf bytes.Buffer
	if _, err := generate(pools, spec, &buf, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join("/tmp", "s159.jsonl"), buf.Bytes(), 0o644)
}
