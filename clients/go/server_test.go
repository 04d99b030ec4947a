package adksessions_test

// Test harness: starts the real `adk-sessions serve` binary named by
// ADK_SESSIONS_BIN on a free port, against memory://, a fresh SQLite file or a fresh
// PostgreSQL database (ADK_SESSIONS_TEST_POSTGRES_URL), and stops it afterwards.
// Without those variables the tests print a loud SKIPPED line and skip — or fail
// when CI is set.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

const (
	envBin         = "ADK_SESSIONS_BIN"
	envPostgresURL = "ADK_SESSIONS_TEST_POSTGRES_URL"
)

// ciMode: CI is set to something other than "", "false" or "0".
func ciMode() bool {
	v := strings.TrimSpace(strings.ToLower(os.Getenv("CI")))
	return v != "" && v != "false" && v != "0"
}

// skipped collects why tests were skipped, for the summary TestMain prints.
var skipped = struct {
	sync.Mutex
	reasons map[string][]string // reason -> test names
	order   []string
}{reasons: map[string][]string{}}

// skipOrFail skips loudly, or fails when running in CI.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if ciMode() {
		t.Fatalf("CI is set, so this test may not be skipped: %s", msg)
	}
	skipped.Lock()
	if _, ok := skipped.reasons[msg]; !ok {
		skipped.order = append(skipped.order, msg)
	}
	skipped.reasons[msg] = append(skipped.reasons[msg], t.Name())
	skipped.Unlock()
	t.Skipf("SKIPPED: %s", msg)
}

// TestMain prints one loud block listing what was skipped and why.
func TestMain(m *testing.M) {
	code := m.Run()
	skipped.Lock()
	defer skipped.Unlock()
	if len(skipped.order) > 0 {
		bar := strings.Repeat("!", 78)
		fmt.Fprintf(os.Stderr, "\n%s\n", bar)
		for _, reason := range skipped.order {
			tests := skipped.reasons[reason]
			fmt.Fprintf(os.Stderr, "!!! SKIPPED %d test(s): %s\n!!!   e.g. %s\n", len(tests), reason, strings.Join(tests[:min(3, len(tests))], ", "))
		}
		fmt.Fprintf(os.Stderr, "!!! (with CI set these fail instead of skipping)\n%s\n\n", bar)
	}
	os.Exit(code)
}

// serverBin returns the server binary or skips/fails.
func serverBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(envBin)
	if bin == "" {
		skipOrFail(t, "%s is not set; build the server (cargo build -p adk-sessions-cli) and set %s=/path/to/target/debug/adk-sessions", envBin, envBin)
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		t.Fatalf("%s=%q is not a file: %v", envBin, bin, err)
	}
	return bin
}

// testServer is one running `adk-sessions serve`.
type testServer struct {
	URL  string
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("no free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startServer runs the binary with --db dbURL (plus extra flags) and waits until
// /healthz answers; the server is stopped (SIGTERM, then kill) when t ends.
func startServer(t *testing.T, dbURL string, extra ...string) *testServer {
	t.Helper()
	return startServerOver(t, "http", &http.Client{Timeout: time.Second}, dbURL, extra...)
}

// startServerOver is startServer for a server reached by scheme ("https" when extra
// holds --tls-cert/--tls-key), probed with hc (one that trusts its certificate).
func startServerOver(t *testing.T, scheme string, hc *http.Client, dbURL string, extra ...string) *testServer {
	t.Helper()
	bin := serverBin(t)
	var lastLogs string
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(t)
		args := append([]string{"serve", "--db", dbURL, "--addr", addr}, extra...)
		cmd := exec.Command(bin, args...)
		env := []string{"RUST_LOG=warn"}
		for _, kv := range os.Environ() {
			// Keep the caller's ADK_SESSIONS_* settings (tokens, DB) away from the server.
			if !strings.HasPrefix(kv, "ADK_SESSIONS_") && !strings.HasPrefix(kv, "RUST_LOG=") {
				env = append(env, kv)
			}
		}
		cmd.Env = env
		logs := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		base := scheme + "://" + addr
		if waitHealthy(hc, base, exited, 20*time.Second) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("server %s (%s) logs:\n%s", base, redactDB(dbURL), logs.String())
				}
			})
			return &testServer{URL: base, logs: logs}
		}
		stop()
		lastLogs = logs.String()
		if !strings.Contains(strings.ToLower(lastLogs), "address") { // not a port race: give up
			break
		}
	}
	t.Fatalf("adk-sessions serve --db %s did not become healthy; logs:\n%s", redactDB(dbURL), lastLogs)
	return nil
}

func redactDB(db string) string {
	if u, err := url.Parse(db); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return db
}

func waitHealthy(hc *http.Client, base string, exited <-chan struct{}, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		resp, err := hc.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// backend is a database the server can run on; dbURL makes a fresh, empty one
// for one server (removed when t ends).
type backend struct {
	name  string
	dbURL func(t *testing.T) string
}

var backends = []backend{
	{"memory", func(*testing.T) string { return "memory://" }},
	{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "sessions.db") }},
	{"postgres", freshPostgresDB},
}

var pgCounter atomic.Int64

// freshPostgresDB creates an empty database next to ADK_SESSIONS_TEST_POSTGRES_URL
// (any database of the server, used for CREATE/DROP DATABASE through psql) and
// drops it when t ends.
func freshPostgresDB(t *testing.T) string {
	t.Helper()
	admin := os.Getenv(envPostgresURL)
	if admin == "" {
		skipOrFail(t, "%s is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres); the PostgreSQL backend is not tested", envPostgresURL)
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s=%q is not a postgres:// URL", envPostgresURL, redactDB(admin))
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("%s is set but psql is not on PATH (needed to create a fresh database): %v", envPostgresURL, err)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("adkgo_%d_%d_%s", os.Getpid(), pgCounter.Add(1), hex.EncodeToString(rnd[:]))
	run := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, psql, admin, "-v", "ON_ERROR_STOP=1", "-qAtc", sql).CombinedOutput()
		if err != nil {
			return fmt.Errorf("psql %q: %v: %s", sql, err, out)
		}
		return nil
	}
	if err := run("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	db := *u
	db.Path = "/" + name
	return db.String()
}

// newService connects to a test server (no token from the environment).
func newService(t *testing.T, base string, opts ...adksessions.Option) session.Service {
	t.Helper()
	svc, err := adksessions.NewService(base, append([]adksessions.Option{adksessions.WithToken("")}, opts...)...)
	if err != nil {
		t.Fatalf("NewService(%s): %v", base, err)
	}
	return svc
}

// forEachBackend runs f once per backend, each in its own subtest, with a
// function that starts a server on a fresh database of that backend.
func forEachBackend(t *testing.T, f func(t *testing.T, start func(t *testing.T, extra ...string) *testServer)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			serverBin(t)
			if b.name == "postgres" && os.Getenv(envPostgresURL) == "" {
				freshPostgresDB(t) // skips or fails
			}
			f(t, func(t *testing.T, extra ...string) *testServer {
				return startServer(t, b.dbURL(t), extra...)
			})
		})
	}
}
