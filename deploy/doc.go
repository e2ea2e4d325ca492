// Package deploy holds no code: its test validates the Kubernetes manifests
// in deploy/kubernetes offline. It is a module of its own so that the
// Kubernetes API types it decodes into never reach the swapwire module's
// dependencies; `make test-deploy` (part of `make test`) runs it.
package deploy
