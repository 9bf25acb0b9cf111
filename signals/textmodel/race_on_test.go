//go:build race

package textmodel

// raceEnabled: sync.Pool drops items at random under the race detector.
const raceEnabled = true
