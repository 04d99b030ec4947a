package adksessions

// Tests that need no adk-sessions server: URL validation, the HTTP plumbing
// against httptest servers, and the event JSON conversion.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genai"

	"google.golang.org/adk/v2/model"
	"google.golang.org/adk/v2/session"
)

func TestParseBaseURL(t *testing.T) {
	good := map[string]string{
		"http://127.0.0.1:8000":             "http://127.0.0.1:8000",
		"http://127.0.0.1:8000/":            "http://127.0.0.1:8000",
		"https://sessions.example.com/adk/": "https://sessions.example.com/adk",
		" http://localhost:8000 ":           "http://localhost:8000",
	}
	for in, want := range good {
		got, err := parseBaseURL(in)
		if err != nil || got != want {
			t.Errorf("parseBaseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "localhost:8000", "127.0.0.1:8000", "ftp://host", "http://", "http:///path",
		"http://host?x=1", "http://host#frag", "http://user:pw@host", "://bad", "http://[::1"} {
		_, err := parseBaseURL(in)
		if err == nil {
			t.Errorf("parseBaseURL(%q) succeeded, want an error", in)
			continue
		}
		if !strings.Contains(err.Error(), "invalid base URL") || !strings.Contains(err.Error(), in) {
			t.Errorf("parseBaseURL(%q) error %q does not name the URL", in, err)
		}
	}
	if _, err := NewService("not a url"); err == nil || !strings.Contains(err.Error(), `"not a url"`) {
		t.Errorf("NewService(bad URL) = %v", err)
	}
}

// closedURL is an http URL nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestServerDown(t *testing.T) {
	u := closedURL(t)
	_, err := NewService(u, WithRetries(0, 0))
	if err == nil || !strings.Contains(err.Error(), u) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("NewService(down) = %v; want ErrUnreachable naming %s", err, u)
	}
	t.Logf("server down: %v", err)

	svc, err := NewService(u, WithoutStartupCheck(), WithRetries(1, time.Millisecond))
	if err != nil {
		t.Fatalf("NewService(down, WithoutStartupCheck) = %v", err)
	}
	_, err = svc.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
	if err == nil || !strings.Contains(err.Error(), u) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Get(down) = %v; want ErrUnreachable naming %s", err, u)
	}
}

func TestNotAnADKSessionsServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := NewService(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "does not look like an adk-sessions server") {
		t.Fatalf("NewService(404 server) = %v", err)
	}
}

// fake is a scripted server: each request gets the next status (the last one
// repeats) and the body for 2xx; it records requests.
type fake struct {
	statuses []int
	body     string
	hits     atomic.Int32
	lastReq  atomic.Pointer[http.Request]
	lastBody atomic.Pointer[string]
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/readyz" {
		io.WriteString(w, `{"status":"ok"}`)
		return
	}
	n := int(f.hits.Add(1)) - 1
	b, _ := io.ReadAll(r.Body)
	s := string(b)
	f.lastBody.Store(&s)
	f.lastReq.Store(r)
	status := f.statuses[min(n, len(f.statuses)-1)]
	w.WriteHeader(status)
	if status < 300 {
		io.WriteString(w, f.body)
	} else {
		io.WriteString(w, `{"detail":"scripted failure"}`)
	}
}

const sessionJSON = `{"id":"s","appName":"a","userId":"u","state":{"k":1},"events":[],"lastUpdateTime":1795668411.01151}`

func TestRetriesOnlyIdempotentReads(t *testing.T) {
	f := &fake{statuses: []int{503, 502, 200}, body: sessionJSON}
	srv := httptest.NewServer(f)
	defer srv.Close()
	svc, err := NewService(srv.URL, WithRetries(2, time.Millisecond), WithToken(""))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := svc.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
	if err != nil {
		t.Fatalf("Get after 2 transient failures: %v", err)
	}
	if f.hits.Load() != 3 {
		t.Errorf("GET attempts = %d, want 3", f.hits.Load())
	}
	if got := resp.Session.LastUpdateTime(); !got.Equal(time.UnixMicro(1795668411011510)) {
		t.Errorf("LastUpdateTime = %v", got)
	}

	// Not retried: POST, and GET with retries off, and non-transient statuses.
	for name, call := range map[string]func(Option) (int32, error){
		"create": func(o Option) (int32, error) {
			f := &fake{statuses: []int{503, 200}, body: sessionJSON}
			srv := httptest.NewServer(f)
			defer srv.Close()
			svc, _ := NewService(srv.URL, o)
			_, err := svc.Create(t.Context(), &session.CreateRequest{AppName: "a", UserID: "u"})
			return f.hits.Load(), err
		},
		"get-404": func(o Option) (int32, error) {
			f := &fake{statuses: []int{404, 200}, body: sessionJSON}
			srv := httptest.NewServer(f)
			defer srv.Close()
			svc, _ := NewService(srv.URL, o)
			_, err := svc.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
			return f.hits.Load(), err
		},
	} {
		hits, err := call(WithRetries(3, time.Millisecond))
		if hits != 1 || err == nil {
			t.Errorf("%s: %d attempts, err %v; want 1 attempt and an error", name, hits, err)
		}
	}
	f2 := &fake{statuses: []int{503, 200}, body: sessionJSON}
	srv2 := httptest.NewServer(f2)
	defer srv2.Close()
	svc2, _ := NewService(srv2.URL, WithRetries(0, 0))
	_, err = svc2.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
	if !errors.Is(err, ErrUnavailable) || f2.hits.Load() != 1 {
		t.Errorf("WithRetries(0,0): %d attempts, err %v", f2.hits.Load(), err)
	}
}

func TestTokenAndTimeout(t *testing.T) {
	f := &fake{statuses: []int{200}, body: sessionJSON}
	srv := httptest.NewServer(f)
	defer srv.Close()

	t.Setenv(TokenEnv, "from-env-token")
	svc, _ := NewService(srv.URL)
	if _, err := svc.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"}); err != nil {
		t.Fatal(err)
	}
	if got := f.lastReq.Load().Header.Get("Authorization"); got != "Bearer from-env-token" {
		t.Errorf("Authorization = %q, want the env token", got)
	}
	svc, _ = NewService(srv.URL, WithToken("explicit-token"))
	svc.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
	if got := f.lastReq.Load().Header.Get("Authorization"); got != "Bearer explicit-token" {
		t.Errorf("Authorization = %q, want the option's token", got)
	}
	svc, _ = NewService(srv.URL, WithToken(""))
	svc.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
	if got := f.lastReq.Load().Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none", got)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			time.Sleep(300 * time.Millisecond)
		}
		io.WriteString(w, sessionJSON)
	}))
	defer slow.Close()
	hc := &http.Client{}
	svc, _ = NewService(slow.URL, WithTimeout(50*time.Millisecond), WithRetries(0, 0), WithHTTPClient(hc))
	start := time.Now()
	_, err := svc.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
	if err == nil || time.Since(start) > 250*time.Millisecond || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("timeout: err %v after %v", err, time.Since(start))
	}
	// The caller's own cancellation is reported as such, not retried.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	svc, _ = NewService(slow.URL, WithTimeout(0), WithRetries(3, time.Millisecond))
	_, err = svc.Get(ctx, &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnreachable) {
		t.Errorf("caller deadline: %v", err)
	}
	if hc.Timeout != 0 {
		t.Error("WithTimeout modified the caller's http.Client")
	}
}

func TestPartialEventSendsNothing(t *testing.T) {
	f := &fake{statuses: []int{200}, body: `{"event":{},"lastUpdateTime":1}`}
	srv := httptest.NewServer(f)
	defer srv.Close()
	svc, _ := NewService(srv.URL)
	h := &remoteSession{appName: "a", userID: "u", sessionID: "s", state: map[string]any{}, revision: "1.5"}
	ev := &session.Event{ID: "p", LLMResponse: model.LLMResponse{Partial: true}, Actions: session.EventActions{StateDelta: map[string]any{"k": "v"}}}
	if err := svc.AppendEvent(t.Context(), h, ev); err != nil {
		t.Fatal(err)
	}
	if f.hits.Load() != 0 || h.Events().Len() != 0 || len(h.state) != 0 {
		t.Errorf("partial event: %d requests, %d handle events, state %v; want nothing", f.hits.Load(), h.Events().Len(), h.state)
	}
}

func TestAppendRequestShape(t *testing.T) {
	f := &fake{statuses: []int{200}, body: `{"event":{"id":"srv-id","invocationId":"i","author":"user","timestamp":1795668411.5,"actions":{"stateDelta":{"k":"v"},"artifactDelta":{},"requestedAuthConfigs":{},"requestedToolConfirmations":{}},"nodeInfo":{"path":""}},"lastUpdateTime":1795668411.500001}`}
	srv := httptest.NewServer(f)
	defer srv.Close()
	svc, _ := NewService(srv.URL)
	h := &remoteSession{appName: "my app", userID: "u/1", sessionID: "s", state: map[string]any{}, revision: "1795668400.25"}
	ev := &session.Event{InvocationID: "i", Author: "user", Actions: session.EventActions{StateDelta: map[string]any{"k": "v", "temp:t": 1}}}
	if err := svc.AppendEvent(t.Context(), h, ev); err != nil {
		t.Fatal(err)
	}
	r := f.lastReq.Load()
	if r.URL.EscapedPath() != "/apps/my%20app/users/u%2F1/sessions/s/events" {
		t.Errorf("path = %s", r.URL.EscapedPath())
	}
	if got := r.URL.Query().Get("expectedLastUpdateTime"); got != "1795668400.25" {
		t.Errorf("expectedLastUpdateTime = %q, want the handle's revision verbatim", got)
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(*f.lastBody.Load()), &sent); err != nil {
		t.Fatal(err)
	}
	if _, ok := sent["id"]; ok {
		t.Errorf("an empty id was sent: %v", sent)
	}
	if _, ok := sent["timestamp"]; ok {
		t.Errorf("a zero timestamp was sent: %v", sent)
	}
	if d := sent["actions"].(map[string]any)["stateDelta"].(map[string]any); len(d) != 1 || d["k"] != "v" {
		t.Errorf("sent stateDelta = %v, want only k (temp: keys are not sent)", d)
	}
	// The server's id and time reach the caller's event; the handle follows the server.
	if ev.ID != "srv-id" || !ev.Timestamp.Equal(time.UnixMicro(1795668411500000)) {
		t.Errorf("event id/time = %q/%v, want the server's", ev.ID, ev.Timestamp)
	}
	if h.revision != "1795668411.500001" || !h.LastUpdateTime().Equal(time.UnixMicro(1795668411500001)) {
		t.Errorf("handle revision %q, time %v", h.revision, h.LastUpdateTime())
	}
	if v, _ := h.State().Get("temp:t"); v != 1 {
		t.Errorf("handle temp:t = %v, want 1", v)
	}
}

func TestEncodeEventTimestamp(t *testing.T) {
	ev := &session.Event{ID: "e", Author: "a", InvocationID: "i", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.FixedZone("X", 3600))}
	b, err := encodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	if string(m["timestamp"]) != "1767319445.123456" {
		t.Errorf("timestamp = %s", m["timestamp"])
	}
	if _, err := encodeEvent(&session.Event{Timestamp: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("a timestamp before 1970 was accepted")
	}
}

func TestDecodeEventServerShape(t *testing.T) {
	// URL-safe base64 as the server (and adk-python) writes bytes.
	raw := `{"id":"e","invocationId":"i","author":"model","timestamp":1767319445.123456,
	"content":{"role":"model","parts":[{"inlineData":{"mimeType":"image/png","data":"__4AAT8-"}},
	  {"text":"t","thought":true,"thoughtSignature":"-_8"},
	  {"functionResponse":{"id":"c","name":"f","response":{"n":12345678901234567890},"parts":[{"inlineData":{"mimeType":"x/y","data":"__4"}}]}}]},
	"groundingMetadata":{"searchEntryPoint":{"sdkBlob":"__4"}},
	"actions":{"stateDelta":{},"artifactDelta":{},"requestedAuthConfigs":{},"requestedToolConfirmations":{}},
	"nodeInfo":{"path":""}}`
	ev, err := decodeEvent(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := &session.Event{
		ID: "e", InvocationID: "i", Author: "model",
		Timestamp: time.UnixMicro(1767319445123456).UTC(),
		LLMResponse: model.LLMResponse{
			Content: &genai.Content{Role: "model", Parts: []*genai.Part{
				{InlineData: &genai.Blob{MIMEType: "image/png", Data: []byte{0xff, 0xfe, 0x00, 0x01, 0x3f, 0x3e}}},
				{Text: "t", Thought: true, ThoughtSignature: []byte{0xfb, 0xff}},
				{FunctionResponse: &genai.FunctionResponse{ID: "c", Name: "f", Response: map[string]any{"n": 12345678901234567890.0},
					Parts: []*genai.FunctionResponsePart{{InlineData: &genai.FunctionResponseBlob{MIMEType: "x/y", Data: []byte{0xff, 0xfe}}}}}},
			}},
			GroundingMetadata: &genai.GroundingMetadata{SearchEntryPoint: &genai.SearchEntryPoint{SDKBlob: []byte{0xff, 0xfe}}},
		},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("decode mismatch (-want +got):\n%s", diff)
	}
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]int64{
		"1795668411.01151":   1795668411011510,
		"1795668411":         1795668411000000,
		"1795668411.0000005": 1795668411000001,
		"1.795668411e9":      1795668411000000,
	} {
		got, err := parseSeconds(in)
		if err != nil || got.UnixMicro() != want {
			t.Errorf("parseSeconds(%q) = %v (%d), %v; want %d", in, got, got.UnixMicro(), err, want)
		}
	}
	if _, err := parseSeconds("nope"); err == nil {
		t.Error("parseSeconds(nope) succeeded")
	}
}
