package porttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
)

// OpenQueue returns an empty queue whose jobs are run by run on `workers` concurrent runners
// (started), with room for capacity waiting jobs; the opener stops everything when the test
// ends.
type OpenQueue func(t *testing.T, run zkhealth.ProofRunner, workers, capacity int) zkhealth.Queue

// jobTimeout bounds the wait for one job: a Redis worker polls its queue every second.
const jobTimeout = 30 * time.Second

// secret stands for the private data of a job, which must never reach a job's error.
const secret = "SECRET-0f1e2d3c4b5a6978"

func proofJob(req string) zkhealth.ProofJob {
	return zkhealth.ProofJob{RequestID: req, Credential: json.RawMessage(`{"attributes":{"member_id":"` + secret + `"}}`), HolderSecret: secret}
}

func proofOf(job zkhealth.ProofJob) []byte {
	return fmt.Appendf(nil, `{"request_id":%q}`, job.RequestID)
}

// waitEnded polls until the job is done or failed.
func waitEnded(t *testing.T, q zkhealth.Queue, id string) zkhealth.Job {
	t.Helper()
	deadline := time.Now().Add(jobTimeout)
	for {
		j, err := q.Job(context.Background(), id)
		if err != nil {
			t.Fatalf("Job(%q): %v", id, err)
		}
		if j.Status == zkhealth.JobDone || j.Status == zkhealth.JobFailed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %q still %s after %v", id, j.Status, jobTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// blocking is a runner that announces each job and holds it until release is closed.
type blocking struct {
	started chan string
	release chan struct{}
}

func newBlocking() *blocking {
	return &blocking{started: make(chan string, 100), release: make(chan struct{})}
}

func (b *blocking) run(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
	b.started <- job.RequestID
	select {
	case <-b.release:
		return proofOf(job), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *blocking) waitStarted(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-b.started:
		if got != want {
			t.Fatalf("job %q started, want %q", got, want)
		}
	case <-time.After(jobTimeout):
		t.Fatalf("job %q did not start", want)
	}
}

// Queue runs the zkhealth.Queue contract on queues from open.
func Queue(t *testing.T, open OpenQueue) {
	ctx := context.Background()
	t.Run("RunsJobs", func(t *testing.T) {
		run := func(_ context.Context, job zkhealth.ProofJob) ([]byte, error) {
			if job.HolderSecret != secret || !strings.Contains(string(job.Credential), secret) {
				return nil, errors.New("the runner got another job than was queued")
			}
			return proofOf(job), nil
		}
		q := open(t, run, 2, 10)
		for i := range 5 {
			if err := q.Enqueue(ctx, fmt.Sprint("job", i), proofJob(fmt.Sprint("req", i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			j := waitEnded(t, q, fmt.Sprint("job", i))
			want := proofOf(proofJob(fmt.Sprint("req", i)))
			if j.ID != fmt.Sprint("job", i) || j.Status != zkhealth.JobDone || string(j.Proof) != string(want) || j.Error != nil {
				t.Fatalf("job %d = %+v, want done with proof %s", i, j, want)
			}
			if j.QueueMS == nil || j.ProveMS == nil || *j.QueueMS < 0 || *j.ProveMS < 0 {
				t.Fatalf("job %d timings queue_ms=%v prove_ms=%v, want both", i, j.QueueMS, j.ProveMS)
			}
		}
		if d, err := q.Depth(ctx); err != nil || d != 0 {
			t.Fatalf("Depth = %d, %v after all jobs ended, want 0", d, err)
		}
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := q.Job(ctx, "never-queued")
			wantCode(t, err, zkhealth.ENotFound)
		})
		t.Run("ErrInvalidEmptyID", func(t *testing.T) {
			wantCode(t, q.Enqueue(ctx, "", proofJob("r")), zkhealth.EInvalid)
		})
	})
	t.Run("OneRunPerID", func(t *testing.T) {
		var calls atomic.Int32
		run := func(_ context.Context, job zkhealth.ProofJob) ([]byte, error) {
			calls.Add(1)
			return proofOf(job), nil
		}
		q := open(t, run, 2, 10)
		for range 3 {
			if err := q.Enqueue(ctx, "dup", proofJob("r")); err != nil {
				t.Fatal(err)
			}
		}
		waitEnded(t, q, "dup")
		if err := q.Enqueue(ctx, "dup", proofJob("r")); err != nil { // and once finished
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // longer than a Redis worker's poll
		if n := calls.Load(); n != 1 {
			t.Fatalf("runner called %d times for one id, want 1", n)
		}
	})
	t.Run("States", func(t *testing.T) {
		b := newBlocking()
		q := open(t, b.run, 1, 10)
		if err := q.Enqueue(ctx, "busy", proofJob("busy")); err != nil {
			t.Fatal(err)
		}
		b.waitStarted(t, "busy")
		if err := q.Enqueue(ctx, "next", proofJob("next")); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]zkhealth.JobStatus{"busy": zkhealth.JobRunning, "next": zkhealth.JobQueued} {
			if j, err := q.Job(ctx, id); err != nil || j.Status != want || j.Proof != nil || j.Error != nil {
				t.Fatalf("%s = %+v, %v; want %s", id, j, err, want)
			}
		}
		if d, err := q.Depth(ctx); err != nil || d != 1 {
			t.Fatalf("Depth = %d, %v; want 1 (the running job is not waiting)", d, err)
		}
		close(b.release)
		for _, id := range []string{"busy", "next"} {
			if j := waitEnded(t, q, id); j.Status != zkhealth.JobDone {
				t.Fatalf("%s = %+v, want done", id, j)
			}
		}
	})
	t.Run("ErrOverloaded", func(t *testing.T) {
		b := newBlocking()
		q := open(t, b.run, 1, 2)
		if err := q.Enqueue(ctx, "running", proofJob("running")); err != nil {
			t.Fatal(err)
		}
		b.waitStarted(t, "running")
		for _, s := range []struct {
			id   string
			code string
		}{
			{"wait1", ""},
			{"wait2", ""},
			{"over", zkhealth.EOverloaded},
			{"wait1", ""}, // a duplicate of a waiting job succeeds even when full
		} {
			wantCode(t, q.Enqueue(ctx, s.id, proofJob(s.id)), s.code)
		}
		if d, err := q.Depth(ctx); err != nil || d != 2 {
			t.Fatalf("Depth = %d, %v; want 2", d, err)
		}
		_, err := q.Job(ctx, "over")
		wantCode(t, err, zkhealth.ENotFound)
		close(b.release)
		for _, id := range []string{"running", "wait1", "wait2"} {
			if j := waitEnded(t, q, id); j.Status != zkhealth.JobDone {
				t.Fatalf("%s = %+v, want done", id, j)
			}
		}
		if err := q.Enqueue(ctx, "over", proofJob("over")); err != nil {
			t.Fatalf("Enqueue once the queue drained: %v", err)
		}
		waitEnded(t, q, "over")
	})
	t.Run("FailuresShowOnlyDomainErrors", func(t *testing.T) {
		credErr := zkhealth.Errorf(zkhealth.ECredential, "the credential's signature is invalid")
		hidden := zkhealth.ErrorBody{Code: zkhealth.EInternal, Message: "proof generation failed"}
		cases := []struct {
			id   string
			run  func() ([]byte, error)
			want zkhealth.ErrorBody
		}{
			{"domain", func() ([]byte, error) {
				e := zkhealth.Errorf(zkhealth.ENotSatisfied, "predicate 3 (x) does not hold")
				e.Predicate = 3
				return nil, e
			}, zkhealth.ErrorBody{Code: zkhealth.ENotSatisfied, Message: "predicate 3 (x) does not hold"}},
			{"wrapped", func() ([]byte, error) { return nil, fmt.Errorf("prove %s: %w", secret, credErr) },
				zkhealth.ErrorBody{Code: zkhealth.ECredential, Message: credErr.Message}},
			{"plain", func() ([]byte, error) { return nil, errors.New("witness: " + secret) }, hidden},
			{"internal", func() ([]byte, error) { return nil, zkhealth.Errorf(zkhealth.EInternal, "solver failed on %s", secret) }, hidden},
			{"panic", func() ([]byte, error) { panic("secret " + secret) }, hidden},
			{"notjson", func() ([]byte, error) { return []byte("not json " + secret), nil }, hidden},
		}
		runs := map[string]func() ([]byte, error){}
		for _, tc := range cases {
			runs[tc.id] = tc.run
		}
		q := open(t, func(_ context.Context, job zkhealth.ProofJob) ([]byte, error) { return runs[job.RequestID]() }, 2, len(cases))
		for _, tc := range cases {
			if err := q.Enqueue(ctx, tc.id, proofJob(tc.id)); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range cases {
			t.Run(tc.id, func(t *testing.T) {
				j := waitEnded(t, q, tc.id)
				if j.Status != zkhealth.JobFailed || j.Error == nil || *j.Error != tc.want || j.Proof != nil {
					t.Fatalf("job = %+v, error %+v; want failed with %+v and no proof", j, j.Error, tc.want)
				}
				if b, _ := json.Marshal(j); strings.Contains(string(b), secret) {
					t.Fatalf("failed job leaks: %s", b)
				}
				if j.QueueMS == nil || j.ProveMS == nil {
					t.Fatalf("failed job without timings: %+v", j)
				}
			})
		}
	})
}
