package redis_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/porttest"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/redis"
)

var redisURL string

// Environment of the child process TestWorkerKilledMidJob starts and kills.
const (
	envChild       = "ZKH_REDISQUEUE_CHILD_WORKER"
	envChildURL    = "ZKH_REDISQUEUE_CHILD_URL"
	envChildPrefix = "ZKH_REDISQUEUE_CHILD_PREFIX"
	envChildKey    = "ZKH_REDISQUEUE_CHILD_KEY"
	childStarted   = "RUNNER-STARTED"
)

// TestMain runs the tests against REDIS_URL or a private redis-server; started as the child
// worker of TestWorkerKilledMidJob it runs that worker instead.
func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		runChildWorker()
		return
	}
	os.Exit(redistest.RunMain(m, &redisURL))
}

// runChildWorker is a worker process whose runner announces the job on stdout and then blocks
// until the process is killed.
func runChildWorker() {
	opt, err := goredis.ParseURL(os.Getenv(envChildURL))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	key, _ := hex.DecodeString(os.Getenv(envChildKey))
	c := goredis.NewClient(opt)
	w := redis.NewWorker(c, os.Getenv(envChildPrefix), key, func(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
		fmt.Println(childStarted, job.RequestID)
		<-ctx.Done()
		return nil, ctx.Err()
	}, 1)
	w.Logger = quietLogger()
	if err := w.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type fixture struct {
	c      *goredis.Client
	prefix string
	qname  string
	key    []byte
	q      *redis.Queue
	insp   *asynq.Inspector
}

// newFixture returns a Queue on a fresh prefix; its keys and its asynq queue's keys are deleted
// when the test ends.
func newFixture(t *testing.T, maxDepth int) *fixture {
	t.Helper()
	c := redistest.Client(t, redisURL)
	prefix := redistest.Prefix(t)
	qname := redis.QueueName(prefix)
	redistest.Cleanup(t, c, prefix)
	redistest.Cleanup(t, c, "asynq:{"+qname+"}")
	t.Cleanup(func() { c.SRem(context.Background(), "asynq:queues", qname) })
	key := make([]byte, redis.KeySize)
	rand.Read(key)
	q, err := redis.NewQueue(c, prefix, key, maxDepth)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{c: c, prefix: prefix, qname: qname, key: key, q: q, insp: asynq.NewInspectorFromRedisClient(c)}
}

// startWorker runs a Worker until the returned stop is called (or the test ends); stop returns
// when Run has returned.
func (f *fixture) startWorker(t *testing.T, run zkhealth.ProofRunner, concurrency int) (stop func()) {
	t.Helper()
	w := redis.NewWorker(f.c, f.prefix, f.key, run, concurrency)
	w.Logger = quietLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Worker.Run: %v", err)
		}
	})
	t.Cleanup(stop)
	return stop
}

// waitJob polls Job until it reports status, failing the test after timeout.
func (f *fixture) waitJob(t *testing.T, id string, status zkhealth.JobStatus, timeout time.Duration) zkhealth.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j, err := f.q.Job(context.Background(), id)
		if err == nil && j.Status == status {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: status %q, err %v after %v; want %q", id, j.Status, err, timeout, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// taskGone reports whether asynq holds no task (and so no payload) for id.
func (f *fixture) taskGone(t *testing.T, id string) bool {
	t.Helper()
	_, err := f.insp.GetTaskInfo(f.qname, id)
	if err == nil {
		return false
	}
	if !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Fatalf("GetTaskInfo: %v", err)
	}
	n, err := f.c.Exists(context.Background(), "asynq:{"+f.qname+"}:t:"+id).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 0
}

// dump reads every key this test's queue can have written (its prefix, its asynq queue, and
// asynq's worker and server records) and returns key → the key and its values as text.
func (f *fixture) dump(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, p := range []string{f.prefix, "asynq:{" + f.qname + "}", "asynq:workers", "asynq:servers", "asynq:queues"} {
		keys, err := redistest.Keys(ctx, f.c, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			var vals []string
			switch f.c.Type(ctx, k).Val() {
			case "string":
				vals = []string{f.c.Get(ctx, k).Val()}
			case "hash":
				for hk, hv := range f.c.HGetAll(ctx, k).Val() {
					vals = append(vals, hk, hv)
				}
			case "list":
				vals = f.c.LRange(ctx, k, 0, -1).Val()
			case "set":
				vals = f.c.SMembers(ctx, k).Val()
			case "zset":
				vals = f.c.ZRange(ctx, k, 0, -1).Val()
			}
			out[k] = k + "\n" + strings.Join(vals, "\n")
		}
	}
	return out
}

// assertAbsent fails when any of the secrets appears in any key or value f.dump reads.
func (f *fixture) assertAbsent(t *testing.T, when string, secrets ...string) {
	t.Helper()
	d := f.dump(t)
	if len(d) == 0 {
		t.Fatalf("%s: no keys to scan", when)
	}
	for k, v := range d {
		for _, s := range secrets {
			if strings.Contains(v, s) {
				t.Fatalf("%s: %q found in Redis key %q", when, s, k)
			}
		}
	}
}

const (
	holderSecret = "holder-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	memberID     = "MEMBER-ID-PRIVATE-777"
)

func testJob(requestID string) zkhealth.ProofJob {
	return zkhealth.ProofJob{
		RequestID:    requestID,
		Credential:   json.RawMessage(`{"attributes":{"member_id":"` + memberID + `"}}`),
		HolderSecret: holderSecret,
	}
}

func proofFor(job zkhealth.ProofJob) []byte {
	return []byte(`{"proof":"p-` + job.RequestID + `"}`)
}

// countingRunner returns PROOF-like JSON for the job and counts calls.
func countingRunner(calls *atomic.Int32) zkhealth.ProofRunner {
	return func(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
		calls.Add(1)
		return proofFor(job), nil
	}
}

// blockingRunner signals started and waits for release.
func blockingRunner(started chan<- string, release <-chan struct{}) zkhealth.ProofRunner {
	return func(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
		started <- job.RequestID
		select {
		case <-release:
			return proofFor(job), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := zkhealth.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

// TestQueue runs the port's conformance suite: a Queue and a Worker on a fresh prefix.
func TestQueue(t *testing.T) {
	porttest.Queue(t, func(t *testing.T, run zkhealth.ProofRunner, workers, capacity int) zkhealth.Queue {
		f := newFixture(t, capacity)
		f.startWorker(t, run, workers)
		return f.q
	})
}

// TestEnqueueDone: a job queued before any worker waits, and once done leaves neither its task
// nor its payload in Redis; its result lives ResultTTL.
func TestEnqueueDone(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10)
	var mu sync.Mutex
	var got []zkhealth.ProofJob
	run := func(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
		mu.Lock()
		got = append(got, job)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		return proofFor(job), nil
	}
	job := testJob("req-1")
	if err := f.q.Enqueue(ctx, "job-1", job); err != nil {
		t.Fatal(err)
	}
	if j := f.waitJob(t, "job-1", zkhealth.JobQueued, time.Second); j.ID != "job-1" {
		t.Fatalf("queued job id = %q", j.ID)
	}
	if d, err := f.q.Depth(ctx); err != nil || d != 1 {
		t.Fatalf("Depth = %d, %v; want 1", d, err)
	}

	start := time.Now()
	f.startWorker(t, run, 2)
	j := f.waitJob(t, "job-1", zkhealth.JobDone, 20*time.Second)
	t.Logf("enqueue → done in %v", time.Since(start))
	if string(j.Proof) != string(proofFor(job)) || j.Error != nil || j.ID != "job-1" {
		t.Fatalf("done job = %+v", j)
	}
	if j.QueueMS == nil || j.ProveMS == nil || *j.ProveMS < 20 || *j.QueueMS < 0 {
		t.Fatalf("timings: queue_ms %v prove_ms %v", j.QueueMS, j.ProveMS)
	}
	mu.Lock()
	if len(got) != 1 || got[0].RequestID != job.RequestID || got[0].HolderSecret != job.HolderSecret ||
		string(got[0].Credential) != string(job.Credential) {
		t.Fatalf("runner got %+v, want one %+v", got, job)
	}
	mu.Unlock()

	t.Run("PayloadGone", func(t *testing.T) {
		if !f.taskGone(t, "job-1") {
			t.Fatal("task (and its payload) still in Redis after the job ended")
		}
		f.assertAbsent(t, "after completion", holderSecret, memberID)
	})
	t.Run("ResultTTL", func(t *testing.T) {
		ttl := f.c.PTTL(ctx, f.prefix+"job:job-1").Val()
		if ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("result TTL = %v, want about 1h", ttl)
		}
	})
	t.Run("DepthAfter", func(t *testing.T) {
		if d, err := f.q.Depth(ctx); err != nil || d != 0 {
			t.Fatalf("Depth = %d, %v; want 0", d, err)
		}
	})
	t.Run("EnqueueFinishedID", func(t *testing.T) {
		if err := f.q.Enqueue(ctx, "job-1", job); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // a worker polls every second
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("a finished id ran again: %d runs", len(got))
		}
	})
}

func TestEncryptedPayload(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10)
	job := testJob("req-enc")
	if err := f.q.Enqueue(ctx, "enc", job); err != nil {
		t.Fatal(err)
	}
	f.assertAbsent(t, "while queued", holderSecret, memberID, hex.EncodeToString([]byte(holderSecret)))

	info, err := f.insp.GetTaskInfo(f.qname, "enc")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Opens", func(t *testing.T) {
		got, err := redis.OpenForTest(f.key, "enc", info.Payload)
		if err != nil || got.HolderSecret != holderSecret || got.RequestID != job.RequestID {
			t.Fatalf("payload opens to %+v, %v", got, err)
		}
	})
	t.Run("BoundToID", func(t *testing.T) {
		if _, err := redis.OpenForTest(f.key, "other", info.Payload); err == nil {
			t.Fatal("payload opened under another job id")
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		other := make([]byte, redis.KeySize)
		if _, err := redis.OpenForTest(other, "enc", info.Payload); err == nil {
			t.Fatal("payload opened with another key")
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		p := append([]byte(nil), info.Payload...)
		p[len(p)-1] ^= 1
		if _, err := redis.OpenForTest(f.key, "enc", p); err == nil {
			t.Fatal("tampered payload opened")
		}
	})
	t.Run("FreshNonce", func(t *testing.T) {
		a, _ := redis.SealForTest(f.key, "x", job)
		b, _ := redis.SealForTest(f.key, "x", job)
		if string(a) == string(b) {
			t.Fatal("two seals of one job are equal")
		}
	})

	started := make(chan string, 1)
	release := make(chan struct{})
	f.startWorker(t, blockingRunner(started, release), 1)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("worker did not start the job")
	}
	f.waitJob(t, "enc", zkhealth.JobRunning, 5*time.Second)
	time.Sleep(5500 * time.Millisecond) // let asynq's heartbeat write its worker record (payload included)
	f.assertAbsent(t, "while running", holderSecret, memberID)
	// The scan does see the payload, sealed, in asynq's worker record: the check above looked at it.
	seen := false
	for k, v := range f.dump(t) {
		if strings.HasPrefix(k, "asynq:workers:") && strings.Contains(v, string(info.Payload)) {
			seen = true
		}
	}
	if !seen {
		t.Fatal("no asynq worker record holds the sealed payload while the job runs; the scan missed it")
	}
	close(release)
	f.waitJob(t, "enc", zkhealth.JobDone, 10*time.Second)
	if !f.taskGone(t, "enc") {
		t.Fatal("task still in Redis after the job ended")
	}
	f.assertAbsent(t, "after completion", holderSecret, memberID)
}

// TestFailedJob: what Redis adds to the port's failure rules (porttest.Queue checks what the
// holder sees): the stored result does not quote the runner's text, and a failed job leaves no
// task behind, archived or waiting for a retry.
func TestFailedJob(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10)
	const leak = "424242"
	run := func(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
		if job.RequestID == "panic" {
			panic(leak)
		}
		return nil, errors.New("constraint #12 is not satisfied: " + leak + " != 7")
	}
	ids := []string{"raw", "panic"}
	for _, id := range ids {
		if err := f.q.Enqueue(ctx, id, testJob(id)); err != nil {
			t.Fatal(err)
		}
	}
	f.startWorker(t, run, 2)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			f.waitJob(t, id, zkhealth.JobFailed, 20*time.Second)
			if raw := f.c.Get(ctx, f.prefix+"job:"+id).Val(); strings.Contains(raw, leak) {
				t.Fatalf("stored result quotes the runner's text: %s", raw)
			}
			if !f.taskGone(t, id) {
				t.Fatal("failed job's task still in Redis")
			}
		})
	}
	archived, err := f.insp.ListArchivedTasks(f.qname)
	if err != nil || len(archived) != 0 {
		t.Fatalf("archived tasks: %d, %v; want none", len(archived), err)
	}
	retry, err := f.insp.ListRetryTasks(f.qname)
	if err != nil || len(retry) != 0 {
		t.Fatalf("tasks waiting for retry: %d, %v; want none", len(retry), err)
	}
}

// TestRunnerSkippedWhenResultExists re-delivers a finished job the way asynq does after a lease
// expiry: the worker must not run it again nor change the answer.
func TestRunnerSkippedWhenResultExists(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10)
	first := `{"id":"x","status":"done","proof":{"first":true}}`
	if err := f.c.Set(ctx, f.prefix+"job:x", first, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	payload, err := redis.SealForTest(f.key, "x", testJob("x"))
	if err != nil {
		t.Fatal(err)
	}
	ac := asynq.NewClientFromRedisClient(f.c)
	if _, err := ac.EnqueueContext(ctx, asynq.NewTask(redis.TaskType, payload),
		asynq.Queue(f.qname), asynq.TaskID("x"), asynq.MaxRetry(3)); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	f.startWorker(t, countingRunner(&calls), 1)
	deadline := time.Now().Add(20 * time.Second)
	for !f.taskGone(t, "x") {
		if time.Now().After(deadline) {
			t.Fatal("re-delivered task not consumed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("runner ran %d times for a job with a result", n)
	}
	if got := f.c.Get(ctx, f.prefix+"job:x").Val(); got != first {
		t.Fatalf("result changed to %s", got)
	}
}

// TestArchivedSwept archives a queued job (as asynq does after MaxRecoveries lease expiries): a
// Worker records it as failed and deletes the task with its sealed payload.
func TestArchivedSwept(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10)
	if err := f.q.Enqueue(ctx, "arch", testJob("arch")); err != nil {
		t.Fatal(err)
	}
	if err := f.insp.ArchiveTask(f.qname, "arch"); err != nil {
		t.Fatal(err)
	}
	j, err := f.q.Job(ctx, "arch")
	if err != nil || j.Status != zkhealth.JobFailed || j.Error == nil || j.Error.Code != zkhealth.EInternal {
		t.Fatalf("archived job = %+v, %v; want failed, internal", j, err)
	}
	var calls atomic.Int32
	f.startWorker(t, countingRunner(&calls), 1)
	deadline := time.Now().Add(10 * time.Second)
	for !f.taskGone(t, "arch") {
		if time.Now().After(deadline) {
			t.Fatal("archived task not swept")
		}
		time.Sleep(50 * time.Millisecond)
	}
	j, err = f.q.Job(ctx, "arch")
	if err != nil || j.Status != zkhealth.JobFailed || *j.Error != (zkhealth.ErrorBody{Code: zkhealth.EInternal, Message: "proof generation failed"}) {
		t.Fatalf("swept job = %+v, %v", j, err)
	}
	if calls.Load() != 0 {
		t.Fatal("an archived job ran")
	}
}

func TestGracefulShutdown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10)
	started := make(chan string, 1)
	run := func(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
		started <- job.RequestID
		time.Sleep(1500 * time.Millisecond)
		return proofFor(job), nil
	}
	if err := f.q.Enqueue(ctx, "g", testJob("g")); err != nil {
		t.Fatal(err)
	}
	stop := f.startWorker(t, run, 1)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("job did not start")
	}
	t0 := time.Now()
	stop() // cancels Run's context and waits for Run to return
	t.Logf("Run returned %v after cancel", time.Since(t0))
	j, err := f.q.Job(ctx, "g")
	if err != nil || j.Status != zkhealth.JobDone {
		t.Fatalf("after shutdown: %+v, %v; want the in-flight job done", j, err)
	}
}

func TestInvalid(t *testing.T) {
	c := redistest.Client(t, redisURL)
	_, err := redis.NewQueue(c, "zkhtest:inv:", make([]byte, 16), 10)
	wantCode(t, err, zkhealth.EInvalid)
	_, err = redis.NewQueue(c, "zkhtest:inv:", make([]byte, 32), 0)
	wantCode(t, err, zkhealth.EInvalid)
	err = redis.NewWorker(c, "zkhtest:inv:", make([]byte, 31), countingRunner(new(atomic.Int32)), 1).Run(context.Background())
	wantCode(t, err, zkhealth.EInvalid)
	err = redis.NewWorker(c, "zkhtest:inv:", make([]byte, 32), nil, 1).Run(context.Background())
	wantCode(t, err, zkhealth.EInvalid)
	q, err := redis.NewQueue(c, "zkhtest:inv:", make([]byte, 32), 1)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, q.Enqueue(context.Background(), "", testJob("r")), zkhealth.EInvalid)
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	var url string
	if redistest.Installed() {
		s := redistest.StartPrivate(t)
		url = s.URL
		s.Stop()
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url = "redis://" + l.Addr().String()
		l.Close()
	}
	c := redistest.Client(t, url+"?max_retries=-1")
	q, err := redis.NewQueue(c, "zkhtest:down:", make([]byte, 32), 10)
	if err != nil {
		t.Fatal(err)
	}
	err = q.Enqueue(ctx, "id-secret", testJob("r"))
	wantCode(t, err, zkhealth.EUnavailable)
	if strings.Contains(err.Error(), "id-secret") || strings.Contains(err.Error(), holderSecret) {
		t.Fatalf("error echoes input: %v", err)
	}
	_, err = q.Job(ctx, "id")
	wantCode(t, err, zkhealth.EUnavailable)
	_, err = q.Depth(ctx)
	wantCode(t, err, zkhealth.EUnavailable)
	err = redis.NewWorker(c, "zkhtest:down:", make([]byte, 32), countingRunner(new(atomic.Int32)), 1).Run(ctx)
	wantCode(t, err, zkhealth.EUnavailable)
}

// TestWorkerKilledMidJob kills a worker process (SIGKILL) while its runner holds a job; a second
// worker must finish the job once asynq's lease has expired, and the job must have one answer.
// asynq v0.26.0 recovers such a job 60–120 s after the death (see the package doc), so this test
// takes about a minute.
func TestWorkerKilledMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 70 s (asynq lease recovery); run without -short")
	}
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 10)
	if err := f.q.Enqueue(ctx, "k", testJob("req-k")); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(),
		envChild+"=1", envChildURL+"="+redisURL, envChildPrefix+"="+f.prefix, envChildKey+"="+hex.EncodeToString(f.key))
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		child.Process.Kill()
		child.Wait()
		removeServerRecords(t, f.c, child.Process.Pid)
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if strings.HasPrefix(s.Text(), childStarted) {
				line <- s.Text()
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		if l != childStarted+" req-k" {
			t.Fatalf("child started %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child worker did not start the job")
	}
	f.waitJob(t, "k", zkhealth.JobRunning, 5*time.Second)

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed := time.Now()
	if j, err := f.q.Job(ctx, "k"); err != nil || j.Status != zkhealth.JobRunning {
		t.Fatalf("right after the kill: %+v, %v; want running (lease still held)", j, err)
	}

	var calls atomic.Int32
	f.startWorker(t, countingRunner(&calls), 1)
	j := f.waitJob(t, "k", zkhealth.JobDone, 150*time.Second)
	t.Logf("job finished by the second worker %v after the first was killed", time.Since(killed).Round(time.Second))
	if string(j.Proof) != string(proofFor(testJob("req-k"))) {
		t.Fatalf("proof = %s", j.Proof)
	}
	first := f.c.Get(ctx, f.prefix+"job:k").Val()
	time.Sleep(3 * time.Second)
	if n := calls.Load(); n != 1 {
		t.Fatalf("second worker ran the job %d times, want 1", n)
	}
	if again := f.c.Get(ctx, f.prefix+"job:k").Val(); again != first {
		t.Fatalf("result changed: %s then %s", first, again)
	}
	if !f.taskGone(t, "k") {
		t.Fatal("task still in Redis after the job ended")
	}
}

// removeServerRecords removes the records a killed asynq server left in asynq's shared server and
// worker sets (a server that shuts down removes its own; its keys expire by themselves).
func removeServerRecords(t *testing.T, c *goredis.Client, pid int) {
	ctx := context.Background()
	host, _ := os.Hostname()
	mark := fmt.Sprintf("{%s:%d:", host, pid)
	for _, set := range []string{"asynq:servers", "asynq:workers"} {
		members, err := c.ZRange(ctx, set, 0, -1).Result()
		if err != nil {
			t.Errorf("list %s: %v", set, err)
			continue
		}
		for _, m := range members {
			if strings.Contains(m, mark) {
				c.ZRem(ctx, set, m)
				c.Del(ctx, m)
			}
		}
	}
}
