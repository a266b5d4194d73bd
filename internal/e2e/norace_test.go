//go:build !race

package e2e

// raceEnabled is true when the test runs with -race; the agent is then
// built with -race too.
const raceEnabled = false
