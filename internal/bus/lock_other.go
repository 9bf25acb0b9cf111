//go:build !unix

package bus

import "os"

// Without flock the data dir is not guarded.
func flock(*os.File) error   { return nil }
func funlock(*os.File) error { return nil }
