package adksessions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/adk/v2/session"
)

// Event JSON between adk-go and the server.
//
// adk-go's session.Event already marshals with adk-python's camelCase keys
// (content, actions.stateDelta, longRunningToolIds, customMetadata, …) and its
// UnmarshalJSON reads adk-python's numeric timestamps, so the conversion only
// fixes what differs on the wire:
//
//   - timestamp: adk-go writes RFC 3339, the server wants float epoch seconds.
//     Sent as exact microseconds ("1733040000.123456"); a zero timestamp is not
//     sent and the server stamps the event (adk-python's default); an empty id
//     likewise gets the server's UUID.
//   - bytes (inline data, thought signatures, function-response blobs, grounding
//     sdkBlob): the server writes URL-safe base64 as adk-python does, Go's
//     []byte decoding wants the standard alphabet; converted on the way in.
//   - empty actions maps: the server always writes stateDelta, artifactDelta,
//     requestedToolConfirmations (and requestedAuthConfigs, which adk-go has no
//     field for) as {} — the wire cannot tell nil from empty, so an empty map
//     decodes to nil, as adk-go's Vertex AI service does.
//   - nodeInfo {"path": ""} that the server adds to every event decodes to nil
//     (adk-go's own UnmarshalJSON rule).

// encodeEvent is the request body for POST …/events: the event without temp:
// state keys, microsecond timestamp, camelCase.
func encodeEvent(ev *session.Event) ([]byte, error) {
	cp := *ev
	if len(cp.Actions.StateDelta) > 0 {
		trimmed := make(map[string]any, len(cp.Actions.StateDelta))
		for k, v := range cp.Actions.StateDelta {
			if !strings.HasPrefix(k, session.KeyPrefixTemp) {
				trimmed[k] = v
			}
		}
		cp.Actions.StateDelta = trimmed
	}
	b, err := json.Marshal(&cp)
	if err != nil {
		return nil, fmt.Errorf("adksessions: encoding event %q: %w", ev.ID, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("adksessions: encoding event %q: %w", ev.ID, err)
	}
	if ev.Timestamp.IsZero() {
		delete(m, "timestamp")
	} else {
		ts, err := secondsText(ev.Timestamp, false)
		if err != nil {
			return nil, fmt.Errorf("adksessions: event %q: %w", ev.ID, err)
		}
		m["timestamp"] = json.RawMessage(ts)
	}
	if ev.ID == "" {
		delete(m, "id")
	}
	return json.Marshal(m)
}

// decodeEvent reads one event as the server writes it.
func decodeEvent(raw json.RawMessage) (*session.Event, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("adksessions: decoding event: %w", err)
	}
	changed := false
	for _, key := range []string{"content", "groundingMetadata"} {
		v, ok := m[key]
		if !ok || !bytes.ContainsAny(v, "-_") {
			continue // nothing URL-safe to convert
		}
		fixed, did, err := fixBase64(key, v)
		if err != nil {
			return nil, fmt.Errorf("adksessions: decoding event %s: %w", key, err)
		}
		if did {
			m[key] = fixed
			changed = true
		}
	}
	if changed {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("adksessions: decoding event: %w", err)
		}
		raw = b
	}
	ev := new(session.Event)
	if err := json.Unmarshal(raw, ev); err != nil {
		return nil, fmt.Errorf("adksessions: decoding event: %w", err)
	}
	if len(ev.Actions.StateDelta) == 0 {
		ev.Actions.StateDelta = nil
	}
	if len(ev.Actions.ArtifactDelta) == 0 {
		ev.Actions.ArtifactDelta = nil
	}
	if len(ev.Actions.RequestedToolConfirmations) == 0 {
		ev.Actions.RequestedToolConfirmations = nil
	}
	if len(ev.CustomMetadata) == 0 {
		ev.CustomMetadata = nil
	}
	if len(ev.LongRunningToolIDs) == 0 {
		ev.LongRunningToolIDs = nil
	}
	return ev, nil
}

// fixBase64 rewrites the bytes fields under content or groundingMetadata from
// URL-safe to standard base64.
func fixBase64(key string, raw json.RawMessage) (json.RawMessage, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // leave function args etc. exactly as written
	var v map[string]any
	if err := dec.Decode(&v); err != nil || v == nil {
		return raw, false, nil // not an object: let the typed decode report it
	}
	changed := false
	fix := func(obj map[string]any, field string) {
		if obj == nil {
			return
		}
		if s, ok := obj[field].(string); ok {
			if t := stdBase64(s); t != s {
				obj[field] = t
				changed = true
			}
		}
	}
	asObj := func(x any) map[string]any { o, _ := x.(map[string]any); return o }
	switch key {
	case "content":
		parts, _ := v["parts"].([]any)
		for _, p := range parts {
			part := asObj(p)
			if part == nil {
				continue
			}
			fix(part, "thoughtSignature")
			fix(asObj(part["inlineData"]), "data")
			if fr := asObj(part["functionResponse"]); fr != nil {
				frParts, _ := fr["parts"].([]any)
				for _, fp := range frParts {
					fix(asObj(asObj(fp)["inlineData"]), "data")
				}
			}
		}
	case "groundingMetadata":
		fix(asObj(v["searchEntryPoint"]), "sdkBlob")
	}
	if !changed {
		return raw, false, nil
	}
	b, err := json.Marshal(v)
	return b, true, err
}

// stdBase64 converts URL-safe (possibly unpadded) base64 to the padded standard
// alphabet encoding/json expects for []byte.
func stdBase64(s string) string {
	if !strings.ContainsAny(s, "-_") && len(s)%4 == 0 {
		return s
	}
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	if r := len(s) % 4; r != 0 {
		s += strings.Repeat("=", 4-r)
	}
	return s
}

// maxServerSeconds is the largest epoch-seconds value the server accepts.
const maxServerSeconds = 9e9

// secondsText writes t as exact decimal epoch seconds with microseconds; ceil
// rounds a sub-microsecond remainder up (for an inclusive "at or after" bound).
func secondsText(t time.Time, ceil bool) (string, error) {
	us := t.UnixMicro()
	if ceil && t.Nanosecond()%1000 != 0 {
		us++
	}
	if us < 0 || float64(us)/1e6 > maxServerSeconds {
		return "", fmt.Errorf("time %s is outside the server's range (1970 to epoch second 9e9)", t.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000), nil
}

// parseSeconds reads the server's float epoch seconds (e.g. 1795668411.01151)
// to the microsecond, exactly when the text is plain decimal.
func parseSeconds(text string) (time.Time, error) {
	whole, frac, _ := strings.Cut(text, ".")
	if sec, err := strconv.ParseInt(whole, 10, 64); err == nil && !strings.ContainsAny(frac, "eE+-") && len(frac) <= 9 {
		digits := frac + strings.Repeat("0", 9-len(frac))
		ns, err := strconv.ParseInt(digits, 10, 64)
		if err == nil && sec >= 0 {
			us := int64(math.Round(float64(ns) / 1e3))
			return time.UnixMicro(sec*1_000_000 + us).UTC(), nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("adksessions: bad lastUpdateTime %q", text)
	}
	return time.UnixMicro(int64(math.Round(f * 1e6))).UTC(), nil
}
