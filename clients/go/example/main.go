// Command example creates a session on an adk-sessions server, appends an
// event with a state change, and reads the session back.
//
//	adk-sessions serve --db memory:// --addr 127.0.0.1:8000 &
//	go run ./example -url http://127.0.0.1:8000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"google.golang.org/genai"

	"google.golang.org/adk/v2/model"
	"google.golang.org/adk/v2/session"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

func main() {
	baseURL := flag.String("url", "http://127.0.0.1:8000", "adk-sessions server URL")
	appName := flag.String("app", "weather_app", "app name")
	userID := flag.String("user", "alice", "user id")
	sessionID := flag.String("session", "", "session id (empty: the server assigns one)")
	token := flag.String("token", "", "bearer token (default: $ADK_SESSIONS_TOKEN)")
	flag.Parse()

	var opts []adksessions.Option
	if *token != "" {
		opts = append(opts, adksessions.WithToken(*token))
	}
	svc, err := adksessions.NewService(*baseURL, opts...)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	created, err := svc.Create(ctx, &session.CreateRequest{
		AppName:   *appName,
		UserID:    *userID,
		SessionID: *sessionID,
		State:     map[string]any{"topic": "weather", "user:lang": "en"},
	})
	if err != nil {
		log.Fatal(err)
	}
	sess := created.Session
	fmt.Printf("created  %s/%s/%s state=%v\n", sess.AppName(), sess.UserID(), sess.ID(), sorted(sess.State()))

	event := session.NewEvent(ctx, "inv-1")
	event.Author = "user"
	event.LLMResponse = model.LLMResponse{Content: genai.NewContentFromText("Will it rain in Paris?", genai.RoleUser)}
	event.Actions.StateDelta["city"] = "Paris"
	event.Actions.StateDelta["temp:draft"] = "kept on this handle only"
	if err := svc.AppendEvent(ctx, sess, event); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("appended event %s at %s; handle state=%v\n", event.ID, event.Timestamp.Format(time.RFC3339Nano), sorted(sess.State()))

	got, err := svc.Get(ctx, &session.GetRequest{AppName: *appName, UserID: *userID, SessionID: sess.ID()})
	if err != nil {
		log.Fatal(err)
	}
	s := got.Session
	fmt.Printf("read back %s: %d event(s), state=%v, last update %s\n", s.ID(), s.Events().Len(), sorted(s.State()), s.LastUpdateTime().Format(time.RFC3339Nano))
	for ev := range s.Events().All() {
		fmt.Printf("  %s %s: %q stateDelta=%v\n", ev.ID, ev.Author, ev.Content.Parts[0].Text, ev.Actions.StateDelta)
	}
}

// sorted prints a state with its keys in order.
func sorted(st session.State) string {
	m := map[string]any{}
	for k, v := range st.All() {
		m[k] = v
	}
	return fmt.Sprint(m) // fmt prints maps sorted by key
}
