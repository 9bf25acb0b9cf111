// Package faults is the fault suite: real aftershock processes (the binary
// built once with go build), real brokers and a real InfluxDB on loopback,
// hurt while they work — SIGKILL mid-ingest, broker restarts, a database
// that goes away, a halt receiver that is down or refuses, a crawled server
// that hangs. Each scenario counts what was sent, acknowledged, stored,
// lost and duplicated, and asserts that nothing acknowledged is lost and
// that a release's ring is halted at most once.
//
// The package holds only tests; `go test -v ./internal/faults` prints the
// table.
package faults
