//go:build !race

package textmodel

const raceEnabled = false
