package config

import (
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Keys lists every key the configuration file may hold, as dotted paths
// ("nats.data_dir", "notifiers[].webhook.url"), from the yaml tags of the
// config structs. A map (budgets.teams, sources[].options) is one key; so
// is a type that decodes itself.
func Keys() []string {
	var out []string
	walk(reflect.TypeOf(Config{}), "", &out)
	sort.Strings(out)
	return out
}

var (
	unmarshaler = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	durationT   = reflect.TypeOf(time.Duration(0))
)

func walk(t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationT, t.Kind() != reflect.Struct && t.Kind() != reflect.Slice,
		reflect.PointerTo(t).Implements(unmarshaler),
		t.Kind() == reflect.Struct && !strings.HasPrefix(t.PkgPath(), "github.com/aftershock/"):
		*out = append(*out, path)
		return
	case t.Kind() == reflect.Slice:
		if e := t.Elem(); e.Kind() == reflect.Struct || (e.Kind() == reflect.Pointer && e.Elem().Kind() == reflect.Struct) {
			walk(e, path+"[]", out)
			return
		}
		*out = append(*out, path)
		return
	}
	n := len(*out)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			walk(f.Type, path, out)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		if strings.Count(p, ".") > 8 {
			panic("config.Keys: nesting too deep at " + p)
		}
		walk(f.Type, p, out)
	}
	if len(*out) == n && path != "" { // a struct with no keys of its own
		*out = append(*out, path)
	}
}
