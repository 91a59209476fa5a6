package inmem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/zkhealth/zkhealth"
)

// DefaultRetention is how long a finished job stays visible to Job unless WithRetention says
// otherwise.
const DefaultRetention = time.Hour

// internalJobError is what a holder sees of any failure that is not a *zkhealth.Error: the
// runner's own error text could carry private data, so it is never shown.
var internalJobError = zkhealth.ErrorBody{Code: zkhealth.EInternal, Message: "proof generation failed"}

// Queue is a zkhealth.Queue run by an in-process pool of workers goroutines, with at most capacity
// jobs waiting. Use NewQueue, then Start; Close shuts it down gracefully.
//
// A job's private input is held only while the job waits or runs: when it ends (done or failed)
// the queue zeroes its copy of the credential and forgets the holder secret, keeping only the id,
// status, timings and result. The runner must therefore not keep job.Credential after it returns.
// Finished jobs are forgotten after the retention period (DefaultRetention unless WithRetention).
type Queue struct {
	run       zkhealth.ProofRunner
	workers   int
	retention time.Duration
	now       func() time.Time

	pending   chan *task    // the waiting list; its capacity is the queue's
	quit      chan struct{} // closed by Close: workers take no more jobs
	closeOnce sync.Once
	wg        sync.WaitGroup // running workers

	mu       sync.Mutex
	cancel   context.CancelFunc // cancels running proofs; nil before Start
	jobs     map[string]*task
	finished []*task // in the order they ended, for the retention purge
	waiting  int
	started  bool
	closed   bool
}

// task is one job. payload is non-nil only while the job waits; a worker takes it when the job
// starts.
type task struct {
	id                      string
	payload                 *zkhealth.ProofJob
	status                  zkhealth.JobStatus
	enqueued, started, ends time.Time
	proof                   []byte
	err                     *zkhealth.ErrorBody
}

var _ zkhealth.Queue = (*Queue)(nil)

// QueueOption configures a Queue.
type QueueOption func(*Queue)

// WithRetention sets how long finished jobs stay visible to Job (default DefaultRetention).
func WithRetention(d time.Duration) QueueOption {
	return func(q *Queue) { q.retention = d }
}

// NewQueue returns a queue that runs jobs with run on workers goroutines and holds at most
// capacity waiting jobs. It panics when run is nil, workers < 1 or capacity < 1. Jobs queued before
// Start wait for it.
func NewQueue(run zkhealth.ProofRunner, workers, capacity int, opts ...QueueOption) *Queue {
	if run == nil || workers < 1 || capacity < 1 {
		panic("inmem: NewQueue: run must be non-nil, workers and capacity at least 1")
	}
	q := &Queue{
		run:       run,
		workers:   workers,
		retention: DefaultRetention,
		now:       time.Now,
		pending:   make(chan *task, capacity),
		quit:      make(chan struct{}),
		jobs:      make(map[string]*task),
	}
	for _, o := range opts {
		o(q)
	}
	return q
}

// Start starts the workers; later calls, and calls after Close, do nothing. Proofs run with a context derived from ctx:
// cancelling ctx aborts running proofs and stops the workers, so pass a context that outlives the
// server's graceful shutdown (e.g. context.Background()) and stop the queue with Close.
func (q *Queue) Start(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started || q.closed {
		return
	}
	q.started = true
	runCtx, cancel := context.WithCancel(ctx)
	q.cancel = cancel
	for range q.workers { // under q.mu, so before any wg.Wait in Close
		q.wg.Go(func() { q.work(runCtx) })
	}
}

// Close stops taking jobs, fails the jobs still waiting (EUnavailable: the service is shutting
// down) and waits for the running ones to finish. When ctx ends first it cancels the running
// proofs and returns ctx's error. Job keeps answering after Close; Enqueue answers EUnavailable.
func (q *Queue) Close(ctx context.Context) error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		now := q.now()
		for drained := false; !drained; {
			select {
			case t := <-q.pending:
				q.failWaiting(t, now)
			default:
				drained = true
			}
		}
		q.mu.Unlock()
		close(q.quit)
	})
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	q.mu.Lock()
	if q.cancel != nil {
		q.cancel() // aborts proofs still running when ctx ended; else just releases the context
	}
	q.mu.Unlock()
	return err
}

// Enqueue queues job under id. An id already queued, running or finished (within the retention
// period) is not queued again and the call succeeds. EInvalid for an empty id, EOverloaded when
// capacity jobs are waiting, EUnavailable after Close. The queue keeps its own copy of the
// credential.
func (q *Queue) Enqueue(_ context.Context, id string, job zkhealth.ProofJob) error {
	if id == "" {
		return zkhealth.Errorf(zkhealth.EInvalid, "job id is empty")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	q.purge(now)
	if _, ok := q.jobs[id]; ok {
		return nil
	}
	if q.closed {
		return zkhealth.Errorf(zkhealth.EUnavailable, "the proving queue is shutting down")
	}
	job.Credential = bytes.Clone(job.Credential)
	t := &task{id: id, payload: &job, status: zkhealth.JobQueued, enqueued: now}
	select {
	case q.pending <- t:
	default:
		clear(job.Credential)
		return zkhealth.Errorf(zkhealth.EOverloaded, "the proving queue is full; retry later")
	}
	q.jobs[id] = t
	q.waiting++
	return nil
}

// Job returns the job's state: queue_ms once it started, prove_ms once it ended, the proof when
// done and the error when failed. ENotFound for an unknown id or one finished longer than the
// retention period ago.
func (q *Queue) Job(_ context.Context, id string) (zkhealth.Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.purge(q.now())
	t, ok := q.jobs[id]
	if !ok {
		return zkhealth.Job{}, zkhealth.Errorf(zkhealth.ENotFound, "proof job %q not found", id)
	}
	j := zkhealth.Job{ID: t.id, Status: t.status}
	if !t.started.IsZero() {
		j.QueueMS = ms(t.started.Sub(t.enqueued))
		if !t.ends.IsZero() {
			j.ProveMS = ms(t.ends.Sub(t.started))
		}
	}
	if t.proof != nil {
		j.Proof = bytes.Clone(t.proof)
	}
	if t.err != nil {
		e := *t.err
		j.Error = &e
	}
	return j, nil
}

// Depth returns the number of jobs waiting (not running).
func (q *Queue) Depth(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting, nil
}

func (q *Queue) work(ctx context.Context) {
	for {
		// Checked first so that a worker never prefers a waiting job over a shutdown.
		select {
		case <-q.quit:
			return
		case <-ctx.Done():
			return
		default:
		}
		select {
		case <-q.quit:
			return
		case <-ctx.Done():
			return
		case t := <-q.pending:
			q.process(ctx, t)
		}
	}
}

func (q *Queue) process(ctx context.Context, t *task) {
	q.mu.Lock()
	if q.closed { // taken from the list while Close drained it: it never started
		q.failWaiting(t, q.now())
		q.mu.Unlock()
		return
	}
	job := t.payload
	t.payload = nil
	t.status, t.started = zkhealth.JobRunning, q.now()
	q.waiting--
	q.mu.Unlock()

	proof, err := q.safeRun(ctx, *job)
	clear(job.Credential) // the queue's own copy, made by Enqueue
	job = nil

	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case err != nil:
		t.status, t.err = zkhealth.JobFailed, jobError(err)
	case !json.Valid(proof):
		t.status, t.err = zkhealth.JobFailed, &internalJobError
	default:
		t.status, t.proof = zkhealth.JobDone, proof
	}
	q.end(t, q.now())
}

// safeRun runs the runner, turning a panic into an internal error (its value is not kept: it
// could hold private data).
func (q *Queue) safeRun(ctx context.Context, job zkhealth.ProofJob) (proof []byte, err error) {
	defer func() {
		if recover() != nil {
			proof, err = nil, errors.New("proof runner panicked")
		}
	}()
	return q.run(ctx, job)
}

// jobError is what the holder sees of a runner error: a *zkhealth.Error's code and message (its
// messages are safe to show by contract), except EInternal; anything else is internalJobError.
func jobError(err error) *zkhealth.ErrorBody {
	var ze *zkhealth.Error
	if errors.As(err, &ze) && ze.Code != "" && ze.Code != zkhealth.EInternal {
		return &zkhealth.ErrorBody{Code: ze.Code, Message: ze.Message}
	}
	e := internalJobError
	return &e
}

// failWaiting fails a job that never started because the queue shut down. q.mu is held.
func (q *Queue) failWaiting(t *task, now time.Time) {
	if t.payload != nil {
		clear(t.payload.Credential)
		t.payload = nil
	}
	q.waiting--
	t.status = zkhealth.JobFailed
	t.err = &zkhealth.ErrorBody{Code: zkhealth.EUnavailable, Message: "the service shut down before the proof started"}
	q.end(t, now)
}

// end records that t ended and schedules it for the retention purge. q.mu is held.
func (q *Queue) end(t *task, now time.Time) {
	t.ends = now
	q.finished = append(q.finished, t)
}

// purge forgets the jobs that ended more than the retention period before now. q.mu is held.
func (q *Queue) purge(now time.Time) {
	n := 0
	for n < len(q.finished) && now.Sub(q.finished[n].ends) > q.retention {
		if t := q.finished[n]; q.jobs[t.id] == t {
			delete(q.jobs, t.id)
		}
		q.finished[n] = nil
		n++
	}
	q.finished = q.finished[n:]
}

func ms(d time.Duration) *int64 {
	v := d.Milliseconds()
	return &v
}
