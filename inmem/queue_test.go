package inmem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/porttest"
)

const secret = "deadbeefcafe" // stands for private data that must never reach a job's error

func proofJob(req string) zkhealth.ProofJob {
	return zkhealth.ProofJob{RequestID: req, Credential: json.RawMessage(`{"attr":"` + secret + `"}`), HolderSecret: secret}
}

// echoRunner returns a PROOF.json naming the request.
func echoRunner(_ context.Context, job zkhealth.ProofJob) ([]byte, error) {
	return fmt.Appendf(nil, `{"request_id":%q}`, job.RequestID), nil
}

// blockingRunner runs until release is closed (or ctx ends), announcing each start on started.
type blockingRunner struct {
	started chan string
	release chan struct{}
	calls   atomic.Int32
}

func newBlockingRunner() *blockingRunner {
	return &blockingRunner{started: make(chan string, 100), release: make(chan struct{})}
}

func (b *blockingRunner) run(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
	b.calls.Add(1)
	b.started <- job.RequestID
	select {
	case <-b.release:
		return echoRunner(ctx, job)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *blockingRunner) waitStarted(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-b.started:
		if got != want {
			t.Fatalf("job %q started, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("job %q did not start", want)
	}
}

// startQueue starts q and closes it when the test ends.
func startQueue(t *testing.T, q *Queue) *Queue {
	t.Helper()
	q.Start(context.Background())
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Close(c)
	})
	return q
}

// waitEnded polls until the job is done or failed.
func waitEnded(t *testing.T, q *Queue, id string) zkhealth.Job {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		j, err := q.Job(ctx, id)
		if err != nil {
			t.Fatalf("Job(%q): %v", id, err)
		}
		if j.Status == zkhealth.JobDone || j.Status == zkhealth.JobFailed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %q still %s", id, j.Status)
		}
		time.Sleep(time.Millisecond)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := zkhealth.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

// TestQueue runs the port's conformance suite on a started pool.
func TestQueue(t *testing.T) {
	porttest.Queue(t, func(t *testing.T, run zkhealth.ProofRunner, workers, capacity int) zkhealth.Queue {
		return startQueue(t, NewQueue(run, workers, capacity))
	})
}

// TestQueueStatesAndTimings: queued before Start, running, done, with timings by the queue's
// clock.
func TestQueueStatesAndTimings(t *testing.T) {
	clk, br := newFakeClock(), newBlockingRunner()
	q := NewQueue(br.run, 1, 5)
	q.now = clk.Now
	if err := q.Enqueue(ctx, "j", proofJob("r")); err != nil {
		t.Fatal(err)
	}
	j, _ := q.Job(ctx, "j")
	if j.Status != zkhealth.JobQueued || j.QueueMS != nil || j.ProveMS != nil {
		t.Fatalf("before Start: %+v, want queued without timings", j)
	}
	clk.Advance(1500 * time.Millisecond)
	startQueue(t, q)
	br.waitStarted(t, "r")
	j, _ = q.Job(ctx, "j")
	if j.Status != zkhealth.JobRunning || j.QueueMS == nil || *j.QueueMS != 1500 || j.ProveMS != nil {
		t.Fatalf("running: %+v, want running with queue_ms 1500 only", j)
	}
	clk.Advance(2 * time.Second)
	close(br.release)
	j = waitEnded(t, q, "j")
	if j.Status != zkhealth.JobDone || *j.QueueMS != 1500 || j.ProveMS == nil || *j.ProveMS != 2000 {
		t.Fatalf("done: %+v (prove_ms %v), want done with queue_ms 1500, prove_ms 2000", j, j.ProveMS)
	}
}

func TestQueuePayloadDropped(t *testing.T) {
	var seen json.RawMessage
	var mu sync.Mutex
	run := func(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
		mu.Lock()
		seen = job.Credential // retained on purpose, to check the queue zeroes its copy
		mu.Unlock()
		return echoRunner(ctx, job)
	}
	q := startQueue(t, NewQueue(run, 1, 1))
	in := proofJob("r")
	orig := string(in.Credential)
	if err := q.Enqueue(ctx, "j", in); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, q, "j")
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(string(seen), secret) || len(seen) == 0 {
		t.Fatalf("credential still in memory after the job ended: %q", seen)
	}
	if string(in.Credential) != orig {
		t.Fatalf("the caller's credential was modified: %q", in.Credential)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.jobs["j"].payload != nil {
		t.Fatal("the finished job still references its payload")
	}
}

func TestQueueRetention(t *testing.T) {
	clk := newFakeClock()
	var calls atomic.Int32
	run := func(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
		calls.Add(1)
		return echoRunner(ctx, job)
	}
	q := NewQueue(run, 1, 1, WithRetention(time.Minute))
	q.now = clk.Now
	startQueue(t, q)
	if err := q.Enqueue(ctx, "j", proofJob("r")); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, q, "j")
	for _, s := range []struct {
		advance time.Duration
		code    string
	}{
		{30 * time.Second, ""},
		{30 * time.Second, ""}, // exactly the retention period
		{time.Second, zkhealth.ENotFound},
	} {
		clk.Advance(s.advance)
		_, err := q.Job(ctx, "j")
		wantCode(t, err, s.code)
	}
	// Forgotten: the id may be queued again and runs again.
	if err := q.Enqueue(ctx, "j", proofJob("r")); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, q, "j")
	if n := calls.Load(); n != 2 {
		t.Fatalf("runner called %d times, want 2", n)
	}
}

func TestQueueClose(t *testing.T) {
	t.Run("WaitsForInFlight", func(t *testing.T) {
		br := newBlockingRunner()
		q := NewQueue(br.run, 1, 5)
		q.Start(context.Background())
		_ = q.Enqueue(ctx, "inflight", proofJob("inflight"))
		br.waitStarted(t, "inflight")
		_ = q.Enqueue(ctx, "waiting", proofJob("waiting"))

		closed := make(chan error, 1)
		go func() {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			closed <- q.Close(c)
		}()
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) while a proof was running", err)
		case <-time.After(50 * time.Millisecond):
		}
		wantCode(t, q.Enqueue(ctx, "late", proofJob("late")), zkhealth.EUnavailable)
		if j, _ := q.Job(ctx, "waiting"); j.Status != zkhealth.JobFailed || j.Error.Code != zkhealth.EUnavailable {
			t.Fatalf("waiting job after Close = %+v, want failed unavailable", j)
		}
		if d, _ := q.Depth(ctx); d != 0 {
			t.Fatalf("Depth = %d after Close, want 0", d)
		}
		close(br.release)
		if err := <-closed; err != nil {
			t.Fatalf("Close = %v, want nil", err)
		}
		if j, _ := q.Job(ctx, "inflight"); j.Status != zkhealth.JobDone {
			t.Fatalf("in-flight job after Close = %+v, want done", j)
		}
		if n := br.calls.Load(); n != 1 {
			t.Fatalf("runner called %d times, want 1 (the waiting job must not start)", n)
		}
	})
	t.Run("BoundedByContext", func(t *testing.T) {
		br := newBlockingRunner() // never released: ends only when its context is cancelled
		q := NewQueue(br.run, 1, 5)
		q.Start(context.Background())
		_ = q.Enqueue(ctx, "stuck", proofJob("stuck"))
		br.waitStarted(t, "stuck")
		c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := q.Close(c); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Close took %v", d)
		}
		if j := waitEnded(t, q, "stuck"); j.Status != zkhealth.JobFailed || j.Error.Code != zkhealth.EInternal {
			t.Fatalf("cancelled job = %+v, want failed internal", j)
		}
	})
	t.Run("BeforeStart", func(t *testing.T) {
		q := NewQueue(echoRunner, 1, 1)
		_ = q.Enqueue(ctx, "j", proofJob("r"))
		if err := q.Close(ctx); err != nil {
			t.Fatal(err)
		}
		q.Start(context.Background()) // no-op after Close
		if j, _ := q.Job(ctx, "j"); j.Status != zkhealth.JobFailed {
			t.Fatalf("job = %+v, want failed", j)
		}
	})
}
