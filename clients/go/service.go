// Package adksessions is adk-go's [session.Service] over the REST API of an
// adk-sessions server (`adk-sessions serve`), so that Go agents keep their
// sessions in the same store as Python agents and survive restarts:
//
//	svc, err := adksessions.NewService("http://127.0.0.1:8000")
//	r, err := runner.New(runner.Config{AppName: "my_app", Agent: root, SessionService: svc})
//
// Semantics follow adk-go's own services (in-memory and database): partial
// events are ignored, temp: state keys apply to the handle but are never sent,
// and AppendEvent with a handle the server has moved past fails with a "stale
// session error" ([ErrStaleSession]) instead of overwriting. See the README for
// the options and the error mapping.
package adksessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/adk/v2/session"
)

// Service is the session.Service returned by [NewService]; its extra method
// BaseURL tells which server it talks to.
type Service struct {
	c *client
}

var _ session.Service = (*Service)(nil)

// NewService returns a session.Service backed by the adk-sessions server at
// baseURL (e.g. "http://127.0.0.1:8000"; a path prefix is kept, for a server
// behind a reverse proxy). It validates the URL and, unless
// [WithoutStartupCheck] is given, checks GET /readyz so that a server that is
// down is reported now, naming the URL.
func NewService(baseURL string, opts ...Option) (session.Service, error) {
	c, err := newClient(baseURL, opts)
	if err != nil {
		return nil, err
	}
	if c.cfg.startupCheck {
		timeout := c.cfg.timeout
		if timeout <= 0 || timeout > 10*time.Second {
			timeout = 10 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := c.ping(ctx); err != nil {
			return nil, err
		}
	}
	return &Service{c: c}, nil
}

// BaseURL is the normalized server URL.
func (s *Service) BaseURL() string { return s.c.base }

func sessionsPath(app, user string) string {
	return "/apps/" + url.PathEscape(app) + "/users/" + url.PathEscape(user) + "/sessions"
}

func sessionPath(app, user, id string) string {
	return sessionsPath(app, user) + "/" + url.PathEscape(id)
}

// wireSession is the server's session JSON.
type wireSession struct {
	ID             string            `json:"id"`
	AppName        string            `json:"appName"`
	UserID         string            `json:"userId"`
	State          map[string]any    `json:"state"`
	Events         []json.RawMessage `json:"events"`
	LastUpdateTime json.Number       `json:"lastUpdateTime"`
}

func (w *wireSession) toSession() (*remoteSession, error) {
	updated, err := parseSeconds(w.LastUpdateTime.String())
	if err != nil {
		return nil, err
	}
	st := w.State
	if st == nil {
		st = make(map[string]any)
	}
	evs := make([]*session.Event, 0, len(w.Events))
	for _, raw := range w.Events {
		ev, err := decodeEvent(raw)
		if err != nil {
			return nil, fmt.Errorf("session %q: %w", w.ID, err)
		}
		evs = append(evs, ev)
	}
	return &remoteSession{
		appName:   w.AppName,
		userID:    w.UserID,
		sessionID: w.ID,
		state:     st,
		events:    evs,
		updatedAt: updated,
		revision:  w.LastUpdateTime.String(),
	}, nil
}

// Create creates a session with the given id, or a server-assigned UUID when
// SessionID is empty; an id already taken fails with ErrAlreadyExists. State keys
// with app: and user: prefixes go to the app and user state, temp: keys are dropped,
// as in adk-go's database service.
func (s *Service) Create(ctx context.Context, req *session.CreateRequest) (*session.CreateResponse, error) {
	if req == nil {
		return nil, errors.New("create request is nil")
	}
	if req.AppName == "" || req.UserID == "" {
		return nil, fmt.Errorf("app_name and user_id are required, got app_name: %q, user_id: %q", req.AppName, req.UserID)
	}
	body := map[string]any{}
	if req.SessionID != "" {
		body["sessionId"] = req.SessionID
	}
	if req.State != nil {
		body["state"] = req.State
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("adksessions: encoding the initial state: %w", err)
	}
	r := &request{method: http.MethodPost, path: sessionsPath(req.AppName, req.UserID), body: b}
	resp, err := s.c.do(ctx, r)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusConflict {
			ae.kind = ErrAlreadyExists
			return nil, fmt.Errorf("session %s already exists: %w", req.SessionID, ae)
		}
		return nil, err
	}
	var w wireSession
	if err := decode(r, s.c.url(r), resp.body, &w); err != nil {
		return nil, err
	}
	sess, err := w.toSession()
	if err != nil {
		return nil, err
	}
	return &session.CreateResponse{Session: sess}, nil
}

// Get reads a session with its events (the newest NumRecentEvents of those at or
// after After, when set). A missing session is an error wrapping ErrNotFound.
func (s *Service) Get(ctx context.Context, req *session.GetRequest) (*session.GetResponse, error) {
	if req == nil {
		return nil, errors.New("get request is nil")
	}
	if req.AppName == "" || req.UserID == "" || req.SessionID == "" {
		return nil, fmt.Errorf("app_name, user_id, session_id are required, got app_name: %q, user_id: %q, session_id: %q", req.AppName, req.UserID, req.SessionID)
	}
	q := url.Values{}
	if req.NumRecentEvents > 0 {
		q.Set("numRecentEvents", strconv.Itoa(req.NumRecentEvents))
	}
	if !req.After.IsZero() && req.After.UnixMicro() > 0 {
		// The server stores microseconds; round a finer bound up so that ">= After"
		// keeps exactly the events adk-go's services keep. Before 1970 every event
		// qualifies, so no filter is sent.
		after := req.After
		if after.Unix() > maxServerSeconds {
			after = time.Unix(maxServerSeconds, 0)
		}
		t, err := secondsText(after, true)
		if err != nil {
			return nil, err
		}
		q.Set("afterTimestamp", t)
	}
	r := &request{method: http.MethodGet, path: sessionPath(req.AppName, req.UserID, req.SessionID), query: q}
	resp, err := s.c.do(ctx, r)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("session %s not found: %w", req.SessionID, err)
		}
		return nil, err
	}
	var w wireSession
	if err := decode(r, s.c.url(r), resp.body, &w); err != nil {
		return nil, err
	}
	sess, err := w.toSession()
	if err != nil {
		return nil, err
	}
	return &session.GetResponse{Session: sess}, nil
}

// List returns the sessions of a user (every user of the app when UserID is
// empty), without events, following the server's pages to the end.
func (s *Service) List(ctx context.Context, req *session.ListRequest) (*session.ListResponse, error) {
	if req == nil {
		return nil, errors.New("list request is nil")
	}
	if req.AppName == "" {
		return nil, fmt.Errorf("app_name is required, got app_name: %q", req.AppName)
	}
	path := "/apps/" + url.PathEscape(req.AppName) + "/sessions"
	if req.UserID != "" {
		path = sessionsPath(req.AppName, req.UserID)
	}
	out := make([]session.Session, 0)
	seen := map[string]bool{}
	token := ""
	for {
		q := url.Values{"pageSize": {strconv.Itoa(s.c.cfg.pageSize)}}
		if token != "" {
			q.Set("pageToken", token)
		}
		r := &request{method: http.MethodGet, path: path, query: q}
		resp, err := s.c.do(ctx, r)
		if err != nil {
			return nil, err
		}
		var page []wireSession
		if err := decode(r, s.c.url(r), resp.body, &page); err != nil {
			return nil, err
		}
		for i := range page {
			sess, err := page[i].toSession()
			if err != nil {
				return nil, err
			}
			out = append(out, sess)
		}
		token = resp.header.Get("x-next-page-token")
		if token == "" {
			break
		}
		if seen[token] {
			return nil, fmt.Errorf("adksessions: GET %s: the server repeated page token %q", s.c.url(r), token)
		}
		seen[token] = true
	}
	return &session.ListResponse{Sessions: out}, nil
}

// Delete deletes a session; deleting a missing one is not an error (adk-go's
// services behave the same).
func (s *Service) Delete(ctx context.Context, req *session.DeleteRequest) error {
	if req == nil {
		return errors.New("delete request is nil")
	}
	if req.AppName == "" || req.UserID == "" || req.SessionID == "" {
		return fmt.Errorf("app_name, user_id, session_id are required, got app_name: %q, user_id: %q, session_id: %q", req.AppName, req.UserID, req.SessionID)
	}
	_, err := s.c.do(ctx, &request{method: http.MethodDelete, path: sessionPath(req.AppName, req.UserID, req.SessionID)})
	return err
}

// appendAnswer is the server's answer to POST …/events.
type appendAnswer struct {
	Event          json.RawMessage `json:"event"`
	LastUpdateTime json.Number     `json:"lastUpdateTime"`
}

// staleStored finds the stored update time in the server's two stale-session
// texts: "Session was updated at T since expectedLastUpdateTime …" (the check
// before the write) and "stale session …: stored revision T is not the handle's …"
// (a concurrent writer won between that check and the write).
var staleStored = regexp.MustCompile(`(?:updated at|stored revision) ([0-9][0-9.eE+-]*)`)

// isStaleDetail tells a stale-session 409 from the other 409 of an append, a
// duplicate event id.
func isStaleDetail(detail string) bool {
	return !strings.Contains(detail, "duplicate event id")
}

// AppendEvent stores the event and applies it to the handle, as adk-go's
// services do: a partial event is ignored; temp: state keys are not sent but do
// reach the handle's state; the append is conditional on the handle's last update
// time, so a handle that another writer has moved past gets an error wrapping
// ErrStaleSession ("stale session error: …") and nothing is stored. On success
// the event gets the server's id and timestamp when it had none (the timestamp is
// truncated to microseconds, as the database service does), and the handle's
// events, state and LastUpdateTime are updated. On failure the handle and the
// event are unchanged.
func (s *Service) AppendEvent(ctx context.Context, cur session.Session, event *session.Event) error {
	if cur == nil {
		return fmt.Errorf("session is nil")
	}
	if event == nil {
		return fmt.Errorf("event is nil")
	}
	if event.Partial {
		return nil
	}
	sess, ok := cur.(*remoteSession)
	if !ok {
		return fmt.Errorf("unexpected session type %T for session ID %s: use a session returned by this service's Create, Get or List", cur, cur.ID())
	}
	sess.appendMu.Lock()
	defer sess.appendMu.Unlock()

	toSend := *event
	toSend.Timestamp = event.Timestamp.Truncate(time.Microsecond)
	body, err := encodeEvent(&toSend)
	if err != nil {
		return err
	}
	revision := sess.currentRevision()
	q := url.Values{}
	if revision != "" {
		q.Set("expectedLastUpdateTime", revision)
	}
	r := &request{method: http.MethodPost, path: sessionPath(sess.appName, sess.userID, sess.sessionID) + "/events", query: q, body: body}
	resp, err := s.c.do(ctx, r)
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			return err
		}
		switch {
		case ae.StatusCode == http.StatusNotFound:
			return fmt.Errorf("session not found, cannot apply event: %w", ae)
		case ae.StatusCode == http.StatusConflict && isStaleDetail(ae.Detail):
			ae.kind = ErrStaleSession
			stored := "a later time"
			if m := staleStored.FindStringSubmatch(ae.Detail); m != nil {
				if t, perr := parseSeconds(m[1]); perr == nil {
					stored = t.Format(time.RFC3339Nano)
				}
			}
			return fmt.Errorf("stale session error: last update time from request (%s) is older than on the adk-sessions server (%s); get the session again and retry: %w",
				sess.LastUpdateTime().Format(time.RFC3339Nano), stored, ae)
		}
		return err
	}
	var ans appendAnswer
	if err := decode(r, s.c.url(r), resp.body, &ans); err != nil {
		return err
	}
	stored, err := decodeEvent(ans.Event)
	if err != nil {
		return err
	}
	updated, err := parseSeconds(ans.LastUpdateTime.String())
	if err != nil {
		return err
	}
	if event.ID == "" {
		event.ID = stored.ID
	}
	if event.Timestamp.IsZero() {
		event.Timestamp = stored.Timestamp
	} else {
		event.Timestamp = toSend.Timestamp
	}
	sess.applyAppended(event, updated, ans.LastUpdateTime.String())
	return nil
}
