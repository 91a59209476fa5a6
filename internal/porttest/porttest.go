// Package porttest holds one conformance suite per port of package zkhealth (Store, Cache,
// RateLimiter, Queue). Each adapter's tests run the suite of every port it implements on a fresh
// instance, so bolt, inmem and redis are held to one contract, written once:
//
//	func TestStore(t *testing.T) { porttest.Store(t, func(t *testing.T) zkhealth.Store { … }) }
//
// What only one adapter does (bolt's file lock and purge, Redis key expiry, payload sealing,
// in-memory eviction) stays in that adapter's own tests.
package porttest

import (
	"testing"

	"github.com/zkhealth/zkhealth"
)

// wantCode fails the test unless err carries the zkhealth error code ("" for nil).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := zkhealth.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}
