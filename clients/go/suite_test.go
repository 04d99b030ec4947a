package adksessions_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/adk/v2/session"
	"google.golang.org/adk/v2/session/sessiontestsuite"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

// suiteOptions: the server takes user-provided session ids and keeps the event ids
// it is given, so the suite compares ids, citation and usage metadata too.
var suiteOptions = sessiontestsuite.SuiteOptions{
	SupportsUserProvidedSessionID: true,
	ProvidesServerAssignedEventID: false,
}

// TestSessionServiceSuite runs adk-go's own session.Service conformance suite
// against a real server on each backend; every case gets a fresh server on a
// fresh database, as adk-go's database tests get a fresh SQLite database.
func TestSessionServiceSuite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		sessiontestsuite.RunServiceTests(t, suiteOptions, func(t *testing.T) session.Service {
			return newService(t, start(t).URL)
		})
	})
}

// TestSessionServiceSuiteWithAuth runs the suite once more against a server that
// requires bearer tokens, with the token given through ADK_SESSIONS_TOKEN.
func TestSessionServiceSuiteWithAuth(t *testing.T) {
	serverBin(t)
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tokens": [{"token": "`+testToken+`", "apps": ["*"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(adksessions.TokenEnv, testToken)
	sessiontestsuite.RunServiceTests(t, suiteOptions, func(t *testing.T) session.Service {
		srv := startServer(t, "memory://", "--auth-tokens", tokens)
		svc, err := adksessions.NewService(srv.URL) // token from the environment
		if err != nil {
			t.Fatal(err)
		}
		return svc
	})
}

const testToken = "long-random-token-0f3c9a7e5b1d"
