// Package throughput measures the ingest path against bare JetStream on the
// same machine in the same run (see throughput_test.go):
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/throughput
package throughput
