// Command example is a Go ADK agent's session work through adk-go's own database
// session service, on a SQLite file that `adk-sessions serve --schema adk-go` serves at
// the same time: the Go agent keeps using adk-go unchanged, and every other runtime
// reaches the same sessions over REST.
//
//	adk-sessions serve --db sqlite://go_agent.db --schema adk-go --addr 127.0.0.1:8089 &
//	go run ./example -db go_agent.db -session s1
//	curl -s localhost:8089/apps/weather_app/users/alice/sessions/s1
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/glebarez/sqlite"
	"google.golang.org/adk/v2/session"
	"google.golang.org/adk/v2/session/database"
	"google.golang.org/genai"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func main() {
	path := flag.String("db", "go_agent.db", "SQLite file (shared with adk-sessions serve --schema adk-go)")
	id := flag.String("session", "s1", "session id")
	flag.Parse()
	ctx := context.Background()

	// adk-go's own service, exactly as a Go agent configures it.
	svc, err := database.NewSessionService(sqlite.Open(*path+"?_pragma=busy_timeout(5000)"),
		&gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		log.Fatal(err)
	}
	if err := database.AutoMigrate(svc); err != nil {
		log.Fatal(err)
	}

	created, err := svc.Create(ctx, &session.CreateRequest{
		AppName: "weather_app", UserID: "alice", SessionID: *id,
		State: map[string]any{"topic": "weather", "user:lang": "en"},
	})
	if err != nil {
		log.Fatal(err)
	}
	s := created.Session
	ev := session.NewEvent(ctx, "go-inv-1")
	ev.Author = "user"
	ev.Timestamp = time.Now()
	ev.Content = genai.NewContentFromText("Will it rain in Paris?", genai.RoleUser)
	ev.Actions.StateDelta = map[string]any{"city": "Paris"}
	if err := svc.AppendEvent(ctx, s, ev); err != nil {
		log.Fatal(err)
	}
	got, err := svc.Get(ctx, &session.GetRequest{AppName: "weather_app", UserID: "alice", SessionID: *id})
	if err != nil {
		log.Fatal(err)
	}
	state := map[string]any{}
	for k, v := range got.Session.State().All() {
		state[k] = v
	}
	fmt.Printf("adk-go wrote weather_app/alice/%s: %d event(s), state=%v\n", *id, got.Session.Events().Len(), state)
}
