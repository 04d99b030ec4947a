package adksessions_test

import (
	"fmt"
	"iter"
	"testing"

	"google.golang.org/genai"

	"google.golang.org/adk/v2/agent"
	"google.golang.org/adk/v2/model"
	"google.golang.org/adk/v2/runner"
	"google.golang.org/adk/v2/session"
)

// counterAgent answers every message with the turn number it keeps in state.
func counterAgent(t *testing.T) agent.Agent {
	a, err := agent.New(agent.Config{
		Name:        "counter",
		Description: "counts turns in session state",
		Run: func(ctx agent.InvocationContext) iter.Seq2[*session.Event, error] {
			return func(yield func(*session.Event, error) bool) {
				n := 0.0
				if v, err := ctx.Session().State().Get("count"); err == nil {
					n, _ = v.(float64)
				}
				ev := session.NewEvent(ctx, ctx.InvocationID())
				ev.Author = "counter"
				ev.LLMResponse = model.LLMResponse{Content: genai.NewContentFromText(fmt.Sprintf("turn %d", int(n)+1), genai.RoleModel)}
				ev.Actions.StateDelta["count"] = n + 1
				ev.Actions.StateDelta["temp:scratch"] = "not stored"
				yield(ev, nil)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// An adk-go runner keeps its session on the server: state carries over between
// runs, and a second runner (a restarted process) continues the same session.
func TestRunnerUsesServer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		srv := start(t)
		run := func(msg string) []string {
			svc := newService(t, srv.URL) // a fresh process each time
			r, err := runner.New(runner.Config{AppName: app, Agent: counterAgent(t), SessionService: svc, AutoCreateSession: true})
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for ev, err := range r.Run(t.Context(), "u1", "chat", genai.NewContentFromText(msg, genai.RoleUser), agent.RunConfig{}) {
				if err != nil {
					t.Fatalf("run %q: %v", msg, err)
				}
				if ev.Content != nil && len(ev.Content.Parts) > 0 {
					texts = append(texts, ev.Content.Parts[0].Text)
				}
			}
			return texts
		}
		if got := run("hello"); len(got) != 1 || got[0] != "turn 1" {
			t.Fatalf("first run = %q, want [turn 1]", got)
		}
		if got := run("again"); len(got) != 1 || got[0] != "turn 2" {
			t.Fatalf("second run = %q, want [turn 2]", got)
		}
		s := mustGet(t, newService(t, srv.URL), "u1", "chat")
		if v, _ := s.State().Get("count"); v != float64(2) {
			t.Errorf("stored count = %v, want 2", v)
		}
		if _, err := s.State().Get("temp:scratch"); err == nil {
			t.Error("temp:scratch reached the server")
		}
		var authors []string
		for ev := range s.Events().All() {
			authors = append(authors, ev.Author)
		}
		if fmt.Sprint(authors) != "[user counter user counter]" {
			t.Errorf("stored authors = %v", authors)
		}
	})
}
