package redis

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
)

// TaskType is the asynq task type of a proof job.
const TaskType = "zkhealth:proof"

// ResultTTL is how long a finished job's result stays readable.
const ResultTTL = time.Hour

// JobTimeout bounds one run of a job: the runner's context ends then, and the job fails as
// internal.
const JobTimeout = 30 * time.Minute

// MaxRecoveries is how many times a job whose worker vanished is run again.
const MaxRecoveries = 3

// QueueName is the asynq queue a prefix's Queue and Workers use.
func QueueName(prefix string) string { return prefix + "proofs" }

func resultKey(prefix, id string) string { return prefix + "job:" + id }

// Queue enqueues proof jobs for Workers and reports their state. It implements zkhealth.Queue
// and is safe for concurrent use.
type Queue struct {
	client   goredis.UniversalClient
	prefix   string
	qname    string
	aead     cipher.AEAD
	maxDepth int
	asynq    *asynq.Client
	insp     *asynq.Inspector
}

var _ zkhealth.Queue = (*Queue)(nil)

// NewQueue returns a Queue on client for the prefix (results under prefix+"job:", tasks in asynq
// queue QueueName(prefix)). key is the 32-byte AES key that seals payloads; the Workers need the
// same key. maxDepth is the number of waiting jobs at which Enqueue answers EOverloaded. Errors:
// EInvalid for a key of another size or maxDepth < 1. The client stays the caller's to close.
func NewQueue(client goredis.UniversalClient, prefix string, key []byte, maxDepth int) (*Queue, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if maxDepth < 1 {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "proof queue depth must be at least 1")
	}
	return &Queue{
		client:   client,
		prefix:   prefix,
		qname:    QueueName(prefix),
		aead:     aead,
		maxDepth: maxDepth,
		asynq:    asynq.NewClientFromRedisClient(client),
		insp:     asynq.NewInspectorFromRedisClient(client),
	}, nil
}

// queueUnavailable maps a Redis or asynq failure to EUnavailable without echoing ids or payloads.
func queueUnavailable(err error) error {
	return &zkhealth.Error{Code: zkhealth.EUnavailable, Message: "proof queue is unavailable", Predicate: -1, Err: err}
}

// Enqueue seals job and queues it under id (asynq task id = id). It succeeds without queueing when
// the id is queued, running or finished. Errors: EInvalid for an empty id, EOverloaded when
// maxDepth jobs are waiting, EUnavailable.
//
// The depth check and the enqueue are two steps, so concurrent Enqueues can overshoot maxDepth by
// at most their number.
func (q *Queue) Enqueue(ctx context.Context, id string, job zkhealth.ProofJob) error {
	if id == "" {
		return zkhealth.Errorf(zkhealth.EInvalid, "job id is empty")
	}
	if _, found, err := getResult(ctx, q.client, q.prefix, id); err != nil {
		return err
	} else if found {
		return nil
	}
	if err := ctx.Err(); err != nil { // the Inspector takes no context
		return queueUnavailable(err)
	}
	_, err := q.insp.GetTaskInfo(q.qname, id)
	switch {
	case err == nil:
		return nil // queued, running or about to be retried
	case errors.Is(err, asynq.ErrQueueNotFound), errors.Is(err, asynq.ErrTaskNotFound):
	default:
		return queueUnavailable(err)
	}
	depth, err := q.Depth(ctx)
	if err != nil {
		return err
	}
	if depth >= q.maxDepth {
		return zkhealth.Errorf(zkhealth.EOverloaded, "proof queue is full; retry later")
	}
	payload, err := seal(q.aead, id, job, time.Now())
	if err != nil {
		return err
	}
	task := asynq.NewTask(TaskType, payload)
	_, err = q.asynq.EnqueueContext(ctx, task,
		asynq.Queue(q.qname),
		asynq.TaskID(id),
		asynq.MaxRetry(MaxRecoveries),
		asynq.Timeout(JobTimeout),
		asynq.Retention(0),
	)
	clear(payload)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return queueUnavailable(err)
	}
	return nil
}

// Job returns the job's state: its stored result when it finished, else queued (pending, or
// waiting to be retried) or running (leased by a worker). Errors: ENotFound for an id never
// queued or whose result expired, EUnavailable.
func (q *Queue) Job(ctx context.Context, id string) (zkhealth.Job, error) {
	if j, found, err := getResult(ctx, q.client, q.prefix, id); err != nil || found {
		return j, err
	}
	if err := ctx.Err(); err != nil {
		return zkhealth.Job{}, queueUnavailable(err)
	}
	info, err := q.insp.GetTaskInfo(q.qname, id)
	switch {
	case errors.Is(err, asynq.ErrQueueNotFound), errors.Is(err, asynq.ErrTaskNotFound):
		// The job may have finished between the two reads: its result is written before its task
		// is deleted.
		if j, found, err := getResult(ctx, q.client, q.prefix, id); err != nil || found {
			return j, err
		}
		return zkhealth.Job{}, zkhealth.Errorf(zkhealth.ENotFound, "proof job not found")
	case err != nil:
		return zkhealth.Job{}, queueUnavailable(err)
	}
	switch info.State {
	case asynq.TaskStateActive:
		return zkhealth.Job{ID: id, Status: zkhealth.JobRunning}, nil
	case asynq.TaskStateArchived:
		// Recovered MaxRecoveries times; a Worker's sweep records it and deletes the task.
		return failedJob(id, internalFailure, nil, nil), nil
	case asynq.TaskStateCompleted:
		// Not produced with retention 0; a completed task without a result has lost it.
		return zkhealth.Job{}, zkhealth.Errorf(zkhealth.ENotFound, "proof job not found")
	default: // pending, scheduled, retry, aggregating
		return zkhealth.Job{ID: id, Status: zkhealth.JobQueued}, nil
	}
}

// Depth is the number of pending jobs (asynq's pending count for the queue). Errors:
// EUnavailable.
func (q *Queue) Depth(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, queueUnavailable(err)
	}
	// GetQueueInfo does not wrap asynq.ErrQueueNotFound for a queue never used; ask first.
	queues, err := q.insp.Queues()
	if err != nil {
		return 0, queueUnavailable(err)
	}
	if !slices.Contains(queues, q.qname) {
		return 0, nil
	}
	info, err := q.insp.GetQueueInfo(q.qname)
	if err != nil {
		return 0, queueUnavailable(err)
	}
	return info.Pending, nil
}

// getResult reads a finished job's stored view.
func getResult(ctx context.Context, client goredis.UniversalClient, prefix, id string) (zkhealth.Job, bool, error) {
	b, err := client.Get(ctx, resultKey(prefix, id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return zkhealth.Job{}, false, nil
	}
	if err != nil {
		return zkhealth.Job{}, false, queueUnavailable(err)
	}
	var j zkhealth.Job
	if err := json.Unmarshal(b, &j); err != nil {
		return zkhealth.Job{}, false, &zkhealth.Error{Code: zkhealth.EInternal, Message: "stored proof job result is corrupt", Predicate: -1, Err: err}
	}
	return j, true, nil
}

// internalFailure is what a holder sees of any failure that is not a domain error.
var internalFailure = &zkhealth.ErrorBody{Code: zkhealth.EInternal, Message: "proof generation failed"}

func failedJob(id string, e *zkhealth.ErrorBody, queueMS, proveMS *int64) zkhealth.Job {
	return zkhealth.Job{ID: id, Status: zkhealth.JobFailed, Error: e, QueueMS: queueMS, ProveMS: proveMS}
}
