// Package redistest gives tests a real Redis: the one named by REDIS_URL, or else a private
// redis-server started on a free port in a temporary directory, without persistence.
//
// Tests never flush a database. Each test takes its own key prefix (Prefix) and deletes the keys
// under it when it ends (Cleanup), so a shared Redis, such as a developer's 127.0.0.1:6379, is left
// as it was.
//
// In a TestMain:
//
//	func TestMain(m *testing.M) {
//		url, stop, err := redistest.StartMain()
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		redisURL = url
//		code := m.Run()
//		stop()
//		os.Exit(code)
//	}
//
// or per test: url := redistest.Start(t).
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// InstallHint is the one line a test prints when it needs a Redis and there is none.
const InstallHint = "redistest: REDIS_URL is unset and redis-server is not installed; run: apt-get install -y redis-server"

// EnvURL is the environment variable naming an existing Redis to test against.
const EnvURL = "REDIS_URL"

// Server is a private redis-server process.
type Server struct {
	// URL is the server's redis:// address.
	URL string
	// Addr is the server's host:port.
	Addr string

	cmd  *exec.Cmd
	dir  string
	done chan struct{}
	once sync.Once
}

// RunMain is a test binary's TestMain body: it starts Redis with StartMain, stores its URL in *url,
// runs the tests, stops Redis and returns the exit code for os.Exit (1 with one line on stderr when
// Redis cannot be had).
func RunMain(m *testing.M, url *string) int {
	u, stop, err := StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*url = u
	defer stop()
	return m.Run()
}

// StartMain returns the Redis URL for a test binary: REDIS_URL when set (stop does nothing), else
// a private redis-server that stop kills. It suits a TestMain, which has no testing.TB; the error
// is one line, InstallHint when redis-server is missing.
func StartMain() (url string, stop func(), err error) {
	if u := os.Getenv(EnvURL); u != "" {
		if _, err := redis.ParseURL(u); err != nil {
			return "", nil, fmt.Errorf("redistest: %s is not a redis URL: %v", EnvURL, err)
		}
		return u, func() {}, nil
	}
	s, err := StartServer()
	if err != nil {
		return "", nil, err
	}
	return s.URL, s.Stop, nil
}

// Start returns the Redis URL for a test, as StartMain, and stops a private server when the test
// ends. It fails the test (never skips it) when there is no Redis to use.
func Start(tb testing.TB) string {
	tb.Helper()
	url, stop, err := StartMain()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return url
}

// StartPrivate starts a private redis-server for a test, whatever REDIS_URL says, and stops it when
// the test ends; for tests that stop Redis on purpose.
func StartPrivate(tb testing.TB) *Server {
	tb.Helper()
	s, err := StartServer()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Installed reports whether redis-server is on PATH.
func Installed() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// StartServer starts a private redis-server on a free 127.0.0.1 port, with no RDB snapshots and
// no append-only file, in a new temporary directory, and waits until it answers PING.
func StartServer() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New(InstallHint)
	}
	var last error
	for range 3 { // the free port can be taken between picking and binding it
		s, err := startServer(bin)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

func startServer(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("redistest: no free port: %v", err)
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: %v", err)
	}
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", dir+"/redis.log",
	)
	cmd.Dir = dir
	// A process group of its own, so the test binary's own signals do not reach it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: start redis-server: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{URL: "redis://" + addr + "/0", Addr: addr, cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(10 * time.Second); err != nil {
		log, _ := os.ReadFile(dir + "/redis.log")
		s.Stop()
		return nil, fmt.Errorf("redistest: redis-server on %s did not answer PING: %v; log: %s", addr, err, lastLine(log))
	}
	return s, nil
}

func (s *Server) waitReady(timeout time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return errors.New("redis-server exited")
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server, waits for it to exit and removes its directory. It is safe to call more
// than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd.Process != nil {
			s.cmd.Process.Kill()
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
			}
		}
		os.RemoveAll(s.dir)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// Client opens a client for url and closes it when the test ends.
func Client(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix no other test or run uses: "zkhtest:<test name>:<random>:". The
// test name is reduced to letters, digits, '-' and '_', so the prefix holds no glob characters.
func Prefix(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, tb.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	return "zkhtest:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// Cleanup deletes every key starting with prefix when the test ends (and fails the test when it
// cannot). Register it after opening client, so it runs before the client closes.
func Cleanup(tb testing.TB, client redis.UniversalClient, prefix string) {
	tb.Helper()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := DeleteKeys(ctx, client, prefix); err != nil {
			tb.Errorf("redistest: delete keys under the test prefix: %v", err)
		}
	})
}

// DeleteKeys deletes every key starting with prefix (SCAN, then DEL in batches) and returns how
// many it deleted. It refuses an empty prefix.
func DeleteKeys(ctx context.Context, client redis.UniversalClient, prefix string) (int, error) {
	if prefix == "" {
		return 0, errors.New("redistest: refusing to delete keys under an empty prefix")
	}
	keys, err := Keys(ctx, client, prefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 500)]
		keys = keys[len(batch):]
		// One DEL per key keeps Redis Cluster (keys in different slots) working.
		pipe := client.Pipeline()
		for _, k := range batch {
			pipe.Del(ctx, k)
		}
		cmds, err := pipe.Exec(ctx)
		if err != nil {
			return n, err
		}
		for _, c := range cmds {
			n += int(c.(*redis.IntCmd).Val())
		}
	}
	return n, nil
}

// Keys lists the keys starting with prefix, by SCAN (on every master of a cluster).
func Keys(ctx context.Context, client redis.UniversalClient, prefix string) ([]string, error) {
	match := globEscape(prefix) + "*"
	scan := func(ctx context.Context, c redis.Cmdable) ([]string, error) {
		var keys []string
		iter := c.Scan(ctx, 0, match, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		return keys, iter.Err()
	}
	cc, ok := client.(*redis.ClusterClient)
	if !ok {
		return scan(ctx, client)
	}
	var mu sync.Mutex
	var all []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		keys, err := scan(ctx, m)
		mu.Lock()
		all = append(all, keys...)
		mu.Unlock()
		return err
	})
	return all, err
}

// globEscape escapes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
