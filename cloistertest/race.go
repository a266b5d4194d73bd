//go:build race

package cloistertest

// nodeCost is how many nodes' worth of CPU one node costs in this build:
// the race detector makes every node several times as costly (see
// DetectionFor).
const nodeCost = raceNodeCost
