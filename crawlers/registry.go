package crawlers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Constructor builds a source from its validated Spec. It decodes
// spec.Options with Spec.DecodeOptions, validates them (messages name the
// field relative to the spec, e.g. `options.url: must be an http(s) URL`),
// does no I/O and returns a Poller or a Streamer.
type Constructor func(spec Spec, deps Deps) (any, error)

// Registry maps a source type name to its constructor. It is a value, not a
// package global, so a test can build one holding only a fake source. The
// registry of all real sources is crawlers/all.DefaultRegistry.
type Registry struct {
	types map[string]Constructor
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: make(map[string]Constructor)}
}

// Add registers a source type. It panics on an empty or duplicate name, a
// programming error in the registry list.
func (r *Registry) Add(typ string, c Constructor) *Registry {
	if typ == "" || c == nil {
		panic("crawlers: Registry.Add with empty type or nil constructor")
	}
	if _, ok := r.types[typ]; ok {
		panic(fmt.Sprintf("crawlers: source type %q registered twice", typ))
	}
	r.types[typ] = c
	return r
}

// Types lists the registered type names, sorted.
func (r *Registry) Types() []string {
	var names []string
	for name := range r.types {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Instance is one configured, constructed source: exactly one of Poller and
// Streamer is set.
type Instance struct {
	Spec     Spec
	Poller   Poller
	Streamer Streamer
}

// Build validates specs (applying defaults) and constructs every instance.
// It reports every problem at once, each naming its field path, e.g.
// `sources[3].type: unknown source type "foo" (known: feed)`.
func (r *Registry) Build(specs []Spec, deps Deps) ([]*Instance, error) {
	deps = deps.WithDefaults()
	specs = slices.Clone(specs)
	var errs []error
	if err := ValidateSpecs(specs); err != nil {
		errs = append(errs, err)
	}
	var insts []*Instance
	for i, spec := range specs {
		if spec.Type == "" {
			continue // reported by ValidateSpecs
		}
		ctor, ok := r.types[spec.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("sources[%d].type: unknown source type %q (known: %s)", i, spec.Type, strings.Join(r.Types(), ", ")))
			continue
		}
		d := deps
		d.Logger = deps.Logger.With("source", spec.Name, "type", spec.Type)
		src, err := ctor(spec, d)
		if err != nil {
			errs = append(errs, prefixErrors(fmt.Sprintf("sources[%d].", i), err))
			continue
		}
		inst := &Instance{Spec: spec}
		switch s := src.(type) {
		case Poller:
			inst.Poller = s
		case Streamer:
			inst.Streamer = s
		default:
			errs = append(errs, fmt.Errorf("sources[%d].type: source type %q built a %T, neither a Poller nor a Streamer", i, spec.Type, src))
			continue
		}
		insts = append(insts, inst)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return insts, nil
}
