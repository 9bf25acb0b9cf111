// Package buildinfo says which build of Aftershock is running: the module
// version when it was installed at a tag (go install …@v1.2.3), else the
// VCS revision the binary was built from (go build in a checkout), else
// "dev". A release build may set Override with
// -ldflags "-X github.com/aftershock/aftershock/internal/buildinfo.Override=v1.2.3".
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// Override, set at link time, wins over what the binary records.
var Override string

// Version is this build's version, e.g. "v1.2.3", "devel+3f2a9c1d0b7e" or
// "devel+3f2a9c1d0b7e-dirty" (built from a checkout with uncommitted
// changes), or "dev" when the binary records neither.
func Version() string { return version() }

var version = sync.OnceValue(func() string {
	if Override != "" {
		return Override
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(bi)
})

func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel+" + rev
	if dirty {
		v += "-dirty"
	}
	return v
}
