// Package oneproc puts a cloister agent on one P (GOMAXPROCS 1) before
// the heavy package initialisers run.
//
// Why a package of its own: Go initialises packages in the order of their
// import paths, each as soon as the packages it imports are initialised.
// This one imports only os and runtime, so its init runs after the
// standard packages whose paths sort before "github.com" and before
// memberlist's codec, the DNS client and the rest of the command's
// dependencies: those then run on one P. Set from main, the same call came
// after them all, tore down a second P whose cache the initialisers had
// filled, and an agent's start took about 2 ms more CPU
// (docs/benchmarks.md). The command imports it for that side effect only.
package oneproc
