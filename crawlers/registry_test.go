package crawlers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/crawlers"
)

type fakeOptions struct {
	Word string `yaml:"word"`
}

type fakePoller struct{ word string }

func (f *fakePoller) Poll(context.Context, string) (crawlers.Page, error) {
	return crawlers.Page{}, nil
}

func fakeRegistry() *crawlers.Registry {
	return crawlers.NewRegistry().
		Add("fake", func(spec crawlers.Spec, _ crawlers.Deps) (any, error) {
			var o fakeOptions
			if err := spec.DecodeOptions(&o); err != nil {
				return nil, err
			}
			if o.Word == "" {
				return nil, errors.New("options.word: required")
			}
			return &fakePoller{word: o.Word}, nil
		}).
		Add("broken", func(crawlers.Spec, crawlers.Deps) (any, error) { return "not a source", nil })
}

func parseSpecs(t *testing.T, text string) []crawlers.Spec {
	t.Helper()
	var cfg struct {
		Sources []crawlers.Spec `yaml:"sources"`
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Sources
}

func TestBuild(t *testing.T) {
	specs := parseSpecs(t, `
sources:
  - name: one
    type: fake
    service: shop
    interval: 30s
    options: {word: hello}
  - name: two
    type: fake
    service: shop
    options: {word: bye}
`)
	insts, err := fakeRegistry().Build(specs, crawlers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 2 {
		t.Fatalf("%d instances, want 2", len(insts))
	}
	if p, ok := insts[0].Poller.(*fakePoller); !ok || p.word != "hello" || insts[0].Spec.Interval != 30*time.Second {
		t.Errorf("instance 0: %+v", insts[0])
	}
	if s := insts[1].Spec; s.Interval != crawlers.DefaultInterval || s.Timeout != crawlers.DefaultTimeout {
		t.Errorf("defaults not applied: interval %s, timeout %s", s.Interval, s.Timeout)
	}
	if specs[1].Interval != 0 {
		t.Error("Build changed the caller's specs")
	}
}

func TestBuildErrors(t *testing.T) {
	specs := parseSpecs(t, `
sources:
  - {name: ok, type: fake, service: shop, options: {word: x}}
  - {name: ok, type: fake, service: shop, options: {word: y}}
  - {name: "bad name", type: fake, service: "shop.eu", interval: 10ms, options: {word: z}}
  - {name: three, type: foo, service: shop}
  - {name: four, type: fake, service: shop, options: {wrod: typo}}
  - {name: five, type: fake, service: shop}
  - {name: six, type: broken, service: shop}
  - {name: seven, service: shop}
`)
	_, err := fakeRegistry().Build(specs, crawlers.Deps{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`sources[1].name: "ok" is already used by sources[0]`,
		`sources[2].name: "bad name" must be 1-128 letters, digits, '-' or '_'`,
		`sources[2].service: "shop.eu" must be`,
		`sources[2].interval: 10ms is shorter than 1s`,
		`sources[3].type: unknown source type "foo" (known: broken, fake)`,
		`sources[4].options.wrod: unknown option (line 7)`,
		`sources[5].options.word: required`,
		`sources[6].type: source type "broken" built a string, neither a Poller nor a Streamer`,
		`sources[7].type: required`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec crawlers.Spec
		want string // "" = valid
	}{
		{"ok", crawlers.Spec{Name: "a_b-1", Type: "feed", Service: "shop"}, ""},
		{"no name", crawlers.Spec{Type: "feed", Service: "shop"}, "name: required"},
		{"dotted name", crawlers.Spec{Name: "a.b", Type: "feed", Service: "shop"}, `name: "a.b" must be`},
		{"no service", crawlers.Spec{Name: "a", Type: "feed"}, "service: required"},
		{"fast", crawlers.Spec{Name: "a", Type: "feed", Service: "s", Interval: time.Millisecond}, "interval: 1ms is shorter than 1s"},
		{"negative timeout", crawlers.Spec{Name: "a", Type: "feed", Service: "s", Timeout: -time.Second}, "timeout: -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRegistryAddTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	fakeRegistry().Add("fake", func(crawlers.Spec, crawlers.Deps) (any, error) { return nil, nil })
}
