// Package kubernetes holds the reference manifests (aftershock.yaml and
// nats.yaml) and the test that checks them: every document decodes
// strictly into its k8s.io/api type (an unknown or misplaced field is an
// error), the embedded Aftershock configuration passes config.Parse and
// the NATS configuration passes nats-server's own parser. TestNATSLogin
// checks that NATS requires a login from a Secret, that Aftershock logs in
// with that Secret mounted as its password file, and that a real
// nats-server with the parsed configuration refuses anyone else.
// TestNATSRouteLogin runs the three-node cluster from nats.conf, each node
// in its pod's environment, and checks that the routes log in with the
// password from a Secret: a server without that login gets no route.
package kubernetes
