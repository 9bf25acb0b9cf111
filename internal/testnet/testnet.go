// Package testnet holds network helpers for tests that start real servers
// on loopback.
package testnet

import (
	"net"
	"testing"
)

// FreePorts reserves n loopback ports and frees them again, so servers can
// be told each other's addresses (a cluster's routes) before any of them
// starts. Another process may take a port in between; on loopback in a
// test that is rare.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}
