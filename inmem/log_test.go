package inmem

import (
	"testing"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/porttest"
)

// TestLogStore runs the port's conformance suite.
func TestLogStore(t *testing.T) {
	porttest.LogStore(t, func(t *testing.T) zkhealth.LogStore { return NewLogStore() })
}
