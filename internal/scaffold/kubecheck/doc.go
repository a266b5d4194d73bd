// Package kubecheck tests the Kubernetes manifests and the compose file of
// `cloister init` by decoding them strictly into the Kubernetes API types
// (k8s.io/api, sigs.k8s.io/yaml): an unknown or misspelt field, or a value
// of the wrong type, fails. It is its own module so that the root module
// does not depend on k8s.io.
package kubecheck
