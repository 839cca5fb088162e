package jwtguard_test

import (
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
)

// The login policy's in-memory throttle passes the Throttle conformance
// suite.
func TestMemoryThrottle(t *testing.T) {
	storetest.Throttle(t, func(t *testing.T) jwtguard.Throttle { return jwtguard.NewMemoryThrottle(1024) })
}
