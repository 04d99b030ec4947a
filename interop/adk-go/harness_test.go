package interop_test

// Test harness (the style of clients/go/server_test.go, copied, not imported):
// starts the real `adk-sessions serve` binary named by ADK_SESSIONS_BIN on a free
// port against a fresh SQLite file, a fresh PostgreSQL database
// (ADK_SESSIONS_TEST_POSTGRES_URL) or a fresh MariaDB/MySQL database
// (ADK_SESSIONS_TEST_MYSQL_URL), each created with a random name and dropped when
// the test ends, and opens adk-go's own GORM session service on the same
// database. Without those variables the tests print a loud SKIPPED block and
// skip — or fail when CI is set.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
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

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"google.golang.org/adk/v2/session"
	"google.golang.org/adk/v2/session/database"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"

	"github.com/adk-sessions/adk-sessions/interop/adk-go/internal/dbs"
)

const (
	envBin         = "ADK_SESSIONS_BIN"
	envPostgresURL = "ADK_SESSIONS_TEST_POSTGRES_URL"
	envMySQLURL    = "ADK_SESSIONS_TEST_MYSQL_URL"
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
		skipOrFail(t, "%s is not set; build the server (cargo build --bin adk-sessions --all-features) and set %s=/path/to/target/debug/adk-sessions", envBin, envBin)
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		t.Fatalf("%s=%q is not a file: %v", envBin, bin, err)
	}
	return bin
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

// testServer is one running `adk-sessions serve`.
type testServer struct {
	URL  string
	logs *syncBuffer
	stop func()
}

// startServer runs the binary with --db dbURL (plus extra flags) and waits until
// /healthz answers; the server is stopped (SIGTERM, then kill) when t ends.
func startServer(t *testing.T, dbURL string, extra ...string) *testServer {
	t.Helper()
	return startServerEnv(t, dbURL, nil, extra...)
}

// startServerEnv is startServer with extra environment variables (KEY=value).
func startServerEnv(t *testing.T, dbURL string, extraEnv []string, extra ...string) *testServer {
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
		cmd.Env = append(env, extraEnv...)
		logs := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
			})
		}
		base := "http://" + addr
		if waitHealthy(base, exited, 20*time.Second) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("server %s (%s %s) logs:\n%s", base, redactDB(dbURL), strings.Join(extra, " "), logs.String())
				}
			})
			return &testServer{URL: base, logs: logs, stop: stop}
		}
		stop()
		lastLogs = logs.String()
		if !strings.Contains(strings.ToLower(lastLogs), "address") { // not a port race: give up
			break
		}
	}
	hint := ""
	if strings.Contains(lastLogs, "--schema") || strings.Contains(lastLogs, "schema") {
		hint = "\n(SERVER NOT READY? this binary may not support the adk-go layout / --schema adk-go yet)"
	}
	t.Fatalf("adk-sessions serve --db %s %s did not become healthy; logs:\n%s%s", redactDB(dbURL), strings.Join(extra, " "), lastLogs, hint)
	return nil
}

func redactDB(db string) string {
	if u, err := url.Parse(db); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return db
}

func waitHealthy(base string, exited <-chan struct{}, within time.Duration) bool {
	deadline := time.Now().Add(within)
	hc := &http.Client{Timeout: time.Second}
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

// kinds are the databases every test runs on.
var kinds = []string{"sqlite", "postgres", "mysql"}

// testDB is one fresh, empty database shared by our server and adk-go.
type testDB struct {
	kind string // "sqlite", "postgres", "mysql"
	url  string // the server's --db URL
	raw  *sql.DB
}

var dbCounter atomic.Int64

func randomDBName() string {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return fmt.Sprintf("adkgo_interop_%d_%d_%s", os.Getpid(), dbCounter.Add(1), hex.EncodeToString(rnd[:]))
}

// freshDB creates an empty database of the kind (dropped when t ends) and a
// database/sql handle on it for raw checks.
func freshDB(t *testing.T, kind string) *testDB {
	t.Helper()
	d := &testDB{kind: kind}
	var err error
	switch kind {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "sessions.db")
		d.url = "sqlite://" + path
		d.raw, err = sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	case "postgres":
		admin := os.Getenv(envPostgresURL)
		if admin == "" {
			skipOrFail(t, "%s is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres); the PostgreSQL database is not tested", envPostgresURL)
		}
		name := randomDBName()
		if d.url, err = dbs.CreatePostgres(admin, name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := dbs.DropPostgres(admin, name); err != nil {
				t.Logf("dropping %s: %v", name, err)
			}
		})
		d.raw, err = sql.Open("pgx", dbs.PostgresDSN(d.url))
	case "mysql":
		admin := os.Getenv(envMySQLURL)
		if admin == "" {
			skipOrFail(t, "%s is not set (e.g. mysql://root@127.0.0.1:3306/test); the MariaDB/MySQL database is not tested", envMySQLURL)
		}
		name := randomDBName()
		if d.url, err = dbs.CreateMySQL(admin, name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := dbs.DropMySQL(admin, name); err != nil {
				t.Logf("dropping %s: %v", name, err)
			}
		})
		d.raw, err = sql.Open("mysql", dbs.MySQLDSN(d.url, true))
	default:
		t.Fatalf("unknown database kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.raw.Close() })
	return d
}

// forEachDB runs f once per database kind, each in its own parallel subtest.
func forEachDB(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			serverBin(t)
			f(t, kind)
		})
	}
}

// q rewrites ?-placeholders for PostgreSQL.
func (d *testDB) q(query string) string {
	if d.kind != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// count runs a COUNT(*) query.
func (d *testDB) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.raw.QueryRow(d.q(query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// catalog reads the database's schema.
func (d *testDB) catalog(t *testing.T) *dbs.Catalog {
	t.Helper()
	var c *dbs.Catalog
	var err error
	switch d.kind {
	case "sqlite":
		c, err = dbs.SQLiteCatalog(d.raw)
	case "postgres":
		c, err = dbs.PostgresCatalog(d.raw)
	case "mysql":
		c, err = dbs.MySQLCatalog(d.raw)
	}
	if err != nil {
		t.Fatalf("reading the %s catalog: %v", d.kind, err)
	}
	return c
}

// sqlRecorder is a GORM logger that keeps every statement it runs.
type sqlRecorder struct {
	mu    sync.Mutex
	stmts []string
}

func (r *sqlRecorder) LogMode(logger.LogLevel) logger.Interface { return r }
func (r *sqlRecorder) Info(context.Context, string, ...any)     {}
func (r *sqlRecorder) Warn(context.Context, string, ...any)     {}
func (r *sqlRecorder) Error(context.Context, string, ...any)    {}
func (r *sqlRecorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, _ := fc()
	r.mu.Lock()
	r.stmts = append(r.stmts, s)
	r.mu.Unlock()
}

// ddl is the statements that would change the schema.
func (r *sqlRecorder) ddl() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.stmts {
		u := strings.ToUpper(strings.TrimSpace(s))
		for _, p := range []string{"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE", "RENAME", "PRAGMA FOREIGN_KEYS"} {
			if strings.HasPrefix(u, p) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// dialector is a GORM dialector over a connection pool of its own (closed when
// t ends), configured the way an adk-go application would (SQLite: glebarez
// with a busy timeout, so that it waits for our server's writes instead of
// failing at once, and foreign keys left off, as adk-go leaves them; MySQL:
// parseTime=true).
func (d *testDB) dialector(t *testing.T) gorm.Dialector {
	t.Helper()
	var dl gorm.Dialector
	var pool *sql.DB
	var err error
	switch d.kind {
	case "sqlite":
		dsn := dbs.SQLitePath(d.url) + "?_pragma=busy_timeout(10000)"
		pool, err = sql.Open("sqlite", dsn)
		dl = &sqlite.Dialector{DSN: dsn, Conn: pool}
	case "postgres":
		pool, err = sql.Open("pgx", dbs.PostgresDSN(d.url))
		dl = postgres.New(postgres.Config{Conn: pool})
	case "mysql":
		pool, err = sql.Open("mysql", dbs.MySQLDSN(d.url, true))
		dl = mysql.New(mysql.Config{Conn: pool})
	}
	if err != nil {
		t.Fatalf("opening %s: %v", d.kind, err)
	}
	t.Cleanup(func() { pool.Close() })
	return dl
}

func silent() *gorm.Config { return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)} }

// adkGo returns adk-go's own database session service on the database, after
// database.AutoMigrate when migrate is set.
func (d *testDB) adkGo(t *testing.T, migrate bool) session.Service {
	t.Helper()
	return d.adkGoWith(t, migrate, silent())
}

func (d *testDB) adkGoWith(t *testing.T, migrate bool, cfg *gorm.Config) session.Service {
	t.Helper()
	svc, err := database.NewSessionService(d.dialector(t), cfg)
	if err != nil {
		t.Fatalf("database.NewSessionService(%s): %v", d.kind, err)
	}
	if migrate {
		if err := database.AutoMigrate(svc); err != nil {
			t.Fatalf("database.AutoMigrate(%s): %v", d.kind, err)
		}
	}
	return svc
}

// ours returns the Go REST client (a session.Service) on our server.
func ours(t *testing.T, srv *testServer) session.Service {
	t.Helper()
	svc, err := adksessions.NewService(srv.URL, adksessions.WithToken(""))
	if err != nil {
		t.Fatalf("adksessions.NewService(%s): %v", srv.URL, err)
	}
	return svc
}

// setup is the usual start of a test: a fresh database of the kind, then
// either adk-go creates the tables (AutoMigrate) and our server opens them
// (goFirst), or our server creates them (--schema adk-go) and adk-go opens them.
func setup(t *testing.T, kind string, goFirst bool) (d *testDB, goSvc session.Service, srv *testServer, ourSvc session.Service) {
	t.Helper()
	d = freshDB(t, kind)
	if goFirst {
		goSvc = d.adkGo(t, true)
		srv = startServer(t, d.url)
	} else {
		srv = startServer(t, d.url, "--schema", "adk-go")
		goSvc = d.adkGo(t, true)
	}
	return d, goSvc, srv, ours(t, srv)
}
