package interop_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"
)

// TestSQLiteLocalZone: adk-go and our server on one host whose zone is not UTC
// (TZ=Asia/Kolkata for the server; adk-go's events stamped in that zone, as
// time.Now() gives them there), appending in turns to one session on SQLite.
// adk-go stores SQLite times as text in the time's own zone and sorts and
// filters events by that text (ORDER BY timestamp, timestamp >= ?), so every
// writer of the file must write the same zone for the order to be the order
// of time. Both sides must return the events in the order they happened, and
// adk-go's NumRecentEvents and After must pick the right ones.
func TestSQLiteLocalZone(t *testing.T) {
	serverBin(t)
	zone, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		zone = time.FixedZone("IST", 5*3600+1800)
	}
	d := freshDB(t, "sqlite")
	goSvc := d.adkGo(t, true)
	srv := startServerEnv(t, d.url, []string{"TZ=Asia/Kolkata"})
	ourSvc := ours(t, srv)
	create(t, goSvc, "zone", nil)

	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	var want []string
	for i, svc := range []session.Service{goSvc, ourSvc, goSvc, ourSvc} {
		ev := textEvent(name(svc)[:2]+"-"+string(rune('1'+i)), map[string]any{"i": i})
		ev.Timestamp = base.Add(time.Duration(i) * time.Second).In(zone)
		if err := svc.AppendEvent(ctx, get(t, svc, "zone"), ev); err != nil {
			t.Fatalf("%s AppendEvent: %v", name(svc), err)
		}
		want = append(want, ev.ID)
	}
	var texts []string
	rows, err := d.raw.Query("SELECT id, CAST(timestamp AS TEXT) FROM events ORDER BY timestamp")
	if err == nil {
		for rows.Next() {
			var id, ts string
			_ = rows.Scan(&id, &ts)
			texts = append(texts, id+" "+ts)
		}
		rows.Close()
	}
	for _, svc := range []session.Service{goSvc, ourSvc} {
		if got := eventIDs(viewOf(get(t, svc, "zone")).Events); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s returns the events in the order %v, want %v (the order they happened); the rows sorted as text:\n  %s", name(svc), got, want, strings.Join(texts, "\n  "))
		}
	}
	if got := eventIDs(viewOf(get(t, goSvc, "zone", func(r *session.GetRequest) { r.NumRecentEvents = 2 })).Events); strings.Join(got, ",") != strings.Join(want[2:], ",") {
		t.Errorf("adk-go Get NumRecentEvents=2: %v, want %v", got, want[2:])
	}
	if got := eventIDs(viewOf(get(t, goSvc, "zone", func(r *session.GetRequest) { r.After = base.Add(time.Second).In(zone) })).Events); strings.Join(got, ",") != strings.Join(want[1:], ",") {
		t.Errorf("adk-go Get After=second event: %v, want %v", got, want[1:])
	}
}
