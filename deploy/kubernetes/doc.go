// Package kubernetes holds the reference manifests (aftershock.yaml and
// nats.yaml) and the test that checks them: every document decodes
// strictly into its k8s.io/api type (an unknown or misplaced field is an
// error), the embedded Aftershock configuration passes config.Parse and
// the NATS configuration passes nats-server's own parser.
package kubernetes
