// Command bench_adk_go runs the benchmark workloads W1–W3 of docs/bench.md through
// adk-go v2.2.0's session.Service implementations, for the figures our Rust engine
// (adk-sessions-bench) is compared with:
//
//	-impl gorm    adk-go's own GORM database service (session/database) on a fresh
//	              SQLite file, PostgreSQL database or MySQL/MariaDB database;
//	-impl client  this repository's Go client (clients/go) against a running
//	              `adk-sessions serve`.
//
// The data and phases are those of adk-sessions-bench and tools/bench_adk_python.py:
// same 200-character text, same state deltas, same ids, same count assertions, events
// built before the clock starts. One JSON object goes to stdout with -json (the keys of
// the Rust bench, plus w3_errors), a table to stderr.
//
//	go run . -impl gorm -db sqlite -json
//	go run . -impl gorm -db postgres://postgres@127.0.0.1:5432/test -json
//	go run . -impl gorm -db mysql://root@127.0.0.1:3306/test -json
//	go run . -impl client -url http://127.0.0.1:8000 -db postgres://…/thedb -json
//
// For -impl gorm every run writes to a fresh store: `sqlite` is a new temporary file,
// a postgres:// or mysql:// URL is the server on which a fresh database
// adk_bench_go_<hex> is created (through that URL) and dropped afterwards (-keep keeps
// it). For -impl client, -db only names the server's database, for the report's
// backend and durability (read from the database where it can be).
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"google.golang.org/adk/v2/session"
	"google.golang.org/adk/v2/session/database"
	"google.golang.org/genai"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

// app is the app every workload writes to.
const app = "bench"

// sessionsPerTask is the number of sessions each W3 goroutine owns.
const sessionsPerTask = 4

// maxAttempts bounds the W3 retries of one append (a run that needs more fails).
const maxAttempts = 10000

var ctx = context.Background()

// ---------------------------------------------------------------------------------
// Data

// text200 is the 200 ASCII characters of every event's text part (the Rust bench's).
func text200() string {
	const words = "The quick brown fox jumps over the lazy dog while the agent keeps the session. "
	return strings.Repeat(words, 3)[:200]
}

func userOf(n int) string { return fmt.Sprintf("u%d", n%10) }

// initialState is {"k": n, "user:name": "n{n % 10}", "app:v": 1} (a new map each time:
// adk-go's services keep the request's map as the handle's state).
func initialState(n int) map[string]any {
	return map[string]any{"k": n, "user:name": fmt.Sprintf("n%d", n%10), "app:v": 1}
}

// deltaOf is the state delta of event i.
func deltaOf(i int) map[string]any {
	d := map[string]any{"counter": i, "last": fmt.Sprintf("v%d", i)}
	if i%10 == 0 {
		d["user:seen"] = i
	}
	if i%25 == 0 {
		d["app:hits"] = i
	}
	if i%7 == 0 {
		d["temp:scratch"] = "x"
	}
	return d
}

// newEvent is event i of a session: invocation inv{i}, author user/agent and role
// user/model alternating, one text part, the delta of deltaOf, a UUID v4 id and the
// current time (session.NewEvent: uuid.NewString and time.Now).
func newEvent(i int, text string) *session.Event {
	author, role := "user", genai.RoleUser
	if i%2 == 1 {
		author, role = "agent", genai.RoleModel
	}
	e := session.NewEvent(ctx, fmt.Sprintf("inv%d", i))
	e.Author = author
	e.Content = genai.NewContentFromText(text, genai.Role(role))
	e.Actions.StateDelta = deltaOf(i)
	return e
}

// ---------------------------------------------------------------------------------
// Workloads

type sizes struct {
	sessions, events, big, tasks, taskEvents int
}

type rates struct {
	w1Create, w1Append, w1Get, w1Recent, w1List, w2Append, w2GetMs, w3Append float64
	w3Errors                                                                 int
	w3ErrorKinds                                                             map[string]int
}

type assertionError struct{ msg string }

func (e assertionError) Error() string { return "assertion failed: " + e.msg }

func check(cond bool, format string, args ...any) error {
	if cond {
		return nil
	}
	return assertionError{fmt.Sprintf(format, args...)}
}

func perS(count int, d time.Duration) float64 {
	return float64(count) / math.Max(d.Seconds(), 1e-9)
}

func phase(name string, n int) { fmt.Fprintf(os.Stderr, "  %-13s %d ...\n", name, n) }

func get(svc session.Service, user, id string, recent int) (session.Session, error) {
	r, err := svc.Get(ctx, &session.GetRequest{AppName: app, UserID: user, SessionID: id, NumRecentEvents: recent})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", user, id, err)
	}
	return r.Session, nil
}

func create(svc session.Service, user, id string, n int) (session.Session, error) {
	r, err := svc.Create(ctx, &session.CreateRequest{AppName: app, UserID: user, SessionID: id, State: initialState(n)})
	if err != nil {
		return nil, fmt.Errorf("create %s/%s: %w", user, id, err)
	}
	return r.Session, nil
}

// asInt reads a state number back (adk-go's GORM service returns JSON numbers as
// float64, the client as float64 too; the handle keeps the int it was given).
func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == math.Trunc(x) {
			return int(x), true
		}
	}
	return 0, false
}

// w1 runs W1: create, append, get, recent, list.
func w1(svc session.Service, sz sizes, text string, r *rates) error {
	s, m := sz.sessions, sz.events

	phase("W1 create", s)
	handles := make([]session.Session, 0, s)
	t := time.Now()
	for n := range s {
		h, err := create(svc, userOf(n), fmt.Sprintf("s%d", n), n)
		if err != nil {
			return err
		}
		handles = append(handles, h)
	}
	r.w1Create = perS(s, time.Since(t))

	// Built before the clock starts: events[i][n] is event i of session n.
	events := make([][]*session.Event, m)
	for i := range m {
		events[i] = make([]*session.Event, s)
		for n := range s {
			events[i][n] = newEvent(i, text)
		}
	}
	phase("W1 append", s*m)
	t = time.Now()
	for i := range m {
		for n, h := range handles {
			// adk-go's AppendEvent updates the handle it is given (events, state, last
			// update time), so the same handle serves the next round.
			if err := svc.AppendEvent(ctx, h, events[i][n]); err != nil {
				return fmt.Errorf("W1 append event %d to s%d: %w", i, n, err)
			}
		}
	}
	r.w1Append = perS(s*m, time.Since(t))

	phase("W1 get", s)
	t = time.Now()
	for n := range s {
		got, err := get(svc, userOf(n), fmt.Sprintf("s%d", n), 0)
		if err != nil {
			return err
		}
		if err := check(got.Events().Len() == m, "W1 get s%d: %d events, expected %d", n, got.Events().Len(), m); err != nil {
			return err
		}
	}
	r.w1Get = perS(s, time.Since(t))
	if err := checkState(svc, sz); err != nil {
		return err
	}

	phase("W1 recent", s)
	want := min(m, 10)
	t = time.Now()
	for n := range s {
		got, err := get(svc, userOf(n), fmt.Sprintf("s%d", n), 10)
		if err != nil {
			return err
		}
		if err := check(got.Events().Len() == want, "W1 recent s%d: %d events, expected %d", n, got.Events().Len(), want); err != nil {
			return err
		}
	}
	r.w1Recent = perS(s, time.Since(t))

	phase("W1 list", 11)
	t = time.Now()
	for u := range 10 {
		resp, err := svc.List(ctx, &session.ListRequest{AppName: app, UserID: fmt.Sprintf("u%d", u)})
		if err != nil {
			return fmt.Errorf("list u%d: %w", u, err)
		}
		want := 0
		for n := range s {
			if n%10 == u {
				want++
			}
		}
		if err := check(len(resp.Sessions) == want, "W1 list u%d: %d sessions, expected %d", u, len(resp.Sessions), want); err != nil {
			return err
		}
	}
	resp, err := svc.List(ctx, &session.ListRequest{AppName: app})
	if err != nil {
		return fmt.Errorf("list the app: %w", err)
	}
	if err := check(len(resp.Sessions) == s, "W1 list of the app: %d sessions, expected %d", len(resp.Sessions), s); err != nil {
		return err
	}
	r.w1List = perS(11, time.Since(t))
	return nil
}

// checkState checks, off the clock, what the deltas wrote to s0's stored state.
func checkState(svc session.Service, sz sizes) error {
	if sz.sessions == 0 || sz.events == 0 {
		return nil
	}
	got, err := get(svc, "u0", "s0", 1)
	if err != nil {
		return err
	}
	last := sz.events - 1
	counter, _ := got.State().Get("counter")
	c, ok := asInt(counter)
	if err := check(ok && c == last, "W1 state of s0: counter is %v, expected %d", counter, last); err != nil {
		return err
	}
	_, tempErr := got.State().Get("temp:scratch")
	if err := check(errors.Is(tempErr, session.ErrStateKeyNotExist), "W1 state of s0: temp:scratch was persisted"); err != nil {
		return err
	}
	v, _ := got.State().Get("app:v")
	one, ok := asInt(v)
	return check(ok && one == 1, "W1 state of s0: app:v is %v, expected 1", v)
}

// w2 runs W2: one session, B appends one after another, then three gets of all of
// them (the median counts).
func w2(svc session.Service, sz sizes, text string, r *rates) error {
	b := sz.big
	h, err := create(svc, "u0", "big", 0)
	if err != nil {
		return err
	}
	events := make([]*session.Event, b)
	for i := range b {
		events[i] = newEvent(i, text)
	}
	phase("W2 append", b)
	t := time.Now()
	for i, e := range events {
		if err := svc.AppendEvent(ctx, h, e); err != nil {
			return fmt.Errorf("W2 append event %d: %w", i, err)
		}
	}
	r.w2Append = perS(b, time.Since(t))

	phase("W2 get", 3)
	times := make([]time.Duration, 0, 3)
	for range 3 {
		t := time.Now()
		got, err := get(svc, "u0", "big", 0)
		times = append(times, time.Since(t))
		if err != nil {
			return err
		}
		if err := check(got.Events().Len() == b, "W2 get: %d events, expected %d", got.Events().Len(), b); err != nil {
			return err
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	r.w2GetMs = times[1].Seconds() * 1e3
	return nil
}

// errorKind shortens an error to what it says, without the times and ids that make
// each message unique.
var volatile = regexp.MustCompile(`\([0-9]{4}-[0-9T:.+\-Z]+\)|[0-9a-f]{8}-[0-9a-f-]{27}|w3-[0-9]+|u[0-9]+/`)

func errorKind(err error) string {
	s := volatile.ReplaceAllString(err.Error(), "…")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// w3 runs W3: C goroutines, each owning 4 sessions, each appending K events round
// robin over its sessions, all released together. An append that fails is counted
// (w3_errors), its session is read again (adk-go's AppendEvent has already added the
// event to the handle when the database refuses it, so the handle cannot be reused)
// and the append retried, after a short jittered pause.
func w3(svc session.Service, sz sizes, text string, r *rates) error {
	c, k := sz.tasks, sz.taskEvents
	type work struct {
		users, ids []string
		handles    []session.Session
		events     []*session.Event
	}
	works := make([]*work, c)
	for t := range c {
		w := &work{}
		for j := range sessionsPerTask {
			n := t*sessionsPerTask + j
			id := fmt.Sprintf("w3-%d", n)
			h, err := create(svc, userOf(n), id, n)
			if err != nil {
				return err
			}
			w.users = append(w.users, userOf(n))
			w.ids = append(w.ids, id)
			w.handles = append(w.handles, h)
		}
		for x := range k {
			w.events = append(w.events, newEvent(x/sessionsPerTask, text))
		}
		works[t] = w
	}

	var mu sync.Mutex
	kinds := map[string]int{}
	total := 0
	record := func(err error) {
		mu.Lock()
		kinds[errorKind(err)]++
		total++
		mu.Unlock()
	}

	phase("W3 concurrent", c*k)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	errs := make([]error, c)
	for t, w := range works {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			for x, e := range w.events {
				j := x % sessionsPerTask
				attempt := 0
				for {
					err := svc.AppendEvent(ctx, w.handles[j], e)
					if err == nil {
						break
					}
					record(err)
					attempt++
					for {
						if attempt >= maxAttempts {
							errs[t] = fmt.Errorf("W3 task %d: append to %s failed %d times, last: %w", t, w.ids[j], attempt, err)
							return
						}
						pause(attempt)
						var h session.Session
						h, err = get(svc, w.users[j], w.ids[j], 1)
						if err == nil {
							w.handles[j] = h
							break
						}
						record(err)
						attempt++
					}
				}
			}
		}()
	}
	ready.Wait()
	t := time.Now()
	close(start)
	done.Wait()
	r.w3Append = perS(c*k, time.Since(t))
	r.w3Errors = total
	r.w3ErrorKinds = kinds
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for t, w := range works {
		for j := range sessionsPerTask {
			want := k/sessionsPerTask + b2i(j < k%sessionsPerTask)
			got, err := get(svc, w.users[j], w.ids[j], 0)
			if err != nil {
				return err
			}
			if err := check(got.Events().Len() == want, "W3 session %s (task %d): %d events, expected %d", w.ids[j], t, got.Events().Len(), want); err != nil {
				return err
			}
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pause sleeps 1 ms doubling per attempt up to 32 ms, with ±50% jitter.
func pause(attempt int) {
	d := time.Millisecond << min(attempt-1, 5)
	var b [1]byte
	_, _ = rand.Read(b[:])
	d = d/2 + time.Duration(int64(d)*int64(b[0])/255)
	time.Sleep(d)
}

// ---------------------------------------------------------------------------------
// Stores

// store is what a run writes to.
type store struct {
	svc        session.Service
	impl       string
	backend    string
	durability string
	where      string // for the table header
	cleanup    []func() error
}

func freshName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "adk_bench_go_" + hex.EncodeToString(b[:])
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func kindOf(db string) string {
	switch {
	case db == "sqlite" || strings.HasPrefix(db, "sqlite:"):
		return "sqlite"
	case strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://"):
		return "postgres"
	case strings.HasPrefix(db, "mysql://"):
		return "mysql"
	}
	return ""
}

// withDatabase is the URL u naming database name instead of its own.
func withDatabase(u, name string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	p.Path = "/" + name
	p.RawPath = ""
	return p.String(), nil
}

// mysqlDSN turns mysql://user[:pass]@host[:port][/db][?params] into go-sql-driver's
// user:pass@tcp(host:port)/db?params, with parseTime=true when asked (adk-go's GORM
// service needs it to read DATETIME columns into time.Time).
func mysqlDSN(raw string, parseTime bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if u.User != nil {
		b.WriteString(u.User.Username())
		if p, ok := u.User.Password(); ok {
			b.WriteString(":" + p)
		}
		b.WriteString("@")
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	fmt.Fprintf(&b, "tcp(%s)%s", host, u.Path)
	if u.Path == "" {
		b.WriteString("/")
	}
	q := u.Query()
	if parseTime {
		q.Set("parseTime", "true")
	}
	if enc := q.Encode(); enc != "" {
		b.WriteString("?" + enc)
	}
	return b.String(), nil
}

// adminExec runs one statement on the server of URL db (in the database it names).
func adminExec(db, stmt string) error {
	var conn *sql.DB
	var err error
	switch kindOf(db) {
	case "postgres":
		conn, err = sql.Open("pgx", db)
	case "mysql":
		var dsn string
		if dsn, err = mysqlDSN(db, false); err == nil {
			conn, err = sql.Open("mysql", dsn)
		}
	default:
		return fmt.Errorf("%s: not a postgres:// or mysql:// URL", db)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, stmt)
	return err
}

// createDatabase creates a fresh database on the server of URL db and returns its URL.
func createDatabase(db string) (string, error) {
	name := freshName()
	if err := adminExec(db, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("CREATE DATABASE %s: %w", name, err)
	}
	return withDatabase(db, name)
}

// dropDatabase drops the database URL db names (through a connection to the server's
// default database).
func dropDatabase(db string) error {
	u, err := url.Parse(db)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !validName.MatchString(name) {
		return fmt.Errorf("bad database name %q", name)
	}
	switch kindOf(db) {
	case "postgres":
		admin, _ := withDatabase(db, "postgres")
		return adminExec(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	case "mysql":
		admin, _ := withDatabase(db, "")
		return adminExec(admin, "DROP DATABASE IF EXISTS "+name)
	}
	return fmt.Errorf("%s: not a postgres:// or mysql:// URL", db)
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "***")
	}
	return p.String()
}

// serverDurability reads the commit settings of the server a URL points to, as the
// Rust bench reports them.
func serverDurability(db string) (string, error) {
	switch kindOf(db) {
	case "postgres":
		conn, err := sql.Open("pgx", db)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		var sc, fs string
		err = conn.QueryRowContext(ctx, "SELECT current_setting('synchronous_commit'), current_setting('fsync')").Scan(&sc, &fs)
		return fmt.Sprintf("synchronous_commit=%s,fsync=%s", sc, fs), err
	case "mysql":
		dsn, err := mysqlDSN(db, false)
		if err != nil {
			return "", err
		}
		conn, err := sql.Open("mysql", dsn)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		var f, b string
		err = conn.QueryRowContext(ctx, "SELECT CAST(@@innodb_flush_log_at_trx_commit AS CHAR), CAST(@@sync_binlog AS CHAR)").Scan(&f, &b)
		return fmt.Sprintf("innodb_flush_log_at_trx_commit=%s,sync_binlog=%s", f, b), err
	}
	return "", fmt.Errorf("%s: not a server URL", db)
}

var syncNames = map[int]string{0: "off", 1: "normal", 2: "full", 3: "extra"}

// sqliteDurability reads journal_mode and synchronous through conn.
func sqliteDurability(conn *sql.DB) (string, error) {
	var jm string
	var sy int
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&jm); err != nil {
		return "", err
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sy); err != nil {
		return "", err
	}
	return fmt.Sprintf("journal_mode=%s,synchronous=%s", jm, syncNames[sy]), nil
}

func gormConfig() *gorm.Config {
	// Silent: GORM's default logger prints every "record not found" (adk-go reads the
	// app and user state rows with First) and every statement slower than 200 ms.
	return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
}

// openGorm opens adk-go's GORM service on a fresh store.
func openGorm(db string, keep bool) (*store, error) {
	st := &store{impl: "adk-go-gorm", backend: kindOf(db)}
	var dialector gorm.Dialector
	var sqliteConn *sql.DB
	switch st.backend {
	case "sqlite":
		if db != "sqlite" && db != "sqlite:" && db != "sqlite://" {
			return nil, fmt.Errorf("-db %s: for -impl gorm give `sqlite` (a fresh temporary file)", db)
		}
		path := filepath.Join(os.TempDir(), freshName()+".db")
		st.where = path
		if !keep {
			st.cleanup = append(st.cleanup, func() error {
				for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
					if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
						return err
					}
				}
				return nil
			})
		}
		// The pool glebarez/sqlite would open itself (sql.Open("sqlite", DSN), no
		// pragmas: SQLite's defaults), opened here so that the durability is read
		// through the service's own connections.
		conn, err := sql.Open(sqlite.DriverName, path)
		if err != nil {
			return nil, err
		}
		sqliteConn = conn
		dialector = &sqlite.Dialector{Conn: conn}
	case "postgres", "mysql":
		fresh, err := createDatabase(db)
		if err != nil {
			return nil, err
		}
		st.where = redact(fresh)
		if !keep {
			st.cleanup = append(st.cleanup, func() error { return dropDatabase(fresh) })
		}
		if st.durability, err = serverDurability(fresh); err != nil {
			return st, err
		}
		if st.backend == "postgres" {
			dialector = postgres.Open(fresh)
		} else {
			dsn, err := mysqlDSN(fresh, true)
			if err != nil {
				return st, err
			}
			dialector = mysql.Open(dsn)
		}
	default:
		return nil, fmt.Errorf("-db %q: sqlite, postgres://… or mysql://…", db)
	}
	svc, err := database.NewSessionService(dialector, gormConfig())
	if err != nil {
		return st, err
	}
	if err := database.AutoMigrate(svc); err != nil {
		return st, err
	}
	st.svc = svc
	if sqliteConn != nil {
		if st.durability, err = sqliteDurability(sqliteConn); err != nil {
			return st, err
		}
		st.cleanup = append([]func() error{sqliteConn.Close}, st.cleanup...)
	}
	return st, nil
}

// openClient connects the Go client to a running server; db (optional) names the
// server's database, for the report.
func openClient(serverURL, db string) (*store, error) {
	svc, err := adksessions.NewService(serverURL)
	if err != nil {
		return nil, err
	}
	st := &store{svc: svc, impl: "adk-go-client", backend: "server", durability: "unknown", where: serverURL}
	switch kindOf(db) {
	case "sqlite":
		st.backend = "sqlite"
		st.durability, err = serverSqliteDurability(db)
		if err != nil {
			return nil, err
		}
	case "postgres", "mysql":
		st.backend = kindOf(db)
		if st.durability, err = serverDurability(db); err != nil {
			return nil, err
		}
	case "":
		if db != "" {
			return nil, fmt.Errorf("-db %q: sqlite://FILE, postgres://… or mysql://…", db)
		}
	}
	if db != "" {
		st.where += " on " + redact(db)
	}
	return st, nil
}

// serverSqliteDurability describes the server's SQLite file: journal_mode is stored in
// the file (read from it); synchronous is a setting of each connection, so it is the
// server's `sync=` URL option (full when absent, the server's default), not read.
func serverSqliteDurability(db string) (string, error) {
	raw := strings.TrimPrefix(strings.TrimPrefix(db, "sqlite://"), "sqlite:")
	path, query, _ := strings.Cut(raw, "?")
	if path == "" {
		return "", fmt.Errorf("-db %s: name the server's SQLite file (sqlite://FILE)", db)
	}
	q, _ := url.ParseQuery(query)
	sync := q.Get("sync")
	if sync == "" {
		sync = "full"
	}
	conn, err := sql.Open(sqlite.DriverName, "file:"+path+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var jm string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&jm); err != nil {
		return "", fmt.Errorf("reading journal_mode of %s: %w", path, err)
	}
	return fmt.Sprintf("journal_mode=%s,synchronous=%s", jm, sync), nil
}

// ---------------------------------------------------------------------------------
// Report

type field struct {
	key  string
	json string
	text string
}

func rate(key string, v float64) field {
	return field{key, num(math.Round(v*10) / 10), fmt.Sprintf("%12.1f /s", v)}
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func text(key, v string) field {
	q := strconv.Quote(v) // ASCII labels; Go quoting is valid JSON for them
	return field{key, q, v}
}

func report(st *store, r *rates) []field {
	return []field{
		text("impl", st.impl),
		text("backend", st.backend),
		text("durability", st.durability),
		rate("w1_create_per_s", r.w1Create),
		rate("w1_append_per_s", r.w1Append),
		rate("w1_get_per_s", r.w1Get),
		rate("w1_recent_per_s", r.w1Recent),
		rate("w1_list_per_s", r.w1List),
		rate("w2_append_per_s", r.w2Append),
		{"w2_get_ms", num(math.Round(r.w2GetMs*1000) / 1000), fmt.Sprintf("%12.3f ms", r.w2GetMs)},
		rate("w3_append_per_s", r.w3Append),
		{"w3_errors", strconv.Itoa(r.w3Errors), fmt.Sprintf("%12d", r.w3Errors)},
	}
}

// ---------------------------------------------------------------------------------

func main() {
	impl := flag.String("impl", "gorm", "gorm (adk-go's GORM database service) or client (the Go client against -url)")
	db := flag.String("db", "sqlite", "gorm: sqlite (fresh temp file), postgres://… or mysql://… (a fresh database is created there); client: the server's database (sqlite://FILE, postgres://…/db, mysql://…/db), for the report only")
	serverURL := flag.String("url", "", "client: the adk-sessions server, e.g. http://127.0.0.1:8000")
	var sz sizes
	flag.IntVar(&sz.sessions, "sessions", 100, "S: sessions of W1")
	flag.IntVar(&sz.events, "events", 50, "M: events appended to each W1 session")
	flag.IntVar(&sz.big, "big", 5000, "B: events of the W2 session")
	flag.IntVar(&sz.tasks, "tasks", 16, "C: concurrent goroutines of W3 (each owns 4 sessions)")
	flag.IntVar(&sz.taskEvents, "task-events", 100, "K: events each W3 goroutine appends, round robin over its 4 sessions")
	asJSON := flag.Bool("json", false, "print one JSON object on stdout")
	keep := flag.Bool("keep", false, "gorm: keep the fresh file or database")
	durability := flag.String("durability", "", "override the reported durability")
	mkdb := flag.String("create-db", "", "helper: create a fresh database on the server of this postgres:// or mysql:// URL, print its URL, exit")
	rmdb := flag.String("drop-db", "", "helper: drop the database this postgres:// or mysql:// URL names, exit")
	flag.Parse()

	if *mkdb != "" {
		u, err := createDatabase(*mkdb)
		if err != nil {
			fail(err)
		}
		fmt.Println(u)
		return
	}
	if *rmdb != "" {
		if err := dropDatabase(*rmdb); err != nil {
			fail(err)
		}
		return
	}
	if sz.sessions < 0 || sz.events < 0 || sz.big < 1 || sz.tasks < 0 || sz.taskEvents < 0 {
		fail(errors.New("sizes must not be negative (and -big at least 1)"))
	}

	var st *store
	var err error
	switch *impl {
	case "gorm":
		st, err = openGorm(*db, *keep)
	case "client":
		if *serverURL == "" {
			fail(errors.New("-impl client needs -url"))
		}
		d := *db
		if d == "sqlite" {
			d = ""
		}
		st, err = openClient(*serverURL, d)
	default:
		err = fmt.Errorf("-impl %q: gorm or client", *impl)
	}
	if err == nil && *durability != "" {
		st.durability = *durability
	}
	var r rates
	if err == nil {
		err = run(st, sz, &r)
	}
	if st != nil {
		for _, c := range st.cleanup {
			if cerr := c(); cerr != nil {
				fmt.Fprintf(os.Stderr, "warning: cleanup: %v\n", cerr)
			}
		}
	}
	if err != nil {
		fail(err)
	}

	fields := report(st, &r)
	fmt.Fprintf(os.Stderr, "bench_adk_go (%s, %s):\n", st.impl, st.where)
	parts := make([]string, len(fields))
	for i, f := range fields {
		fmt.Fprintf(os.Stderr, "  %-16s  %s\n", f.key, f.text)
		parts[i] = strconv.Quote(f.key) + ":" + f.json
	}
	if r.w3Errors > 0 {
		fmt.Fprintf(os.Stderr, "  W3 errors, each retried after a fresh get:\n")
		ks := make([]string, 0, len(r.w3ErrorKinds))
		for k := range r.w3ErrorKinds {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool { return r.w3ErrorKinds[ks[i]] > r.w3ErrorKinds[ks[j]] })
		for _, k := range ks {
			fmt.Fprintf(os.Stderr, "    %6d × %s\n", r.w3ErrorKinds[k], k)
		}
	}
	if *asJSON {
		fmt.Println("{" + strings.Join(parts, ",") + "}")
	}
}

// run checks that the store holds no session of the app, then runs W1–W3.
func run(st *store, sz sizes, r *rates) error {
	existing, err := st.svc.List(ctx, &session.ListRequest{AppName: app})
	if err != nil {
		return fmt.Errorf("listing app %q before the run: %w", app, err)
	}
	if len(existing.Sessions) > 0 {
		return fmt.Errorf("the store already holds %d sessions of app %q; start from a fresh one", len(existing.Sessions), app)
	}
	text := text200()
	if err := w1(st.svc, sz, text, r); err != nil {
		return err
	}
	if err := w2(st.svc, sz, text, r); err != nil {
		return err
	}
	return w3(st.svc, sz, text, r)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	os.Exit(1)
}
