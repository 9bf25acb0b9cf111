//go:build race

package scenarios

// raceEnabled: under the race detector a replay is about five times
// slower, so the tests replay fewer scenarios.
const raceEnabled = true
