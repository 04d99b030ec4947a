package interop_test

import (
	"context"
	"errors"
	"testing"
	"time"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

// TestLockOrder: our server's append must take its row locks in adk-go's order,
// or the two deadlock. adk-go's AppendEvent locks app_states (UPDATE), then
// user_states (UPDATE), then the session row (the events foreign key check takes
// a KEY SHARE / S lock on it, then its UPDATE). A writer that locks the session
// row first and then app_states forms a cycle with it; the database aborts one
// of the two, and when that is adk-go's transaction its AppendEvent fails (adk-go
// does not retry; TestConcurrentScopedState sees that now and then).
//
// The test makes the interleaving deterministic with a lock of its own on the
// user_states row: adk-go takes app_states and waits for user_states; our
// server's append (same session, with app: and user: keys) starts; then the
// test releases user_states. With adk-go's lock order our server waits for
// app_states without holding the session, adk-go finishes, and our append is
// refused as stale. Any deadlock the database counts meanwhile
// (pg_stat_database.deadlocks, MariaDB/MySQL's Innodb_deadlocks) fails the test.
// SQLite has no row locks: nothing to test there.
func TestLockOrder(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		if kind == "sqlite" {
			t.Log("SQLite serializes writers: no row locks, no lock order")
			return
		}
		d, goSvc, _, ourSvc := setup(t, kind, true)
		create(t, ourSvc, "lock", map[string]any{"app:x": 0, "user:x": 0})
		goH, ourH := get(t, goSvc, "lock"), get(t, ourSvc, "lock")

		before := d.deadlocks(t)
		tx, err := d.raw.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(d.q("SELECT state FROM user_states WHERE app_name = ? AND user_id = ? FOR UPDATE"), appName, userID); err != nil {
			t.Fatalf("locking user_states: %v", err)
		}
		lockWaits := func() int {
			if kind == "postgres" {
				return d.count(t, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
			}
			// Statements in flight on other connections of this database (prepared
			// statements run as 'Execute'): here, the ones waiting for a lock.
			return d.count(t, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND IN ('Query', 'Execute') AND INFO IS NOT NULL")
		}
		waitFor := func(n int, what string) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for lockWaits() < n {
				if time.Now().After(deadline) {
					rows, _ := d.raw.Query("SELECT trx_id, trx_state, COALESCE(trx_query,'') FROM information_schema.INNODB_TRX")
					for rows != nil && rows.Next() {
						var a, b, c string
						rows.Scan(&a, &b, &c)
						t.Logf("trx %s %s %s", a, b, c)
					}
					t.Fatalf("timed out waiting for %s (%d transactions waiting for a lock)", what, lockWaits())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}

		goErr := make(chan error, 1)
		go func() {
			goErr <- goSvc.AppendEvent(ctx, goH, textEvent("lock-go", map[string]any{"app:go": 1, "user:go": 1, "go": 1}))
		}()
		waitFor(1, "adk-go to wait for user_states (holding app_states)")
		ourErr := make(chan error, 1)
		go func() {
			c, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			ourErr <- ourSvc.AppendEvent(c, ourH, textEvent("lock-us", map[string]any{"app:us": 1, "user:us": 1, "us": 1}))
		}()
		waitFor(2, "our server's append to wait for a lock")
		time.Sleep(20 * time.Millisecond)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var errGo, errOurs error
		for got := 0; got < 2; got++ {
			select {
			case errGo = <-goErr:
			case errOurs = <-ourErr:
			case <-time.After(30 * time.Second):
				t.Fatal("the appends did not finish")
			}
		}
		if errGo != nil {
			t.Errorf("adk-go's AppendEvent failed: %v", errGo)
		}
		if errOurs != nil && !errors.Is(errOurs, adksessions.ErrStaleSession) {
			t.Errorf("our AppendEvent: %v, want success or ErrStaleSession", errOurs)
		}
		// PostgreSQL publishes a backend's counts when it goes idle (at most once a
		// second): poll a little.
		n := 0
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if n = d.deadlocks(t) - before; n > 0 {
				break
			}
		}
		if n > 0 {
			t.Errorf("%d deadlock(s) between adk-go's AppendEvent and our server's append on one session: our server locks the session row before app_states/user_states, adk-go the other way round (adk-go err: %v; our err: %v)", n, errGo, errOurs)
		}
		// Whatever happened, both sides agree.
		g, o := viewOf(get(t, goSvc, "lock")), viewOf(get(t, ourSvc, "lock"))
		sameView(t, "our GET against adk-go's Get", g, o)
	})
}

// deadlocks is the database's count of deadlocks (PostgreSQL: this database;
// MariaDB/MySQL: the whole server, so a parallel test can add to it).
func (d *testDB) deadlocks(t *testing.T) int {
	t.Helper()
	var n int
	var err error
	if d.kind == "postgres" {
		_, _ = d.raw.Exec("SELECT pg_stat_clear_snapshot()")
		err = d.raw.QueryRow("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&n)
	} else {
		var name string
		err = d.raw.QueryRow("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'").Scan(&name, &n)
	}
	if err != nil {
		t.Fatalf("reading the deadlock count: %v", err)
	}
	return n
}
