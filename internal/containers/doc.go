// Package containers holds tests that run what `cloister init` writes in
// real containers (podman and podman-compose, as root, on networks inside
// 198.18.0.0/15); they skip with the reason where containers cannot run.
package containers
