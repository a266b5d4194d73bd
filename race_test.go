//go:build race

package cloister_test

const raceEnabled = true
