package interop_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

// TestGoWritesWeRead: adk-go creates a session with scoped state and appends
// events using every field; our server's GET returns the same events and state
// as adk-go's own Get, field for field (and both what was written), also with
// the NumRecentEvents and After filters, and List agrees.
func TestGoWritesWeRead(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		_, goSvc, _, ourSvc := setup(t, kind, true)
		init := initialState()
		h := create(t, goSvc, "go-1", init)
		evs := richEvents("go", time.Now().Add(time.Second))
		appendAll(t, goSvc, h, evs)
		create(t, goSvc, "go-2", map[string]any{"only": "here", "user:u3": 3})

		want := view{ID: "go-1", AppName: appName, UserID: userID,
			State:  mergedState(t, map[string]any{"k": "v", "app:a": 1, "user:u": "two", "nested": init["nested"], "user:u3": 3}, evs),
			Events: storedAll(t, evs)}
		goView := viewOf(get(t, goSvc, "go-1"))
		ourView := viewOf(get(t, ourSvc, "go-1"))
		want.LastUpdate = goView.LastUpdate
		sameView(t, "adk-go's Get against what was written", want, goView)
		sameView(t, "our server's GET against adk-go's Get", goView, ourView)

		for _, f := range []struct {
			name string
			req  func(*session.GetRequest)
			want []string
		}{
			{"NumRecentEvents=2", func(r *session.GetRequest) { r.NumRecentEvents = 2 }, []string{"go-e3", "go-e4"}},
			{"After=e2", func(r *session.GetRequest) { r.After = evs[1].Timestamp.Truncate(time.Microsecond) }, []string{"go-e2", "go-e3", "go-e4"}},
			{"After=e2+1µs,NumRecentEvents=5", func(r *session.GetRequest) {
				r.After = evs[1].Timestamp.Truncate(time.Microsecond).Add(time.Microsecond)
				r.NumRecentEvents = 5
			}, []string{"go-e3", "go-e4"}},
		} {
			g := viewOf(get(t, goSvc, "go-1", f.req))
			o := viewOf(get(t, ourSvc, "go-1", f.req))
			if ids := eventIDs(g.Events); strings.Join(ids, ",") != strings.Join(f.want, ",") {
				t.Errorf("adk-go Get %s: events %v, want %v", f.name, ids, f.want)
			}
			sameView(t, "our server's GET "+f.name+" against adk-go's", g, o)
		}

		for _, user := range []string{userID, ""} {
			g, o := listViews(t, goSvc, user), listViews(t, ourSvc, user)
			if len(g) != 2 {
				t.Errorf("adk-go List(%q): %d sessions, want 2", user, len(g))
			}
			if d := cmpDiff(g, o); d != "" {
				t.Errorf("our List(%q) against adk-go's (-adk-go +ours):\n%s", user, d)
			}
		}
	})
}

// TestWeWriteGoReads: our server creates the tables (--schema adk-go), the
// session and its events (through the Go REST client); adk-go's Get (also with
// NumRecentEvents and After) and List see the same events and the merged state
// with app:/user: prefixes and no temp: keys.
func TestWeWriteGoReads(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		_, goSvc, _, ourSvc := setup(t, kind, false)
		init := initialState()
		h := create(t, ourSvc, "ours-1", init)
		evs := richEvents("ours", time.Now().Add(time.Second))
		appendAll(t, ourSvc, h, evs)
		create(t, ourSvc, "ours-2", map[string]any{"only": "here", "user:u3": 3, "temp:x": 1})

		want := view{ID: "ours-1", AppName: appName, UserID: userID,
			State:  mergedState(t, map[string]any{"k": "v", "app:a": 1, "user:u": "two", "nested": init["nested"], "user:u3": 3}, evs),
			Events: storedAll(t, evs)}
		ourView := viewOf(get(t, ourSvc, "ours-1"))
		goView := viewOf(get(t, goSvc, "ours-1"))
		want.LastUpdate = ourView.LastUpdate
		sameView(t, "our server's GET against what was written", want, ourView)
		sameView(t, "adk-go's Get against our server's GET", ourView, goView)
		for k := range goView.State {
			if strings.HasPrefix(k, session.KeyPrefixTemp) {
				t.Errorf("adk-go sees temp: key %q", k)
			}
		}

		for _, f := range []struct {
			name string
			req  func(*session.GetRequest)
			want []string
		}{
			{"NumRecentEvents=1", func(r *session.GetRequest) { r.NumRecentEvents = 1 }, []string{"ours-e4"}},
			{"NumRecentEvents=3", func(r *session.GetRequest) { r.NumRecentEvents = 3 }, []string{"ours-e2", "ours-e3", "ours-e4"}},
			{"After=e3", func(r *session.GetRequest) { r.After = evs[2].Timestamp.Truncate(time.Microsecond) }, []string{"ours-e3", "ours-e4"}},
			{"After=e1+1µs", func(r *session.GetRequest) { r.After = evs[0].Timestamp.Add(time.Microsecond) }, []string{"ours-e2", "ours-e3", "ours-e4"}},
			{"After=e4 (in UTC)", func(r *session.GetRequest) { r.After = evs[3].Timestamp.Truncate(time.Microsecond).UTC() }, []string{"ours-e4"}},
			{"After=e3,NumRecentEvents=1", func(r *session.GetRequest) {
				r.After = evs[2].Timestamp.Truncate(time.Microsecond)
				r.NumRecentEvents = 1
			}, []string{"ours-e4"}},
		} {
			g := viewOf(get(t, goSvc, "ours-1", f.req))
			o := viewOf(get(t, ourSvc, "ours-1", f.req))
			if ids := eventIDs(g.Events); strings.Join(ids, ",") != strings.Join(f.want, ",") {
				t.Errorf("adk-go Get %s: events %v, want %v", f.name, ids, f.want)
			}
			sameView(t, "adk-go's Get "+f.name+" against our server's", o, g)
		}

		for _, user := range []string{userID, ""} {
			o, g := listViews(t, ourSvc, user), listViews(t, goSvc, user)
			if len(o) != 2 {
				t.Errorf("our List(%q): %d sessions, want 2", user, len(o))
			}
			for i := range g {
				for k := range g[i].State {
					if strings.HasPrefix(k, session.KeyPrefixTemp) {
						t.Errorf("adk-go List sees temp: key %q in %s", k, g[i].ID)
					}
				}
			}
			if d := cmpDiff(o, g); d != "" {
				t.Errorf("adk-go's List(%q) against ours (-ours +adk-go):\n%s", user, d)
			}
		}
		if s := get(t, goSvc, "ours-2"); s.Events().Len() != 0 {
			t.Errorf("adk-go sees %d events in an empty session", s.Events().Len())
		}
	})
}

// TestAlternateAppends: each side appends to the other's sessions, in turns,
// each time through a handle just read on its own side (the first append to
// the session adk-go created comes from our server, the first to ours from
// adk-go); in the end both sides return the same events in the order they were
// appended, and the same state.
func TestAlternateAppends(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		_, goSvc, _, ourSvc := setup(t, kind, true)
		create(t, goSvc, "by-go", map[string]any{"start": "go", "app:shared": 0})
		create(t, ourSvc, "by-us", map[string]any{"start": "us", "user:shared": 0})
		sides := []session.Service{ourSvc, goSvc}
		want := map[string][]string{}
		wantState := map[string]map[string]any{
			"by-go": {"start": "go", "app:shared": 0, "user:shared": 0},
			"by-us": {"start": "us", "app:shared": 0, "user:shared": 0},
		}
		for i := 0; i < 6; i++ {
			for j, id := range []string{"by-go", "by-us"} {
				svc := sides[(i+j)%2]
				h := get(t, svc, id)
				ev := session.NewEvent(ctx, "inv")
				ev.ID = id + "-" + string(rune('a'+i))
				ev.Author = name(svc)
				ev.Content = contentText(name(svc) + " turn")
				ev.Actions.StateDelta = map[string]any{"turn": i, "by": name(svc), "app:shared": i, "user:shared": i * 10, "temp:t": i}
				if err := svc.AppendEvent(ctx, h, ev); err != nil {
					t.Fatalf("turn %d: %s AppendEvent(%s): %v", i, name(svc), id, err)
				}
				want[id] = append(want[id], ev.ID)
				wantState[id]["turn"], wantState[id]["by"] = i, name(svc)
				wantState["by-go"]["app:shared"], wantState["by-us"]["app:shared"] = i, i
				wantState["by-go"]["user:shared"], wantState["by-us"]["user:shared"] = i*10, i*10
			}
		}
		for _, id := range []string{"by-go", "by-us"} {
			g, o := viewOf(get(t, goSvc, id)), viewOf(get(t, ourSvc, id))
			if ids := strings.Join(eventIDs(g.Events), ","); ids != strings.Join(want[id], ",") {
				t.Errorf("%s: adk-go's events %s, want %s", id, ids, strings.Join(want[id], ","))
			}
			sameView(t, id+": our GET against adk-go's Get", g, o)
			sameView(t, id+": adk-go's state", view{State: jsonState(t, wantState[id])}, view{State: g.State})
		}
	})
}

// TestStaleBothWays: a handle read on one side is refused by that side once the
// other side has appended: adk-go's AppendEvent with its "stale session error",
// our client's with ErrStaleSession; nothing is stored by the refused append.
func TestStaleBothWays(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		d, goSvc, _, ourSvc := setup(t, kind, false)
		create(t, ourSvc, "s", map[string]any{"n": 0})
		events := func() int {
			return d.count(t, "SELECT COUNT(*) FROM events WHERE app_name = ? AND user_id = ? AND session_id = ?", appName, userID, "s")
		}

		// adk-go's handle goes stale when our server appends.
		goHandle := get(t, goSvc, "s")
		ourHandle := get(t, ourSvc, "s")
		time.Sleep(2 * time.Millisecond)
		appendOne(t, ourSvc, ourHandle, "ours-1", map[string]any{"n": 1})
		err := goSvc.AppendEvent(ctx, goHandle, textEvent("go-stale", map[string]any{"n": 2}))
		if err == nil || !strings.Contains(err.Error(), "stale session error") {
			t.Errorf("adk-go AppendEvent with a handle from before our append: err = %v, want adk-go's stale session error", err)
		}
		if n := events(); n != 1 {
			t.Errorf("after the refused adk-go append: %d events stored, want 1", n)
		}

		// Our handle goes stale when adk-go appends.
		ourHandle = get(t, ourSvc, "s")
		goHandle = get(t, goSvc, "s")
		time.Sleep(2 * time.Millisecond)
		appendOne(t, goSvc, goHandle, "go-1", map[string]any{"n": 3})
		err = ourSvc.AppendEvent(ctx, ourHandle, textEvent("ours-stale", map[string]any{"n": 4}))
		if !errors.Is(err, adksessions.ErrStaleSession) {
			t.Errorf("our client's AppendEvent with a handle from before adk-go's append: err = %v, want ErrStaleSession", err)
		}
		if n := events(); n != 2 {
			t.Errorf("after the refused append through our server: %d events stored, want 2", n)
		}

		// Fresh handles work on both sides, and both see n=5 then n=6.
		appendOne(t, ourSvc, get(t, ourSvc, "s"), "ours-2", map[string]any{"n": 5})
		appendOne(t, goSvc, get(t, goSvc, "s"), "go-2", map[string]any{"n": 6})
		g, o := viewOf(get(t, goSvc, "s")), viewOf(get(t, ourSvc, "s"))
		if ids := strings.Join(eventIDs(g.Events), ","); ids != "ours-1,go-1,ours-2,go-2" {
			t.Errorf("events %s, want ours-1,go-1,ours-2,go-2", ids)
		}
		sameView(t, "our GET against adk-go's Get", g, o)
		if g.State["n"] != float64(6) {
			t.Errorf("state n = %v, want 6", g.State["n"])
		}

		// adk-go sets update_time to the appended event's timestamp, so an event
		// older than the last one moves it backwards: a handle read before must
		// still be refused by our server.
		ourHandle = get(t, ourSvc, "s")
		goHandle = get(t, goSvc, "s")
		past := textEvent("go-past", map[string]any{"n": 7})
		past.Timestamp = time.Now().Add(-time.Hour)
		if err := goSvc.AppendEvent(ctx, goHandle, past); err != nil {
			t.Fatalf("adk-go AppendEvent of an event an hour old: %v", err)
		}
		err = ourSvc.AppendEvent(ctx, ourHandle, textEvent("ours-stale-2", map[string]any{"n": 8}))
		if !errors.Is(err, adksessions.ErrStaleSession) {
			t.Errorf("our client's AppendEvent with a handle from before adk-go appended an older event (update_time moved backwards): err = %v, want ErrStaleSession", err)
		}
		// The reverse cannot be asserted: adk-go's check is "stored update_time
		// is newer than the handle's", so after our server appends an older event
		// adk-go accepts its stale handle. Logged when it happens.
		goHandle = get(t, goSvc, "s")
		ourHandle = get(t, ourSvc, "s")
		past = textEvent("ours-past", map[string]any{"n": 9})
		past.Timestamp = time.Now().Add(-2 * time.Hour)
		if err := ourSvc.AppendEvent(ctx, ourHandle, past); err != nil {
			t.Fatalf("our AppendEvent of an event two hours old: %v", err)
		}
		if err := goSvc.AppendEvent(ctx, goHandle, textEvent("go-stale-2", map[string]any{"n": 10})); err == nil {
			t.Logf("KNOWN adk-go: after our server appended an event older than the session's last update, adk-go accepted its stale handle (its check only refuses a stored update_time newer than the handle's)")
		} else if !strings.Contains(err.Error(), "stale session error") {
			t.Errorf("adk-go AppendEvent: %v", err)
		}
		g, o = viewOf(get(t, goSvc, "s")), viewOf(get(t, ourSvc, "s"))
		sameView(t, "after the older events: our GET against adk-go's Get", g, o)
		if ids := strings.Join(eventIDs(g.Events), ","); !strings.HasPrefix(ids, "ours-past,go-past,ours-1,go-1,ours-2,go-2") {
			t.Errorf("events %s, want ours-past,go-past,ours-1,go-1,ours-2,go-2[,go-stale-2] (by timestamp)", ids)
		}
	})
}

// TestDeleteThroughUs: deleting through our server removes the session and its
// events from adk-go's tables (also on SQLite, where adk-go leaves foreign keys
// off so the cascade would not fire), and leaves app and user state.
func TestDeleteThroughUs(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		d, goSvc, _, ourSvc := setup(t, kind, true)
		h := create(t, goSvc, "doomed", map[string]any{"app:keep": "a", "user:keep": "u"})
		appendAll(t, goSvc, h, richEvents("doomed", time.Now().Add(time.Second)))
		create(t, goSvc, "survivor", nil)
		count := func(table, idCol, id string) int {
			return d.count(t, "SELECT COUNT(*) FROM "+table+" WHERE app_name = ? AND user_id = ? AND "+idCol+" = ?", appName, userID, id)
		}
		if n := count("events", "session_id", "doomed"); n != 4 {
			t.Fatalf("before the delete: %d events, want 4", n)
		}
		if err := ourSvc.Delete(ctx, &session.DeleteRequest{AppName: appName, UserID: userID, SessionID: "doomed"}); err != nil {
			t.Fatalf("our Delete: %v", err)
		}
		if n := count("events", "session_id", "doomed"); n != 0 {
			t.Errorf("after our delete: %d events of the session are left in the events table", n)
		}
		if n := count("sessions", "id", "doomed"); n != 0 {
			t.Errorf("after our delete: %d sessions rows are left", n)
		}
		if _, err := goSvc.Get(ctx, &session.GetRequest{AppName: appName, UserID: userID, SessionID: "doomed"}); err == nil {
			t.Errorf("adk-go still finds the deleted session")
		}
		s := viewOf(get(t, goSvc, "survivor"))
		if s.State["app:keep"] != "a" || s.State["user:keep"] != "u" {
			t.Errorf("app/user state after the delete: %v, want app:keep and user:keep kept", s.State)
		}
		// Deleting a missing session is not an error on either side.
		if err := ourSvc.Delete(ctx, &session.DeleteRequest{AppName: appName, UserID: userID, SessionID: "doomed"}); err != nil {
			t.Errorf("our Delete of a missing session: %v", err)
		}
	})
}
