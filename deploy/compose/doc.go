// Package compose holds the test that checks docker-compose.yml statically
// (Docker does not run in CI): NATS requires a login from the compose
// secret, its ports are bound to loopback, and the Aftershock configuration
// the compose file runs parses and logs in with that secret.
package compose
