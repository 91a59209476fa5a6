package redistest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/internal/redistest"
)

func TestDeleteKeys(t *testing.T) {
	ctx := context.Background()
	c := redistest.Client(t, redistest.Start(t))
	base := redistest.Prefix(t)
	redistest.Cleanup(t, c, base)
	if !strings.HasPrefix(base, "zkhtest:TestDeleteKeys:") || base == redistest.Prefix(t) {
		t.Fatalf("prefix %q: not of the expected shape or not unique", base)
	}
	// A prefix with glob characters must match only itself.
	glob := base + "a*[b]?:"
	sibling := base + "aXbY:"
	for _, k := range []string{glob + "1", glob + "2", sibling + "1"} {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n, err := redistest.DeleteKeys(ctx, c, glob)
	if err != nil || n != 2 {
		t.Fatalf("DeleteKeys = %d, %v; want 2", n, err)
	}
	if c.Exists(ctx, sibling+"1").Val() != 1 {
		t.Fatal("DeleteKeys removed a key outside its prefix")
	}
	if _, err := redistest.DeleteKeys(ctx, c, ""); err == nil {
		t.Fatal("DeleteKeys accepted an empty prefix")
	}
}

func TestStartPrivate(t *testing.T) {
	if !redistest.Installed() {
		t.Fatal(redistest.InstallHint)
	}
	s := redistest.StartPrivate(t)
	c := redistest.Client(t, s.URL+"?max_retries=-1")
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatal("PING answered after Stop")
	}
	s.Stop() // idempotent
}
