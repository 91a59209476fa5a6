package redis

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
)

// DefaultShutdownTimeout is how long Run waits by default, once its context is done, for jobs in
// flight to finish.
const DefaultShutdownTimeout = time.Minute

// SweepInterval is how often a Worker records archived jobs as failed and deletes them.
const SweepInterval = 30 * time.Second

// resultWriteTimeout bounds writing a result, which happens even when the job's context is done.
const resultWriteTimeout = 5 * time.Second

// Worker consumes proof jobs from the queue of a prefix and runs them with a zkhealth.ProofRunner.
// Set the exported fields before Run.
type Worker struct {
	// ShutdownTimeout bounds how long Run waits, after its context is done, for jobs in flight;
	// jobs still running then go back to the queue for another worker. Zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger receives the worker's and asynq's warnings and errors (asynq at warn level and
	// above). Nil means slog.Default().
	Logger *slog.Logger

	client      goredis.UniversalClient
	prefix      string
	key         []byte
	run         zkhealth.ProofRunner
	concurrency int

	aead cipher.AEAD
	log  *slog.Logger
}

// NewWorker returns a Worker on client for the prefix's queue (see NewQueue), opening payloads
// with the 32-byte key and running at most concurrency jobs at once (< 1: one per CPU). A wrong
// key size is reported by Run. The client stays the caller's to close.
func NewWorker(client goredis.UniversalClient, prefix string, key []byte, run zkhealth.ProofRunner, concurrency int) *Worker {
	return &Worker{
		client:      client,
		prefix:      prefix,
		key:         append([]byte(nil), key...),
		run:         run,
		concurrency: concurrency,
	}
}

// Run processes jobs until ctx is done, then stops taking jobs, waits up to ShutdownTimeout for
// those in flight, and returns nil. Errors, before processing starts: EInvalid for a bad key or a
// nil runner, EUnavailable when Redis does not answer PING.
func (w *Worker) Run(ctx context.Context) error {
	aead, err := newAEAD(w.key)
	if err != nil {
		return err
	}
	if w.run == nil {
		return zkhealth.Errorf(zkhealth.EInvalid, "proof worker has no runner")
	}
	w.aead = aead
	w.log = w.Logger
	if w.log == nil {
		w.log = slog.Default()
	}
	w.log = w.log.With("component", "proof-worker")
	if err := w.client.Ping(ctx).Err(); err != nil {
		return queueUnavailable(err)
	}
	shutdown := w.ShutdownTimeout
	if shutdown <= 0 {
		shutdown = DefaultShutdownTimeout
	}
	qname := QueueName(w.prefix)
	srv := asynq.NewServerFromRedisClient(w.client, asynq.Config{
		Concurrency:     w.concurrency,
		Queues:          map[string]int{qname: 1},
		Logger:          asynqLogger{w.log.With("component", "asynq")},
		LogLevel:        asynq.WarnLevel,
		ShutdownTimeout: shutdown,
		// Only recovered tasks (lease expired) and failed result writes are retried: soon.
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return time.Second },
		// Jobs are few and slow; the default 1 s poll is fine. Retried tasks move to pending
		// every DelayedTaskCheckInterval (5 s by default).
	})
	if err := srv.Start(asynq.HandlerFunc(w.process)); err != nil {
		return queueUnavailable(err)
	}

	insp := asynq.NewInspectorFromRedisClient(w.client)
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.sweepLoop(sweepCtx, insp, qname) })

	<-ctx.Done()
	stopSweep()
	wg.Wait()
	srv.Shutdown()
	return nil
}

// process is the asynq handler of one job run.
func (w *Worker) process(ctx context.Context, task *asynq.Task) error {
	start := time.Now()
	id, ok := asynq.GetTaskID(ctx)
	if !ok || task.Type() != TaskType {
		w.log.Warn("unexpected task in the proof queue", "type", task.Type())
		return asynq.RevokeTask
	}
	n, err := w.client.Exists(ctx, resultKey(w.prefix, id)).Result()
	if err != nil {
		return queueUnavailable(err) // asynq retries the run
	}
	if n > 0 {
		return nil // an earlier run answered; never a second answer
	}
	env, err := open(w.aead, id, task.Payload())
	if err != nil {
		w.log.Warn("proof job payload does not open (queue and worker keys differ?)", "job", id)
		return w.store(id, failedJob(id, internalFailure, nil, nil))
	}
	queueMS := max(start.UnixMilli()-env.EnqueuedMS, 0)

	t0 := time.Now()
	proof, runErr := w.runSafely(ctx, id, env.Job)
	proveMS := time.Since(t0).Milliseconds()

	if runErr != nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// Shutdown or lost lease: not an answer; asynq returns the job to the queue.
		return ctx.Err()
	}
	var view zkhealth.Job
	switch {
	case runErr != nil && ctx.Err() != nil:
		w.log.Error("proof job timed out", "job", id, "timeout", JobTimeout)
		view = failedJob(id, internalFailure, &queueMS, &proveMS)
	case runErr != nil:
		view = failedJob(id, errorBody(runErr), &queueMS, &proveMS)
		if view.Error == internalFailure && !errors.Is(runErr, errPanicked) {
			// The runner's text can quote witness values: log its type only.
			w.log.Error("proof job failed", "job", id, "error_type", fmt.Sprintf("%T", runErr))
		}
	case !json.Valid(proof):
		w.log.Error("proof runner returned invalid JSON", "job", id)
		view = failedJob(id, internalFailure, &queueMS, &proveMS)
	default:
		view = zkhealth.Job{ID: id, Status: zkhealth.JobDone, Proof: proof, QueueMS: &queueMS, ProveMS: &proveMS}
	}
	return w.store(id, view)
}

var errPanicked = errors.New("proof runner panicked")

// runSafely calls the runner, turning a panic into an internal error.
func (w *Worker) runSafely(ctx context.Context, id string, job zkhealth.ProofJob) (proof []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("proof runner panicked", "job", id)
			proof, err = nil, errPanicked
		}
	}()
	return w.run(ctx, job)
}

// errorBody is what the holder sees of a runner error: a *zkhealth.Error keeps its code and
// message, except EInternal, whose message is never shown; anything else is internalFailure.
func errorBody(err error) *zkhealth.ErrorBody {
	var e *zkhealth.Error
	if errors.As(err, &e) && e.Code != zkhealth.EInternal && e.Code != "" {
		return &zkhealth.ErrorBody{Code: e.Code, Message: e.Message}
	}
	return internalFailure
}

// store writes the job's result unless one exists (SET NX, ResultTTL). It uses its own deadline so
// a result is written even when the run's context has just ended.
func (w *Worker) store(id string, view zkhealth.Job) error {
	b, err := json.Marshal(view)
	if err != nil {
		b, _ = json.Marshal(failedJob(id, internalFailure, view.QueueMS, view.ProveMS))
	}
	ctx, cancel := context.WithTimeout(context.Background(), resultWriteTimeout)
	defer cancel()
	stored, err := w.client.SetNX(ctx, resultKey(w.prefix, id), b, ResultTTL).Result()
	if err != nil {
		w.log.Warn("cannot store proof job result; the job will run again", "job", id)
		return queueUnavailable(err)
	}
	if !stored {
		w.log.Info("proof job already had a result; kept the first", "job", id)
	}
	return nil
}

// sweepLoop runs sweep now and every SweepInterval until ctx is done.
func (w *Worker) sweepLoop(ctx context.Context, insp *asynq.Inspector, qname string) {
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		w.sweep(insp, qname)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep records archived jobs (recovered MaxRecoveries times, or whose result could not be
// written) as failed and deletes their tasks, so no sealed payload stays in Redis.
func (w *Worker) sweep(insp *asynq.Inspector, qname string) {
	tasks, err := insp.ListArchivedTasks(qname, asynq.PageSize(100))
	if err != nil {
		if !errors.Is(err, asynq.ErrQueueNotFound) {
			w.log.Warn("cannot list archived proof jobs")
		}
		return
	}
	for _, t := range tasks {
		if err := w.store(t.ID, failedJob(t.ID, internalFailure, nil, nil)); err != nil {
			continue
		}
		if err := insp.DeleteTask(qname, t.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			w.log.Warn("cannot delete archived proof job", "job", t.ID)
		}
	}
}

// asynqLogger sends asynq's log lines to slog. asynq's lines carry task ids and Redis errors,
// never payloads.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...))
	os.Exit(1)
}
