package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genai"

	"google.golang.org/adk/v2/session"
)

const (
	appName = "interop_app"
	userID  = "user-1"
)

var ctx = context.Background()

// initialState has a plain key and one of each prefix; temp: must never be stored.
func initialState() map[string]any {
	return map[string]any{"k": "v", "app:a": 1, "user:u": "two", "temp:t": 3, "nested": map[string]any{"x": []any{1, "y"}}}
}

// richEvents are events that use every field the tests care about: text,
// inline bytes (whose standard base64 has '+' and '/'), function call and
// response parts, stateDelta with plain/app:/user:/temp: keys, artifactDelta,
// transferToAgent, escalate, skipSummarization, branch, customMetadata,
// usageMetadata, turnComplete, interrupted, longRunningToolIds,
// errorCode/errorMessage. Timestamps: a whole second, nanoseconds (stored
// truncated to µs), microseconds, and the last one in a +02:00 zone (adk-go on
// SQLite writes that zone's local text; it is the last so that text order and
// time order agree).
func richEvents(tag string, base time.Time) []*session.Event {
	base = base.UTC().Truncate(time.Second)
	inv := "inv-" + tag
	ev := func(i int, author string, ts time.Time) *session.Event {
		return &session.Event{
			ID:           fmt.Sprintf("%s-e%d", tag, i),
			InvocationID: inv,
			Author:       author,
			Timestamp:    ts,
			Actions:      session.EventActions{StateDelta: map[string]any{}, ArtifactDelta: map[string]int64{}},
		}
	}
	e1 := ev(1, "user", base)
	e1.Content = &genai.Content{Role: "user", Parts: []*genai.Part{
		{Text: "hello from " + tag},
		{InlineData: &genai.Blob{MIMEType: "application/octet-stream", Data: []byte{0xfb, 0xef, 0xff, 0x00, 0x01, 0xfe}}},
	}}
	e1.Actions.StateDelta = map[string]any{"k1": "v1", "app:a1": 1.5, "user:u1": []any{"x", 2}, "temp:t1": true}
	e1.Actions.ArtifactDelta = map[string]int64{"report.txt": 2}

	e2 := ev(2, "agent", base.Add(1*time.Second+123456789*time.Nanosecond))
	e2.Content = &genai.Content{Role: "model", Parts: []*genai.Part{
		{Text: "let me look"},
		{FunctionCall: &genai.FunctionCall{ID: "fc-" + tag, Name: "lookup", Args: map[string]any{"q": "weather", "n": 3, "deep": map[string]any{"ok": true}}}},
	}}
	e2.LongRunningToolIDs = []string{"fc-" + tag}
	e2.Branch = "root.agent"
	e2.CustomMetadata = map[string]any{"trace": "abc", "n": 3}
	e2.UsageMetadata = &genai.GenerateContentResponseUsageMetadata{PromptTokenCount: 10, CandidatesTokenCount: 5, TotalTokenCount: 15}

	e3 := ev(3, "agent", base.Add(2*time.Second+654321*time.Microsecond))
	e3.Content = &genai.Content{Role: "user", Parts: []*genai.Part{
		{FunctionResponse: &genai.FunctionResponse{ID: "fc-" + tag, Name: "lookup", Response: map[string]any{"temp": 21.5, "unit": "C"}}},
	}}
	e3.Actions.StateDelta = map[string]any{"k1": "v1b", "app:a2": "b", "user:u2": map[string]any{"z": nil}, "temp:t2": "gone"}
	e3.Actions.TransferToAgent = "helper"
	e3.Actions.Escalate = true
	e3.Actions.SkipSummarization = true
	e3.Branch = "root.agent.helper"

	e4 := ev(4, "helper", base.Add(3*time.Second+1000).In(time.FixedZone("", 2*3600)))
	e4.Content = &genai.Content{Role: "model", Parts: []*genai.Part{{Text: "done"}}}
	e4.ErrorCode = "RESOURCE_EXHAUSTED"
	e4.ErrorMessage = "quota exceeded"
	e4.TurnComplete = true
	e4.Interrupted = true
	e4.Actions.StateDelta = map[string]any{"done": true}
	return []*session.Event{e1, e2, e3, e4}
}

// stored is what a session service is expected to return for an event it was
// given: temp: keys removed, timestamp truncated to µs, and values as JSON
// gives them back (numbers are float64).
func stored(t *testing.T, ev *session.Event) *session.Event {
	t.Helper()
	cp := *ev
	cp.Timestamp = cp.Timestamp.Truncate(time.Microsecond)
	if cp.Actions.StateDelta != nil {
		cp.Actions.StateDelta = maps.Clone(cp.Actions.StateDelta)
		for k := range cp.Actions.StateDelta {
			if strings.HasPrefix(k, session.KeyPrefixTemp) {
				delete(cp.Actions.StateDelta, k)
			}
		}
	}
	b, err := json.Marshal(&cp)
	if err != nil {
		t.Fatal(err)
	}
	out := new(session.Event)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func storedAll(t *testing.T, evs []*session.Event) []*session.Event {
	out := make([]*session.Event, len(evs))
	for i, e := range evs {
		out[i] = stored(t, e)
	}
	return out
}

// jsonState is a state map as JSON gives it back.
func jsonState(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// cmpOpts compare events field by field: instants equal (whatever the zone),
// nil and empty maps/slices alike (the wire cannot tell them apart).
var cmpOpts = []cmp.Option{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b approxTime) bool { return a.T.Sub(b.T).Abs() < time.Microsecond }),
}

// approxTime is a session's last update time: stored to the microsecond by the
// database, except on SQLite where adk-go's Create writes nanoseconds; a server
// that reads those may round or truncate them, so within 1µs is the same time.
type approxTime struct{ T time.Time }

// view is what a test compares of a session.
type view struct {
	ID, AppName, UserID string
	State               map[string]any
	Events              []*session.Event
	LastUpdate          approxTime
}

func viewOf(s session.Session) view {
	v := view{ID: s.ID(), AppName: s.AppName(), UserID: s.UserID(), State: map[string]any{}, LastUpdate: approxTime{s.LastUpdateTime()}}
	for k, val := range s.State().All() {
		v.State[k] = val
	}
	for e := range s.Events().All() {
		v.Events = append(v.Events, e)
	}
	return v
}

func get(t *testing.T, svc session.Service, id string, req ...func(*session.GetRequest)) session.Session {
	t.Helper()
	r := &session.GetRequest{AppName: appName, UserID: userID, SessionID: id}
	for _, f := range req {
		f(r)
	}
	resp, err := svc.Get(ctx, r)
	if err != nil {
		t.Fatalf("%s Get(%s): %v", name(svc), id, err)
	}
	return resp.Session
}

func name(svc session.Service) string {
	if strings.Contains(fmt.Sprintf("%T", svc), "adksessions") {
		return "our server"
	}
	return "adk-go"
}

// sameView fails the test when two sessions differ.
func sameView(t *testing.T, what string, want, got view) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func eventIDs(evs []*session.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// listViews lists sessions (events are not part of a list) sorted by id.
func listViews(t *testing.T, svc session.Service, user string) []view {
	t.Helper()
	resp, err := svc.List(ctx, &session.ListRequest{AppName: appName, UserID: user})
	if err != nil {
		t.Fatalf("%s List(%q): %v", name(svc), user, err)
	}
	var out []view
	for _, s := range resp.Sessions {
		v := viewOf(s)
		v.Events = nil
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func create(t *testing.T, svc session.Service, id string, state map[string]any) session.Session {
	t.Helper()
	resp, err := svc.Create(ctx, &session.CreateRequest{AppName: appName, UserID: userID, SessionID: id, State: state})
	if err != nil {
		t.Fatalf("%s Create(%s): %v", name(svc), id, err)
	}
	return resp.Session
}

func appendAll(t *testing.T, svc session.Service, s session.Session, evs []*session.Event) {
	t.Helper()
	for _, e := range evs {
		cp := *e
		if err := svc.AppendEvent(ctx, s, &cp); err != nil {
			t.Fatalf("%s AppendEvent(%s, %s): %v", name(svc), s.ID(), e.ID, err)
		}
	}
}

// mergedState is the state a session reads back after initial and the events'
// deltas: every key but temp: ones, JSON values.
func mergedState(t *testing.T, initial map[string]any, evs []*session.Event) map[string]any {
	t.Helper()
	m := map[string]any{}
	maps.Copy(m, initial)
	for _, e := range evs {
		maps.Copy(m, e.Actions.StateDelta)
	}
	for k := range m {
		if strings.HasPrefix(k, session.KeyPrefixTemp) {
			delete(m, k)
		}
	}
	return jsonState(t, m)
}

func cmpDiff(a, b any) string { return cmp.Diff(a, b, cmpOpts...) }

func contentText(s string) *genai.Content {
	return &genai.Content{Role: "model", Parts: []*genai.Part{{Text: s}}}
}

// textEvent is a small event stamped now with the given state delta.
func textEvent(id string, delta map[string]any) *session.Event {
	ev := session.NewEvent(ctx, "inv-"+id)
	ev.ID = id
	ev.Author = "agent"
	ev.Content = contentText("event " + id)
	ev.Actions.StateDelta = delta
	return ev
}

func appendOne(t *testing.T, svc session.Service, h session.Session, id string, delta map[string]any) {
	t.Helper()
	if err := svc.AppendEvent(ctx, h, textEvent(id, delta)); err != nil {
		t.Fatalf("%s AppendEvent(%s, %s): %v", name(svc), h.ID(), id, err)
	}
}
