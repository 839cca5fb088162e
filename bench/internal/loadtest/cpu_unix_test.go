//go:build unix

package loadtest

const cpuMeasured = true
