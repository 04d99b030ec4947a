package adksessions

import (
	"iter"
	"maps"
	"strings"
	"sync"
	"time"

	"google.golang.org/adk/v2/session"
)

// remoteSession is the session.Session handle returned by Create, Get and List: a
// snapshot of the server's session plus what AppendEvent applied to it since. Like
// adk-go's own handles, State().Set changes only the handle; state reaches the
// server through events' StateDelta.
type remoteSession struct {
	appName   string
	userID    string
	sessionID string

	// appendMu serializes AppendEvent calls on this handle, so that one runner
	// appending from several goroutines does not conflict with itself.
	appendMu sync.Mutex

	mu        sync.RWMutex // guards the fields below
	events    []*session.Event
	state     map[string]any
	updatedAt time.Time
	// revision is the server's lastUpdateTime exactly as it wrote it, sent back
	// verbatim as expectedLastUpdateTime so that no float rounding can make a
	// fresh handle look stale.
	revision string
}

func (s *remoteSession) ID() string      { return s.sessionID }
func (s *remoteSession) AppName() string { return s.appName }
func (s *remoteSession) UserID() string  { return s.userID }

func (s *remoteSession) State() session.State {
	return &state{mu: &s.mu, owner: s}
}

func (s *remoteSession) Events() session.Events {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return events(s.events[:len(s.events):len(s.events)])
}

func (s *remoteSession) LastUpdateTime() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.updatedAt
}

func (s *remoteSession) currentRevision() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revision
}

// applyAppended records a stored event on the handle the way adk-go's services
// do: the whole StateDelta (temp: keys included) goes into the handle's state,
// the event without its temp: keys into its events; the update time is the
// server's.
func (s *remoteSession) applyAppended(event *session.Event, updatedAt time.Time, revision string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if event.Actions.StateDelta != nil {
		if s.state == nil {
			s.state = make(map[string]any)
		}
		maps.Copy(s.state, event.Actions.StateDelta)
	}
	s.events = append(s.events, trimTempDeltaState(event))
	s.updatedAt = updatedAt
	s.revision = revision
}

// trimTempDeltaState returns the event without temp: state keys (a copy when
// there are some), as adk-go's services store it.
func trimTempDeltaState(event *session.Event) *session.Event {
	if len(event.Actions.StateDelta) == 0 {
		return event
	}
	filtered := make(map[string]any, len(event.Actions.StateDelta))
	for k, v := range event.Actions.StateDelta {
		if !strings.HasPrefix(k, session.KeyPrefixTemp) {
			filtered[k] = v
		}
	}
	if len(filtered) == len(event.Actions.StateDelta) {
		return event
	}
	cp := *event
	cp.Actions.StateDelta = filtered
	return &cp
}

type events []*session.Event

func (e events) All() iter.Seq[*session.Event] {
	return func(yield func(*session.Event) bool) {
		for _, ev := range e {
			if !yield(ev) {
				return
			}
		}
	}
}

func (e events) Len() int { return len(e) }

func (e events) At(i int) *session.Event {
	if i >= 0 && i < len(e) {
		return e[i]
	}
	return nil
}

type state struct {
	mu    *sync.RWMutex
	owner *remoteSession
}

func (s *state) Get(key string) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.owner.state[key]
	if !ok {
		return nil, session.ErrStateKeyNotExist
	}
	return v, nil
}

func (s *state) Set(key string, value any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner.state == nil {
		s.owner.state = make(map[string]any)
	}
	s.owner.state[key] = value
	return nil
}

func (s *state) All() iter.Seq2[string, any] {
	s.mu.RLock()
	cp := maps.Clone(s.owner.state)
	s.mu.RUnlock()
	return func(yield func(string, any) bool) {
		for k, v := range cp {
			if !yield(k, v) {
				return
			}
		}
	}
}

var (
	_ session.Session = (*remoteSession)(nil)
	_ session.State   = (*state)(nil)
	_ session.Events  = events(nil)
)
