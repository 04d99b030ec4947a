package interop_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"google.golang.org/adk/v2/session/database"

	"github.com/adk-sessions/adk-sessions/interop/adk-go/internal/dbs"
)

// TestSQLiteShutdownAfterGoWrites: our server has served a read (/readyz) and
// written nothing, then
// adk-go writes to the SQLite file and closes it (no other process has the
// file open any more); a graceful stop of the server then merges the WAL into
// the file and truncates it at once. (Seen instead: serve waits its whole busy
// timeout, 5 s, in wal_checkpoint(TRUNCATE) and warns "WAL only partly merged:
// another connection is reading" — one of its own connections still reads.)
func TestSQLiteShutdownAfterGoWrites(t *testing.T) {
	serverBin(t)
	d := freshDB(t, "sqlite")
	srv := startServer(t, d.url, "--schema", "adk-go")
	ours(t, srv) // GET /readyz: one of the server's readers reads the file

	dsn := dbs.SQLitePath(d.url) + "?_pragma=busy_timeout(10000)"
	pool, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	goSvc, err := database.NewSessionService(&sqlite.Dialector{DSN: dsn, Conn: pool}, silent())
	if err != nil {
		t.Fatal(err)
	}
	h := create(t, goSvc, "by-go", map[string]any{"app:a": 1})
	appendOne(t, goSvc, h, "go-ev", map[string]any{"k": "v"})
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	srv.stop()
	took := time.Since(start)
	if took > 2*time.Second {
		t.Errorf("the server took %v to stop after adk-go (now closed) wrote to the file", took.Round(time.Millisecond))
	}
	if logs := srv.logs.String(); strings.Contains(logs, "partly merged") {
		t.Errorf("the server could not truncate the WAL at shutdown though no other process has the file open:\n%s", logs)
	}
	// Everything is in the file.
	var n int
	if err := d.raw.QueryRow("SELECT COUNT(*) FROM events WHERE session_id = 'by-go'").Scan(&n); err != nil || n != 1 {
		t.Errorf("after the stop: %d events of by-go (err %v), want 1", n, err)
	}
}
