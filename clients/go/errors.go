package adksessions

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. Every error returned for an HTTP answer is an [*APIError] that
// unwraps to at most one of these, so callers test with [errors.Is]:
//
//	if errors.Is(err, adksessions.ErrStaleSession) { /* reload the session and retry */ }
var (
	// ErrNotFound: the session does not exist (404 on get or append).
	ErrNotFound = errors.New("session not found")
	// ErrAlreadyExists: Create with a session id that is already taken (409).
	ErrAlreadyExists = errors.New("session already exists")
	// ErrStaleSession: AppendEvent with a handle whose session was changed on the
	// server since the handle was read (409 on the expectedLastUpdateTime check).
	// The error text starts with "stale session error", as adk-go's database
	// service's does. Get the session again and retry.
	ErrStaleSession = errors.New("stale session error")
	// ErrConflict: any other 409, e.g. an event id already stored in the session.
	ErrConflict = errors.New("conflict")
	// ErrInvalidRequest: the server refused the request body or query (400, 413, 422).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrUnauthorized: no bearer token or an unknown one (401).
	ErrUnauthorized = errors.New("unauthorized: missing or unknown bearer token")
	// ErrForbidden: the bearer token does not name this app (403).
	ErrForbidden = errors.New("forbidden: the bearer token does not allow this app")
	// ErrUnavailable: the server answered 5xx (e.g. 503 when its database fails).
	ErrUnavailable = errors.New("server unavailable")
	// ErrUnreachable: no HTTP answer at all (connection refused, DNS, timeout).
	ErrUnreachable = errors.New("adk-sessions server unreachable")
)

// APIError is a non-2xx answer of the adk-sessions server.
type APIError struct {
	// Method and URL of the request (the URL never contains the bearer token).
	Method string
	URL    string
	// StatusCode is the HTTP status.
	StatusCode int
	// Detail is the server's "detail": the message for refusals, or the JSON text
	// of FastAPI's validation list for 422s; the raw body when it is not JSON.
	Detail string

	kind error
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("adksessions: %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the sentinel error matching the status (ErrNotFound, ErrStaleSession, …),
// or nil.
func (e *APIError) Unwrap() error { return e.kind }

// newAPIError builds the error for a non-2xx answer; op-specific 409 meanings are
// refined by the caller.
func newAPIError(method, url string, status int, body []byte) *APIError {
	e := &APIError{Method: method, URL: url, StatusCode: status, Detail: detailOf(body)}
	switch {
	case status == http.StatusNotFound:
		e.kind = ErrNotFound
	case status == http.StatusConflict:
		e.kind = ErrConflict
	case status == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
	case status == http.StatusForbidden:
		e.kind = ErrForbidden
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity ||
		status == http.StatusRequestEntityTooLarge:
		e.kind = ErrInvalidRequest
	case status >= 500:
		e.kind = ErrUnavailable
	}
	return e
}

// detailOf extracts FastAPI's {"detail": …} from an error body.
func detailOf(body []byte) string {
	var v struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(body, &v); err != nil || len(v.Detail) == 0 {
		s := strings.TrimSpace(string(body))
		if len(s) > 512 {
			s = s[:512] + "…"
		}
		return s
	}
	var s string
	if err := json.Unmarshal(v.Detail, &s); err == nil {
		return s
	}
	return string(v.Detail)
}
