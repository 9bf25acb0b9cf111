// Package integration checks Aftershock's deploy gate and halt webhook with
// the deploy systems' own code, against a live in-process daemon
// (internal/app): Argo Rollouts' web metric provider, condition evaluation
// and analysis controller, Flagger's webhook caller, and the Standard
// Webhooks library. It is a separate module so the main one does not carry
// Kubernetes, Argo Rollouts and Flagger; CI runs it from .ci/run.
//
// The templates under test are the ones in docs/gate.md, read from the file.
package integration
