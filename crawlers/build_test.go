package crawlers

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type testOptions struct {
	URL   string `yaml:"url"`
	Limit int    `yaml:"limit"`
}

func (o *testOptions) Validate() error {
	if o.Limit == 0 {
		o.Limit = 10
	}
	if o.URL == "" {
		return errors.New("options.url: required")
	}
	return nil
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       testOptions
		err        string
	}{
		{name: "defaults applied", yaml: "options: {url: http://x}", want: testOptions{URL: "http://x", Limit: 10}},
		{name: "invalid", yaml: "options: {limit: 3}", err: "options.url: required"},
		{name: "unknown field", yaml: "options: {url: http://x, limt: 3}", err: "options.limt: unknown option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var spec Spec
			if err := yaml.Unmarshal([]byte(tc.yaml), &spec); err != nil {
				t.Fatal(err)
			}
			got, err := ParseOptions[testOptions](spec)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
			case err != nil || got != tc.want:
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestBuilt(t *testing.T) {
	if s, err := Built[testOptions](nil, errors.New("bad")); s != nil || err == nil {
		t.Errorf("Built with an error = %#v, %v; want a nil any and the error", s, err)
	}
	o := &testOptions{}
	if s, err := Built(o, nil); s != o || err != nil {
		t.Errorf("Built = %#v, %v; want the source", s, err)
	}
}

func TestCursor(t *testing.T) {
	type cur struct {
		Newest string   `json:"newest,omitempty"`
		Seen   []string `json:"seen,omitempty"`
	}
	c := cur{Newest: "7", Seen: []string{"a", "b"}}
	s := EncodeCursor(c)
	if s != `{"newest":"7","seen":["a","b"]}` {
		t.Errorf("EncodeCursor = %s", s)
	}
	got, err := DecodeCursor[cur](s)
	if err != nil || got.Newest != "7" || len(got.Seen) != 2 {
		t.Errorf("round trip: %+v, %v", got, err)
	}
	if got, err := DecodeCursor[cur](""); err != nil || got.Newest != "" {
		t.Errorf(`DecodeCursor("") = %+v, %v; want the zero cursor`, got, err)
	}
	if got, err := DecodeCursor[cur](`{"newest":"7","seen":`); err == nil || !strings.HasPrefix(err.Error(), "decoding cursor: ") || got.Newest != "" {
		t.Errorf("bad cursor: %+v, %v; want a zero cursor and an error", got, err)
	}
}
