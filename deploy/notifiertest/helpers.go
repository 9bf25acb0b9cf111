package notifiertest

import (
	"bytes"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Clock is a settable clock: pass its Now as a notifier's now and move it
// with Add. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

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
