package interop_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

const (
	perSide   = 8 // goroutines per side, each on a session of its own
	perShared = 3 // goroutines per side on the one shared session
)

// retryable tells the errors a writer retries on: a stale handle (both sides),
// SQLite's busy/locked answers to adk-go (its deferred transactions cannot
// upgrade their read lock while another connection writes), MySQL lock wait
// timeouts, and deadlocks (adk-go does not retry them itself; they are counted
// and fail the test, see isDeadlock).
func retryable(err error) bool {
	if errors.Is(err, adksessions.ErrStaleSession) || isDeadlock(err) {
		return true
	}
	s := err.Error()
	for _, m := range []string{"stale session error", "database is locked", "SQLITE_BUSY", "Error 1205"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// isDeadlock: the database aborted the transaction to break a deadlock. adk-go
// takes its row locks in the order app_states, user_states, then the session
// (a KEY SHARE lock from the events foreign key check, then its UPDATE); a
// writer that locks the session first and then app_states/user_states can
// deadlock with it, and when the database picks adk-go's transaction as the
// victim, adk-go's AppendEvent fails (it does not retry).
func isDeadlock(err error) bool {
	s := err.Error()
	return strings.Contains(s, "40P01") || strings.Contains(s, "deadlock detected") ||
		strings.Contains(s, "Error 1213") || strings.Contains(s, "Deadlock found")
}

type writer struct {
	svc     session.Service
	session string
	key     string // the app:/user: key suffix this writer adds
	eventID string
	mu      *sync.Mutex // serializes adk-go's writers among themselves (see below)
}

// run appends one event with app:<key>, user:<key> and <key>, through a handle
// read just before, retrying on retryable errors; it returns the errors it
// retried on.
func (w writer) run(t *testing.T) (retried []string, err error) {
	for attempt := 0; attempt < 200; attempt++ {
		if w.mu != nil {
			w.mu.Lock()
		}
		var resp *session.GetResponse
		resp, err = w.svc.Get(ctx, &session.GetRequest{AppName: appName, UserID: userID, SessionID: w.session})
		if err == nil {
			ev := textEvent(w.eventID, map[string]any{"app:" + w.key: w.key, "user:" + w.key: w.key, w.key: w.key})
			err = w.svc.AppendEvent(ctx, resp.Session, ev)
		}
		if w.mu != nil {
			w.mu.Unlock()
		}
		if err == nil || !retryable(err) {
			return retried, err
		}
		retried = append(retried, err.Error())
		time.Sleep(time.Duration(1+attempt%5) * time.Millisecond)
	}
	return retried, fmt.Errorf("gave up after 200 attempts: %w", err)
}

// runAll starts every writer at once and waits for them.
func runAll(t *testing.T, ws []writer) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(ws))
	retries := make([][]string, len(ws))
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			retries[i], errs[i] = w.run(t)
		}()
	}
	close(start)
	wg.Wait()
	n := 0
	kinds := map[string]int{}
	for i, e := range errs {
		if e != nil {
			t.Errorf("%s writer %s on %s: %v", name(ws[i].svc), ws[i].key, ws[i].session, e)
		}
		n += len(retries[i])
		for _, r := range retries[i] {
			kinds[name(ws[i].svc)+": "+shorten(r)]++
		}
	}
	if n > 0 {
		t.Logf("%d retried errors: %v", n, kinds)
	}
	for i, rs := range retries {
		for _, r := range rs {
			if isDeadlock(errors.New(r)) {
				t.Errorf("%s AppendEvent (writer %s on %s) was aborted by the database to break a deadlock (retried here; an adk-go application would see this error): %s", name(ws[i].svc), ws[i].key, ws[i].session, r)
			}
		}
	}
	for k := range kinds {
		if strings.Contains(k, "503") || strings.Contains(k, "Unavailable") {
			t.Errorf("our server answered 503 under contention: %s", k)
		}
	}
}

func shorten(s string) string {
	if i := strings.Index(s, "stale session error"); i >= 0 {
		return "stale session error"
	}
	if len(s) > 120 {
		return s[:120]
	}
	return s
}

// TestConcurrentScopedState: writers through adk-go and through our server
// append at the same time to sessions of one app and user, each adding its own
// app:kN and user:kN key (most to sessions of their own, a few to one shared
// session, retrying when their handle is stale); in the end every key is
// present on both sides and the shared session has every writer's event.
//
// Phase 1 has only our server's writers. In phase 2 adk-go's writers join; they
// are serialized among themselves, because adk-go's AppendEvent reads
// app_states/user_states without a lock and writes the whole map back, so two
// adk-go writers lose each other's keys on PostgreSQL and MariaDB whatever we
// do. For the same reason a key written through our server can be lost on those
// databases when adk-go read the state before our write and saves after it; the
// test reports such losses as adk-go's, and fails only for keys written through
// adk-go (which our server must never drop) or any loss on SQLite (where adk-go's
// transaction fails and is retried instead).
func TestConcurrentScopedState(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		_, goSvc, _, ourSvc := setup(t, kind, true)
		// The app/user state rows exist before the writers start.
		create(t, ourSvc, "shared", map[string]any{"app:base": 1, "user:base": 1})

		var ws []writer
		for i := 0; i < perSide; i++ {
			id := fmt.Sprintf("p1-ours-%d", i)
			create(t, ourSvc, id, nil)
			ws = append(ws, writer{svc: ourSvc, session: id, key: fmt.Sprintf("p1us%d", i), eventID: id + "-ev"})
		}
		for i := 0; i < perShared; i++ {
			ws = append(ws, writer{svc: ourSvc, session: "shared", key: fmt.Sprintf("p1sh%d", i), eventID: fmt.Sprintf("shared-p1-ours-%d", i)})
		}
		runAll(t, ws)
		phase1 := keysOf(ws)

		goMu := &sync.Mutex{}
		ws = nil
		for i := 0; i < perSide; i++ {
			idUs, idGo := fmt.Sprintf("p2-ours-%d", i), fmt.Sprintf("p2-go-%d", i)
			create(t, ourSvc, idUs, nil)
			create(t, goSvc, idGo, nil)
			ws = append(ws,
				writer{svc: ourSvc, session: idUs, key: fmt.Sprintf("p2us%d", i), eventID: idUs + "-ev"},
				writer{svc: goSvc, session: idGo, key: fmt.Sprintf("p2go%d", i), eventID: idGo + "-ev", mu: goMu})
		}
		for i := 0; i < perShared; i++ {
			ws = append(ws,
				writer{svc: ourSvc, session: "shared", key: fmt.Sprintf("p2shus%d", i), eventID: fmt.Sprintf("shared-p2-ours-%d", i)},
				writer{svc: goSvc, session: "shared", key: fmt.Sprintf("p2shgo%d", i), eventID: fmt.Sprintf("shared-p2-go-%d", i), mu: goMu})
		}
		runAll(t, ws)

		g, o := viewOf(get(t, goSvc, "shared")), viewOf(get(t, ourSvc, "shared"))
		sameView(t, "the shared session: our GET against adk-go's Get", g, o)
		// Every writer's event is in the shared session, once.
		var wantShared []string
		for _, w := range append(ws, phase1...) {
			if w.session == "shared" {
				wantShared = append(wantShared, w.eventID)
			}
		}
		gotShared := eventIDs(g.Events)
		sort.Strings(wantShared)
		sort.Strings(gotShared)
		if strings.Join(gotShared, ",") != strings.Join(wantShared, ",") {
			t.Errorf("shared session events %v, want %v", gotShared, wantShared)
		}
		// A key written through our server in phase 2 can be lost on PostgreSQL
		// and MariaDB by adk-go alone (see above): reported, not failed.
		adkGoLoss := func(w writer) bool {
			return name(w.svc) == "our server" && kind != "sqlite" && strings.HasPrefix(w.key, "p2")
		}
		lost := 0
		check := func(side session.Service, w writer, st map[string]any, k string) {
			if st[k] == w.key {
				return
			}
			if adkGoLoss(w) {
				lost++
				t.Logf("KNOWN adk-go LOST UPDATE: %s does not see %s (written through our server, then overwritten by an adk-go append that had read the state before it)", name(side), k)
				return
			}
			t.Errorf("%s does not see %s (written through %s)", name(side), k, name(w.svc))
		}
		for _, side := range []session.Service{goSvc, ourSvc} {
			// Session keys: each writer's own session (or the shared one) has its key.
			for _, w := range append(phase1, ws...) {
				check(side, w, viewOf(get(t, side, w.session)).State, w.key)
			}
			// app:/user: keys, seen through the shared session.
			st := viewOf(get(t, side, "shared")).State
			for _, w := range append(phase1, ws...) {
				check(side, w, st, "app:"+w.key)
				check(side, w, st, "user:"+w.key)
			}
		}
		if lost > 0 {
			t.Logf("%d key reads found a key written through our server lost to adk-go's unlocked read-modify-write", lost)
		}
	})
}

func keysOf(ws []writer) []writer { return append([]writer(nil), ws...) }

func isDeadlockText(s string) bool { return isDeadlock(errors.New(s)) }
