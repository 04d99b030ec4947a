package adksessions_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/civil"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genai"

	"google.golang.org/adk/v2/model"
	"google.golang.org/adk/v2/session"
	"google.golang.org/adk/v2/tool/toolconfirmation"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

const app = "go_client_app"

func mustCreate(t *testing.T, svc session.Service, user, id string, st map[string]any) session.Session {
	t.Helper()
	resp, err := svc.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: user, SessionID: id, State: st})
	if err != nil {
		t.Fatalf("Create(%s/%s/%s): %v", app, user, id, err)
	}
	return resp.Session
}

func mustGet(t *testing.T, svc session.Service, user, id string) session.Session {
	t.Helper()
	resp, err := svc.Get(t.Context(), &session.GetRequest{AppName: app, UserID: user, SessionID: id})
	if err != nil {
		t.Fatalf("Get(%s/%s/%s): %v", app, user, id, err)
	}
	return resp.Session
}

func textEvent(id, author, text string, delta map[string]any) *session.Event {
	return &session.Event{
		ID:           id,
		InvocationID: "inv-" + id,
		Author:       author,
		Timestamp:    time.Now(),
		Actions:      session.EventActions{StateDelta: delta},
		LLMResponse:  model.LLMResponse{Content: genai.NewContentFromText(text, genai.RoleUser)},
	}
}

// Two runners hold handles on one session: the first append wins, the second
// gets adk-go's stale-session error and stores nothing; after reloading it can
// append.
func TestTwoRunnersOneSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		// Two services, as two runner processes would have.
		svcA, svcB := newService(t, srv.URL), newService(t, srv.URL)
		mustCreate(t, svcA, "u1", "shared", map[string]any{"turns": float64(0)})
		a := mustGet(t, svcA, "u1", "shared")
		b := mustGet(t, svcB, "u1", "shared")

		if err := svcA.AppendEvent(t.Context(), a, textEvent("ev-a", "user", "from A", map[string]any{"turns": float64(1), "by": "A"})); err != nil {
			t.Fatalf("first append: %v", err)
		}
		bBefore := b.LastUpdateTime()
		evB := textEvent("ev-b", "user", "from B", map[string]any{"turns": float64(1), "by": "B"})
		err := svcB.AppendEvent(t.Context(), b, evB)
		if err == nil {
			t.Fatal("second append on a stale handle succeeded; want a stale session error")
		}
		if !errors.Is(err, adksessions.ErrStaleSession) {
			t.Fatalf("error does not wrap ErrStaleSession: %v", err)
		}
		if !strings.HasPrefix(err.Error(), "stale session error") {
			t.Errorf("error text %q does not start like adk-go's database service's (\"stale session error\")", err)
		}
		t.Logf("stale error: %v", err)
		var ae *adksessions.APIError
		if !errors.As(err, &ae) || ae.StatusCode != 409 {
			t.Errorf("want an *APIError with status 409, got %#v", err)
		}
		// The losing handle and event are untouched.
		if b.Events().Len() != 0 || !b.LastUpdateTime().Equal(bBefore) {
			t.Errorf("stale handle changed: %d events, update %v (was %v)", b.Events().Len(), b.LastUpdateTime(), bBefore)
		}
		if v, _ := b.State().Get("by"); v != nil {
			t.Errorf("stale handle state changed: by=%v", v)
		}

		got := mustGet(t, svcA, "u1", "shared")
		if got.Events().Len() != 1 || got.Events().At(0).ID != "ev-a" {
			t.Fatalf("stored events = %d (first %v), want only ev-a", got.Events().Len(), got.Events().At(0))
		}
		if v, _ := got.State().Get("by"); v != "A" {
			t.Errorf("state by = %v, want A (the loser must not overwrite)", v)
		}

		// The loser reloads and retries.
		b = mustGet(t, svcB, "u1", "shared")
		if err := svcB.AppendEvent(t.Context(), b, evB); err != nil {
			t.Fatalf("append after reload: %v", err)
		}
		// And now A's handle is the stale one.
		if err := svcA.AppendEvent(t.Context(), a, textEvent("ev-a2", "user", "A again", nil)); !errors.Is(err, adksessions.ErrStaleSession) {
			t.Fatalf("A's handle after B's append: err = %v, want stale", err)
		}
		if n := mustGet(t, svcA, "u1", "shared").Events().Len(); n != 2 {
			t.Errorf("stored events = %d, want 2", n)
		}
	})
}

// Two handles racing: exactly one of two simultaneous appends wins.
func TestConcurrentAppendsOneWins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		svc := newService(t, srv.URL)
		mustCreate(t, svc, "u1", "race", nil)
		for round := 0; round < 5; round++ {
			h1, h2 := mustGet(t, svc, "u1", "race"), mustGet(t, svc, "u1", "race")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, h := range []session.Session{h1, h2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = svc.AppendEvent(context.Background(), h, textEvent(fmt.Sprintf("r%d-%d", round, i), "user", "x", nil))
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, adksessions.ErrStaleSession):
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d appends succeeded, want exactly 1 (%v)", round, ok, errs)
			}
		}
		if n := mustGet(t, svc, "u1", "race").Events().Len(); n != 5 {
			t.Errorf("stored %d events, want 5", n)
		}
	})
}

func richEvent() *session.Event {
	return &session.Event{
		ID:             "rich-1",
		InvocationID:   "inv-rich",
		Author:         "planner",
		Branch:         "root.planner",
		IsolationScope: "approval_subflow",
		Timestamp:      time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC),
		LLMResponse: model.LLMResponse{
			Content: &genai.Content{Role: genai.RoleModel, Parts: []*genai.Part{
				{Text: "Let me check the weather."},
				{Text: "thinking…", Thought: true, ThoughtSignature: []byte{0xfb, 0xff, 0xbf}},
				{FunctionCall: &genai.FunctionCall{ID: "call-1", Name: "get_weather", Args: map[string]any{
					"city": "Paris", "days": float64(3), "opts": map[string]any{"units": "metric", "hourly": true},
				}}},
				{FunctionResponse: &genai.FunctionResponse{ID: "call-1", Name: "get_weather", Response: map[string]any{
					"temp": 21.5, "sky": "clear", "hours": []any{float64(1), float64(2)},
				}}},
				// Bytes whose base64 differs between the standard and URL-safe alphabets.
				{InlineData: &genai.Blob{MIMEType: "image/png", Data: []byte{0xff, 0xfe, 0x00, 0x01, 0x3f, 0x3e, 0xfb}}},
				{FileData: &genai.FileData{FileURI: "gs://bucket/clip.mp4", MIMEType: "video/mp4"},
					VideoMetadata: &genai.VideoMetadata{StartOffset: 2 * time.Second, EndOffset: 7 * time.Second}},
				{ExecutableCode: &genai.ExecutableCode{Language: genai.LanguagePython, Code: "print(1 + 1)"}},
				{CodeExecutionResult: &genai.CodeExecutionResult{Outcome: genai.OutcomeOK, Output: "2\n"}},
			}},
			CustomMetadata: map[string]any{"trace_id": "abc-123", "score": 0.5, "tags": []any{"a", "b"}, "nested": map[string]any{"k": nil}},
			UsageMetadata: &genai.GenerateContentResponseUsageMetadata{
				PromptTokenCount: 10, CandidatesTokenCount: 5, TotalTokenCount: 15, ThoughtsTokenCount: 2,
			},
			GroundingMetadata: &genai.GroundingMetadata{WebSearchQueries: []string{"paris weather"}},
			CitationMetadata: &genai.CitationMetadata{Citations: []*genai.Citation{{
				Title: "Météo", URI: "https://example.com", StartIndex: 1, EndIndex: 9, License: "CC-BY",
				PublicationDate: civil.Date{Year: 2025, Month: time.March, Day: 1},
			}}},
			InputTranscription:      &genai.Transcription{Text: "will it rain", Finished: true},
			OutputTranscription:     &genai.Transcription{Text: "no"},
			SessionResumptionHandle: "resume-42",
			ModelVersion:            "gemini-test-001",
			TurnComplete:            true,
			Interrupted:             true,
			ErrorCode:               "E42",
			ErrorMessage:            "partly failed",
			FinishReason:            genai.FinishReasonStop,
			AvgLogprobs:             -0.25,
		},
		LongRunningToolIDs: []string{"call-1"},
		Routes:             []string{"reviewer"},
		Output:             map[string]any{"summary": "sunny", "risk": float64(0)},
		NodeInfo:           &session.NodeInfo{Path: "wf/planner", MessageAsOutput: true, OutputFor: []string{"wf"}},
		RequestedInput:     &session.RequestInput{InterruptID: "ask-1", Message: "Approve?", Payload: map[string]any{"doc": "contract.pdf"}},
		Actions: session.EventActions{
			StateDelta: map[string]any{
				"topic": "weather", "user:lang": "en", "app:version": float64(3),
				"nested": map[string]any{"list": []any{float64(1), "x", true, nil}},
			},
			ArtifactDelta:     map[string]int64{"report.pdf": 2, "chart.png": 1},
			TransferToAgent:   "writer",
			Escalate:          true,
			SkipSummarization: true,
			RequestedToolConfirmations: map[string]toolconfirmation.ToolConfirmation{
				"call-1": {Hint: "Spend 10€?", Confirmed: false, Payload: map[string]any{"amount": float64(10)}},
			},
		},
	}
}

// A rich event goes Go → server → Go unchanged, field for field.
func TestRichEventRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		svc := newService(t, srv.URL)
		h := mustCreate(t, svc, "u1", "rich", nil)
		want := richEvent()
		ev := richEvent()
		if err := svc.AppendEvent(t.Context(), h, ev); err != nil {
			t.Fatalf("AppendEvent: %v", err)
		}
		if diff := cmp.Diff(want, ev); diff != "" {
			t.Errorf("AppendEvent changed the caller's event (-want +got):\n%s", diff)
		}
		got := mustGet(t, svc, "u1", "rich")
		if got.Events().Len() != 1 {
			t.Fatalf("%d events stored, want 1", got.Events().Len())
		}
		if diff := cmp.Diff(want, got.Events().At(0)); diff != "" {
			t.Errorf("round trip mismatch (-sent +read back):\n%s", diff)
		}
		// The state delta reached the scoped states.
		for k, v := range map[string]any{"topic": "weather", "user:lang": "en", "app:version": float64(3)} {
			if g, err := got.State().Get(k); err != nil || g != v {
				t.Errorf("state %s = %v (%v), want %v", k, g, err, v)
			}
		}
		// Also via the afterTimestamp filter at the event's exact microsecond.
		resp, err := svc.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u1", SessionID: "rich", After: want.Timestamp})
		if err != nil || resp.Session.Events().Len() != 1 {
			t.Fatalf("Get(After=event time) = %v, %v; want the event", resp, err)
		}
		resp, err = svc.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u1", SessionID: "rich", After: want.Timestamp.Add(500 * time.Nanosecond)})
		if err != nil || resp.Session.Events().Len() != 0 {
			t.Fatalf("Get(After=event time+500ns) = %d events, %v; want none", resp.Session.Events().Len(), err)
		}
	})
}

// temp: keys reach the handle, never the server; the caller's event keeps them.
func TestTempStateOnHandleOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		svc := newService(t, srv.URL)
		h := mustCreate(t, svc, "u1", "tmp", nil)
		ev := textEvent("e1", "user", "hi", map[string]any{"temp:scratch": "x", "keep": "y"})
		if err := svc.AppendEvent(t.Context(), h, ev); err != nil {
			t.Fatal(err)
		}
		if v, err := h.State().Get("temp:scratch"); err != nil || v != "x" {
			t.Errorf("handle temp:scratch = %v, %v; want x (adk-go applies temp keys to the handle)", v, err)
		}
		if _, ok := h.Events().At(0).Actions.StateDelta["temp:scratch"]; ok {
			t.Error("handle's event still has the temp: key")
		}
		if _, ok := ev.Actions.StateDelta["temp:scratch"]; !ok {
			t.Error("the caller's event lost its temp: key (adk-go leaves it)")
		}
		got := mustGet(t, svc, "u1", "tmp")
		if _, err := got.State().Get("temp:scratch"); !errors.Is(err, session.ErrStateKeyNotExist) {
			t.Errorf("server state has temp:scratch (err %v)", err)
		}
		if d := got.Events().At(0).Actions.StateDelta; len(d) != 1 || d["keep"] != "y" {
			t.Errorf("stored delta = %v, want only keep", d)
		}
	})
}

// The handle follows the server's update time, which never moves backwards (an
// event with an old timestamp does not make the next append stale).
func TestHandleFollowsServerUpdateTime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		svc := newService(t, srv.URL)
		h := mustCreate(t, svc, "u1", "old", nil)
		created := h.LastUpdateTime()
		old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 3 {
			ev := &session.Event{ID: fmt.Sprint("old-", i), Author: "user", InvocationID: "inv", Timestamp: old.Add(time.Duration(i) * time.Second)}
			if err := svc.AppendEvent(t.Context(), h, ev); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		if !h.LastUpdateTime().After(created) {
			t.Errorf("handle update time %v is not after creation %v", h.LastUpdateTime(), created)
		}
		if got := mustGet(t, svc, "u1", "old").LastUpdateTime(); !got.Equal(h.LastUpdateTime()) {
			t.Errorf("handle update time %v != server's %v", h.LastUpdateTime(), got)
		}
	})
}

// Appending to a session deleted meanwhile fails with ErrNotFound, Get too; a
// duplicate event id is ErrConflict; a duplicate session id ErrAlreadyExists.
func TestErrorMapping(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		svc := newService(t, srv.URL)
		h := mustCreate(t, svc, "u1", "gone", nil)
		if err := svc.Delete(t.Context(), &session.DeleteRequest{AppName: app, UserID: "u1", SessionID: "gone"}); err != nil {
			t.Fatal(err)
		}
		if err := svc.Delete(t.Context(), &session.DeleteRequest{AppName: app, UserID: "u1", SessionID: "gone"}); err != nil {
			t.Errorf("deleting a missing session: %v, want nil (as adk-go)", err)
		}
		err := svc.AppendEvent(t.Context(), h, textEvent("e1", "user", "hi", nil))
		if !errors.Is(err, adksessions.ErrNotFound) {
			t.Errorf("AppendEvent on a deleted session: %v, want ErrNotFound", err)
		}
		_, err = svc.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u1", SessionID: "gone"})
		if !errors.Is(err, adksessions.ErrNotFound) {
			t.Errorf("Get of a deleted session: %v, want ErrNotFound", err)
		}
		// The same event id twice: a plain conflict, not a stale handle.
		h2 := mustCreate(t, svc, "u1", "dupev", nil)
		if err := svc.AppendEvent(t.Context(), h2, textEvent("same", "user", "1", nil)); err != nil {
			t.Fatal(err)
		}
		err = svc.AppendEvent(t.Context(), h2, textEvent("same", "user", "2", nil))
		if !errors.Is(err, adksessions.ErrConflict) || errors.Is(err, adksessions.ErrStaleSession) {
			t.Errorf("duplicate event id: %v, want ErrConflict", err)
		}
		t.Logf("duplicate event id error: %v", err)
		_, err = svc.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u1", SessionID: "dup"})
		if err == nil {
			_, err = svc.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u1", SessionID: "dup"})
		}
		if !errors.Is(err, adksessions.ErrAlreadyExists) {
			t.Errorf("duplicate Create: %v, want ErrAlreadyExists", err)
		}
	})
}

// List follows every page, per user and for the whole app.
func TestListAllPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		svc := newService(t, srv.URL, adksessions.WithListPageSize(2))
		for i := range 5 {
			mustCreate(t, svc, "u1", fmt.Sprint("s", i), map[string]any{"i": float64(i)})
		}
		for i := range 2 {
			mustCreate(t, svc, "u2", fmt.Sprint("t", i), nil)
		}
		for user, want := range map[string]int{"u1": 5, "u2": 2, "": 7, "nobody": 0} {
			resp, err := svc.List(t.Context(), &session.ListRequest{AppName: app, UserID: user})
			if err != nil {
				t.Fatalf("List(%q): %v", user, err)
			}
			ids := map[string]bool{}
			for _, s := range resp.Sessions {
				ids[s.UserID()+"/"+s.ID()] = true
				if s.AppName() != app {
					t.Errorf("session %s has app %q", s.ID(), s.AppName())
				}
			}
			if len(resp.Sessions) != want || len(ids) != want {
				t.Errorf("List(%q) = %d sessions (%d distinct), want %d", user, len(resp.Sessions), len(ids), want)
			}
		}
	})
}

// Ids with characters that need escaping in a URL path.
func TestEscapedIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		svc := newService(t, srv.URL)
		user, id := "user with space/slash?", "sess#1 é"
		resp, err := svc.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: user, SessionID: id})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.AppendEvent(t.Context(), resp.Session, textEvent("e1", "user", "hi", nil)); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Get(t.Context(), &session.GetRequest{AppName: app, UserID: user, SessionID: id})
		if err != nil {
			t.Fatal(err)
		}
		if got.Session.UserID() != user || got.Session.ID() != id || got.Session.Events().Len() != 1 {
			t.Errorf("got %q/%q with %d events", got.Session.UserID(), got.Session.ID(), got.Session.Events().Len())
		}
	})
}

// Bearer tokens: none or a wrong one → ErrUnauthorized, one for another app →
// ErrForbidden, the right one (option or ADK_SESSIONS_TOKEN) → works.
func TestBearerToken(t *testing.T) {
	serverBin(t)
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	body := `{"tokens": [{"token": "` + testToken + `", "apps": ["*"]}, {"token": "other-app-token-1234", "apps": ["other_app"]}]}`
	if err := os.WriteFile(tokens, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "memory://", "--auth-tokens", tokens)
	create := func(svc session.Service, id string) error {
		_, err := svc.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u1", SessionID: id})
		return err
	}

	t.Setenv(adksessions.TokenEnv, "")
	if err := create(newService(t, srv.URL), "a"); !errors.Is(err, adksessions.ErrUnauthorized) {
		t.Errorf("no token: %v, want ErrUnauthorized", err)
	}
	if err := create(newService(t, srv.URL, adksessions.WithToken("wrong-token-123456")), "a"); !errors.Is(err, adksessions.ErrUnauthorized) {
		t.Errorf("wrong token: %v, want ErrUnauthorized", err)
	}
	if err := create(newService(t, srv.URL, adksessions.WithToken("other-app-token-1234")), "a"); !errors.Is(err, adksessions.ErrForbidden) {
		t.Errorf("token of another app: %v, want ErrForbidden", err)
	}
	svc := newService(t, srv.URL, adksessions.WithToken(testToken))
	if err := create(svc, "a"); err != nil {
		t.Errorf("right token: %v", err)
	}
	if _, err := svc.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u1", SessionID: "a"}); err != nil {
		t.Errorf("Get with the right token: %v", err)
	}

	t.Setenv(adksessions.TokenEnv, testToken)
	envSvc, err := adksessions.NewService(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := create(envSvc, "b"); err != nil {
		t.Errorf("token from %s: %v", adksessions.TokenEnv, err)
	}
	// WithToken("") overrides the environment.
	if err := create(newService(t, srv.URL), "c"); !errors.Is(err, adksessions.ErrUnauthorized) {
		t.Errorf("WithToken(\"\") with the env set: %v, want ErrUnauthorized", err)
	}
}
