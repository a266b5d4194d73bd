//go:build !race

package cloistertest

// nodeCost is how many nodes' worth of CPU one node costs in this build
// (see DetectionFor): one, without the race detector.
const nodeCost = 1
