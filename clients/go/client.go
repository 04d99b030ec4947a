package adksessions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults of the options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultRetries      = 2
	DefaultRetryBackoff = 100 * time.Millisecond
	DefaultListPageSize = 100
	maxRetryBackoff     = 5 * time.Second
)

// TokenEnv is the environment variable read for the bearer token when no
// [WithToken] option is given.
const TokenEnv = "ADK_SESSIONS_TOKEN"

// Option configures [NewService].
type Option func(*config)

type config struct {
	token        string
	tokenSet     bool
	timeout      time.Duration
	httpClient   *http.Client
	retries      int
	retryBackoff time.Duration
	pageSize     int
	startupCheck bool
}

// WithToken sets the bearer token sent as "Authorization: Bearer <token>" (for a
// server started with --auth-tokens). Without this option the token is read from
// the ADK_SESSIONS_TOKEN environment variable; WithToken("") sends no token even
// when the variable is set.
func WithToken(token string) Option {
	return func(c *config) { c.token, c.tokenSet = token, true }
}

// WithTimeout bounds each HTTP attempt (default 30s; 0 = no bound beyond the
// caller's context). It applies to a custom [WithHTTPClient] client too, through
// the request context, without modifying that client.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithHTTPClient uses this client (its transport, proxy, TLS, …) instead of the
// service's own pooled client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithRetries retries idempotent reads (Get, List — never Create, Delete or
// AppendEvent) up to n more times when the server cannot be reached or answers
// 429, 502, 503 or 504, waiting backoff, then twice that, … (capped at 5s, with
// jitter) between attempts. Default: 2 retries, 100ms. WithRetries(0, 0) disables
// retries.
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *config) { c.retries, c.retryBackoff = max(n, 0), max(backoff, 0) }
}

// WithListPageSize sets the page size List asks for (it always follows
// x-next-page-token to the last page). Default 100.
func WithListPageSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.pageSize = n
		}
	}
}

// WithoutStartupCheck makes NewService skip its GET /readyz probe, so that it
// succeeds while the server is still down (the first call then fails instead).
func WithoutStartupCheck() Option {
	return func(c *config) { c.startupCheck = false }
}

// client is the HTTP side of the service.
type client struct {
	base  string // scheme://host[:port][/prefix], no trailing slash
	token string
	cfg   config
	hc    *http.Client
}

// parseBaseURL validates the server URL: http or https, a host, no query or fragment.
func parseBaseURL(raw string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("adksessions: invalid base URL %q: %s (want e.g. http://127.0.0.1:8000)", raw, why)
	}
	if strings.TrimSpace(raw) == "" {
		return "", bad("empty")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", bad(err.Error())
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", bad("the scheme must be http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", bad("no host")
	}
	if u.User != nil {
		return "", bad("credentials in the URL are not supported; use WithToken")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", bad("a query or fragment is not allowed")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func newClient(baseURL string, opts []Option) (*client, error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	cfg := config{
		timeout:      DefaultTimeout,
		retries:      DefaultRetries,
		retryBackoff: DefaultRetryBackoff,
		pageSize:     DefaultListPageSize,
		startupCheck: true,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.timeout < 0 {
		return nil, fmt.Errorf("adksessions: negative timeout %v", cfg.timeout)
	}
	token := cfg.token
	if !cfg.tokenSet {
		token = strings.TrimSpace(os.Getenv(TokenEnv))
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, errors.New("adksessions: the bearer token contains a line break")
	}
	hc := cfg.httpClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: tr}
	}
	return &client{base: base, token: token, cfg: cfg, hc: hc}, nil
}

// request is one API call.
type request struct {
	method string
	path   string // already escaped, starting with '/'
	query  url.Values
	body   []byte // JSON, nil for none
}

// response is a 2xx answer.
type response struct {
	header http.Header
	body   []byte
}

func (c *client) url(r *request) string {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	return u
}

// do sends the request, retrying GETs as configured. Non-2xx answers are *APIError.
func (c *client) do(ctx context.Context, r *request) (*response, error) {
	attempts := 1
	if r.method == http.MethodGet {
		attempts += c.cfg.retries
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if err := sleep(ctx, c.backoff(i)); err != nil {
				return nil, lastErr
			}
		}
		resp, err, retryable := c.once(ctx, r)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil { // the caller gave up: say so rather than "unreachable"
			return nil, fmt.Errorf("adksessions: %s %s: %w", r.method, c.url(r), context.Cause(ctx))
		}
		lastErr = err
		if !retryable {
			break
		}
	}
	return nil, lastErr
}

func (c *client) backoff(attempt int) time.Duration {
	d := c.cfg.retryBackoff
	for j := 1; j < attempt && d < maxRetryBackoff; j++ {
		d *= 2
	}
	d = min(d, maxRetryBackoff)
	if d > 0 {
		// ±20% jitter so that many clients do not retry in lockstep.
		d += time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// once sends one attempt; retryable tells whether a GET may try again.
func (c *client) once(ctx context.Context, r *request) (_ *response, _ error, retryable bool) {
	if c.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.timeout)
		defer cancel()
	}
	u := c.url(r)
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("adksessions: %s %s: %w", r.method, u, err), false
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(r.method, u, err), true
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, c.transportError(r.method, u, err), true
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusBadGateway ||
			resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout
		return nil, newAPIError(r.method, u, resp.StatusCode, data), retry
	}
	return &response{header: resp.Header, body: data}, nil, false
}

// transportError names the server URL, so that "server down" is obvious.
func (c *client) transportError(method, u string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is in our own message already
	}
	hint := ""
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		hint = " (is `adk-sessions serve` running there?)"
	case errors.Is(err, context.DeadlineExceeded) && c.cfg.timeout > 0:
		hint = fmt.Sprintf(" (no answer within %v; see WithTimeout)", c.cfg.timeout)
	}
	return fmt.Errorf("adksessions: %s %s: %w at %s%s: %w", method, u, ErrUnreachable, c.base, hint, err)
}

// decode unmarshals a 2xx body.
func decode(r *request, u string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("adksessions: %s %s: unexpected answer (%w): %.200s", r.method, u, err, body)
	}
	return nil
}

// ping checks GET /readyz: the server answers and its database is up.
func (c *client) ping(ctx context.Context) error {
	r := &request{method: http.MethodGet, path: "/readyz"}
	_, err := c.do(ctx, r) // retried like any GET: the server may be starting
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.StatusCode == http.StatusNotFound {
			return fmt.Errorf("adksessions: %s does not look like an adk-sessions server (GET /readyz answered 404): %w", c.base, err)
		}
		return fmt.Errorf("adksessions: the adk-sessions server at %s is not ready: %w", c.base, err)
	}
	return err
}
