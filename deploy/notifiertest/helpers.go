package notifiertest

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/testclock"
	"gopkg.in/yaml.v3"
)

// Clock is a settable test clock (internal/testclock), safe for concurrent use.
type Clock = testclock.Clock

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return testclock.New(t) }

// JSONEqual reports whether got and want hold the same JSON value (object
// keys in any order). Either one not being JSON fails the test.
func JSONEqual(t testing.TB, got, want []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(got, &x); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &y); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

// YAMLStrict decodes text into v, refusing fields v does not have.
func YAMLStrict(text []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// ReadYAML decodes the file at path into v with YAMLStrict; a missing file
// or a decoding error fails the test.
func ReadYAML(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := YAMLStrict(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
