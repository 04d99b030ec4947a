package interop_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"
)

// TestRawRows: the rows our server writes are the rows adk-go writes for the
// same session and events (written in UTC: the wire carries no zone), column by
// column. JSON columns are compared as JSON values with null/{}/[] members
// dropped (an empty map is written as {} or left out, both read back alike);
// booleans, strings and NULLs exactly; times as instants, and on SQLite also as
// text — adk-go's ORDER BY timestamp and its After filter compare that text, so
// our event times must be written in GORM's exact format, and session times in
// its shape ("2006-01-02 15:04:05.999999999-07:00"). Differences that adk-go
// cannot notice (SQLite storage class of a column, JSON spacing and key order)
// are logged.
func TestRawRows(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		d, goSvc, _, ourSvc := setup(t, kind, false)
		evs := richEvents("raw", time.Now().Add(time.Second))
		for _, e := range evs {
			e.Timestamp = e.Timestamp.UTC()
		}
		const twinApp = "twin_app"
		h := create(t, ourSvc, "raw", initialState())
		appendAll(t, ourSvc, h, evs)
		tr, err := goSvc.Create(ctx, &session.CreateRequest{AppName: twinApp, UserID: userID, SessionID: "raw", State: initialState()})
		if err != nil {
			t.Fatalf("adk-go Create: %v", err)
		}
		appendAll(t, goSvc, tr.Session, evs)

		type spec struct {
			table, where string
			keyCols      []string
		}
		for _, sp := range []spec{
			{"sessions", "app_name = ?", nil},
			{"events", "app_name = ? ORDER BY id", []string{"id"}},
			{"app_states", "app_name = ?", nil},
			{"user_states", "app_name = ?", nil},
		} {
			ours := d.rawRows(t, sp.table, sp.where, appName)
			want := d.rawRows(t, sp.table, sp.where, twinApp)
			if len(ours) != len(want) {
				t.Errorf("%s: our server wrote %d rows, adk-go %d", sp.table, len(ours), len(want))
				continue
			}
			for i := range want {
				rowName := sp.table
				if len(sp.keyCols) > 0 {
					rowName += " " + want[i]["id"].text
				}
				for col, w := range want[i] {
					if col == "app_name" {
						continue
					}
					compareCell(t, kind, rowName, col, w, ours[i][col])
				}
			}
		}
	})
}

// cell is one value as read: its text (NULL: !valid) and, on SQLite, typeof().
type cell struct {
	valid   bool
	text    string
	typ     string
	isTime  bool
	instant time.Time
}

var jsonCols = map[string]bool{
	"state": true, "actions": true, "long_running_tool_ids_json": true, "routes_json": true,
	"output_json": true, "node_info_json": true, "requested_input_json": true, "content": true,
	"grounding_metadata": true, "custom_metadata": true, "usage_metadata": true, "citation_metadata": true,
}

var timeCols = map[string]bool{"create_time": true, "update_time": true, "timestamp": true}

// rawRows reads every column of the table's rows matching where (one ? for the
// app name), as text; times also as instants.
func (d *testDB) rawRows(t *testing.T, table, where string, app string) []map[string]cell {
	t.Helper()
	var cols []string
	var err error
	switch d.kind {
	case "sqlite":
		cols, err = sqliteCols(d.raw, table)
	case "postgres":
		cols, err = queryCol(d.raw, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, table)
	case "mysql":
		cols, err = queryCol(d.raw, `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, table)
	}
	if err != nil || len(cols) == 0 {
		t.Fatalf("columns of %s: %v %v", table, cols, err)
	}
	var sel []string
	for _, c := range cols {
		qc := quoteIdent(d.kind, c)
		switch d.kind {
		case "sqlite":
			sel = append(sel, fmt.Sprintf("typeof(%s), CAST(%s AS TEXT)", qc, qc))
		case "postgres":
			if timeCols[c] {
				sel = append(sel, fmt.Sprintf("'', to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", qc))
			} else if c == "actions" {
				sel = append(sel, fmt.Sprintf("'', convert_from(%s, 'UTF8')", qc))
			} else {
				sel = append(sel, fmt.Sprintf("'', %s::text", qc))
			}
		case "mysql":
			sel = append(sel, fmt.Sprintf("'', CAST(%s AS CHAR)", qc))
		}
	}
	query := fmt.Sprintf("SELECT %s FROM %s WHERE %s", strings.Join(sel, ", "), quoteIdent(d.kind, table), where)
	rows, err := d.raw.Query(d.q(query), app)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []map[string]cell
	for rows.Next() {
		vals := make([]sql.NullString, 2*len(cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		row := map[string]cell{}
		for i, c := range cols {
			v := vals[2*i+1]
			ce := cell{valid: v.Valid, text: v.String, typ: vals[2*i].String}
			if timeCols[c] && v.Valid {
				ce.isTime = true
				ce.instant, err = parseDBTime(d.kind, v.String)
				if err != nil {
					t.Errorf("%s.%s: %q is not a time adk-go can read: %v", table, c, v.String, err)
				}
			}
			row[c] = ce
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func quoteIdent(kind, s string) string {
	if kind == "mysql" {
		return "`" + s + "`"
	}
	return `"` + s + `"`
}

func sqliteCols(db *sql.DB, table string) ([]string, error) {
	return queryCol(db, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
}

func queryCol(db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// gormSQLiteTime is the shape of the time text glebarez/go-sqlite writes
// ("2006-01-02 15:04:05.999999999-07:00": no trailing fractional zeros).
var gormSQLiteTime = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d*[1-9])?[+-]\d\d:\d\d$`)

func parseDBTime(kind, s string) (time.Time, error) {
	switch kind {
	case "sqlite":
		// What glebarez/go-sqlite accepts, in its order (after trimming a "Z").
		ts := strings.TrimSuffix(s, "Z")
		var err error
		for _, f := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
			var tm time.Time
			if tm, err = time.ParseInLocation(f, ts, time.UTC); err == nil {
				return tm, nil
			}
		}
		return time.Time{}, err
	case "postgres":
		return time.Parse("2006-01-02T15:04:05.999999Z", s)
	default:
		if strings.HasPrefix(s, "0000-00-00 00:00:00") {
			return time.Time{}, nil // go-sql-driver/mysql's zero time.Time (parseTime=true reads it back as zero)
		}
		return time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	}
}

// normJSON parses JSON and drops null, {} and [] members of objects.
func normJSON(s string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return dropEmpty(v), nil
}

func dropEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			e = dropEmpty(e)
			switch y := e.(type) {
			case nil:
				continue
			case map[string]any:
				if len(y) == 0 {
					continue
				}
			case []any:
				if len(y) == 0 {
					continue
				}
			}
			out[k] = e
		}
		return out
	case []any:
		for i := range x {
			x[i] = dropEmpty(x[i])
		}
	}
	return v
}

func compareCell(t *testing.T, kind, row, col string, want, got cell) {
	t.Helper()
	where := row + "." + col
	if kind == "sqlite" && want.typ != got.typ {
		t.Logf("note: %s: SQLite storage class %s, adk-go writes %s", where, got.typ, want.typ)
	}
	if want.valid != got.valid {
		if col == "update_time" && (strings.HasPrefix(row, "app_states") || strings.HasPrefix(row, "user_states")) {
			// adk-go never sets it (Go's zero time); whether NULL reads back is for the Get tests to show.
			t.Logf("note: %s: adk-go writes %s, our server %s", where, show(want), show(got))
			return
		}
		// An empty JSON value may be written as NULL or left out: adk-go reads both as empty.
		if jsonCols[col] && col != "state" && col != "actions" {
			nv, _ := normJSON(want.text + got.text)
			if m, ok := nv.(map[string]any); ok && len(m) == 0 {
				t.Logf("note: %s: adk-go writes %s, ours %s (both read as empty)", where, show(want), show(got))
				return
			}
		}
		t.Errorf("%s: adk-go writes %s, our server %s", where, show(want), show(got))
		return
	}
	if !want.valid {
		return
	}
	switch {
	case jsonCols[col]:
		w, err1 := normJSON(want.text)
		g, err2 := normJSON(got.text)
		if err2 != nil {
			t.Errorf("%s: our server wrote %q, not JSON: %v", where, got.text, err2)
			return
		}
		if err1 != nil || !reflect.DeepEqual(w, g) {
			t.Errorf("%s: JSON differs:\n  adk-go: %s\n  ours:   %s", where, want.text, got.text)
		} else if want.text != got.text {
			t.Logf("note: %s: same JSON value, other text:\n  adk-go: %s\n  ours:   %s", where, want.text, got.text)
		}
	case want.isTime:
		if kind == "sqlite" && !gormSQLiteTime.MatchString(got.text) {
			t.Errorf("%s: our server wrote %q; GORM writes times as %q (e.g. %q), and adk-go compares them as text", where, got.text, "2006-01-02 15:04:05.999999999-07:00", want.text)
		}
		if col == "timestamp" {
			if !want.instant.Equal(got.instant) {
				t.Errorf("%s: adk-go writes %s, our server %s", where, want.text, got.text)
			} else if kind == "sqlite" && want.text != got.text {
				t.Errorf("%s: same instant, other text (adk-go orders and filters by this text): adk-go %q, ours %q", where, want.text, got.text)
			}
		}
	default:
		if want.text != got.text {
			t.Errorf("%s: adk-go writes %s, our server %s", where, show(want), show(got))
		}
	}
}

func show(c cell) string {
	if !c.valid {
		return "NULL"
	}
	if c.typ != "" {
		return fmt.Sprintf("%s %q", c.typ, c.text)
	}
	return fmt.Sprintf("%q", c.text)
}
