package testnet

import (
	"fmt"
	"net"
	"testing"
)

func TestFreePorts(t *testing.T) {
	ports := FreePorts(t, 3)
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: want three distinct ports", ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d was not freed: %v", p, err)
		}
		l.Close()
	}
}
