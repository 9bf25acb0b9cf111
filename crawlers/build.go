package crawlers

import (
	"encoding/json"
	"fmt"
)

// ParseOptions decodes the options of spec into an O (see
// Spec.DecodeOptions) and validates them, applying their defaults: the
// first step of every source constructor.
//
//	opts, err := crawlers.ParseOptions[Options](spec)
func ParseOptions[O any, P interface {
	*O
	Validate() error
}](spec Spec) (O, error) {
	var opts O
	if err := spec.DecodeOptions(&opts); err != nil {
		return opts, err
	}
	if err := P(&opts).Validate(); err != nil {
		return opts, err
	}
	return opts, nil
}

// Built turns what a source's New returns into what a Constructor returns:
// the source, or a nil any (not a nil *T in an any) and the error.
//
//	func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
//		return crawlers.Built(New(spec, deps))
//	}
func Built[T any](s *T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// DecodeCursor reads a cursor stored as JSON into a T; "" is the zero T
// (the first poll).
func DecodeCursor[T any](s string) (T, error) {
	var c T
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		var zero T
		return zero, fmt.Errorf("decoding cursor: %w", err)
	}
	return c, nil
}

// EncodeCursor writes a cursor as JSON. A cursor holds strings, numbers and
// times, which cannot fail to encode; it panics if c does.
func EncodeCursor(c any) string {
	data, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("encoding cursor %T: %v", c, err))
	}
	return string(data)
}
