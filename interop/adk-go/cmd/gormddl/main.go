// Command gormddl runs adk-go v2.2.0's database session service (GORM
// AutoMigrate) on a fresh SQLite file, a fresh PostgreSQL database and a fresh
// MariaDB/MySQL database, and dumps the schema it creates and the raw rows one
// session with two events leaves behind, one file per database:
//
//	<out>/sqlite.txt, postgres.txt, mysql.txt            schema
//	<out>/rows-sqlite.txt, rows-postgres.txt, rows-mysql.txt  rows
//
// Usage:
//
//	go run ./cmd/gormddl -out /tmp/gorm-ddl \
//	    -postgres postgres://postgres@127.0.0.1:5432/test \
//	    -mysql mysql://root@127.0.0.1:3306/test
//
// The PostgreSQL and MySQL URLs name an existing database used only to CREATE and
// DROP a fresh one with a random name (gormddl_<hex>). An empty URL skips that
// database.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"google.golang.org/genai"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"google.golang.org/adk/v2/session"
	"google.golang.org/adk/v2/session/database"

	"github.com/adk-sessions/adk-sessions/interop/adk-go/internal/dbs"
)

var tables = []string{"sessions", "events", "app_states", "user_states"}

func main() {
	out := flag.String("out", "/tmp/gorm-ddl", "output directory")
	pg := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL admin URL (empty: skip)")
	my := flag.String("mysql", "mysql://root@127.0.0.1:3306/test", "MySQL/MariaDB admin URL (empty: skip)")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	failed := false
	run := func(name string, f func() (schema, rows string, err error)) {
		schema, rows, err := f()
		if err != nil {
			log.Printf("%s: %v", name, err)
			failed = true
			if schema == "" && rows == "" {
				return
			}
			rows += "\nERROR: " + err.Error() + "\n"
		}
		write(filepath.Join(*out, name+".txt"), schema)
		write(filepath.Join(*out, "rows-"+name+".txt"), rows+notes[name])
		log.Printf("%s: wrote %s.txt and rows-%s.txt", name, name, name)
	}
	run("sqlite", func() (string, string, error) { return doSQLite(*out) })
	if *pg != "" {
		run("postgres", func() (string, string, error) { return doPostgres(*pg) })
	}
	if *my != "" {
		run("mysql", func() (string, string, error) { return doMySQL(*my) })
	}
	if failed {
		os.Exit(1)
	}
}

// notes are what the dumps show that a reimplementation must get right (checked
// against adk-go v2.2.0, GORM v1.31.2, glebarez/go-sqlite v1.21.2, pgx v5.10.0,
// go-sql-driver/mysql v1.8.1 and MariaDB 10.11).
var notes = map[string]string{
	"sqlite": `
# NOTES (SQLite)
# - Every time is TEXT written by glebarez/go-sqlite as t.Format("2006-01-02 15:04:05.999999999-07:00")
#   in the time value's OWN zone (not converted): Create's create/update_time in time.Local (run with
#   TZ=Asia/Kolkata: "...03:22:54.682465705+05:30"), an event in whatever zone its Timestamp carries
#   (e2 was built in +02:00 and is stored "2026-03-04 05:06:08.5+02:00"). Trailing fractional zeros are
#   dropped; a whole second has no '.' at all. Create's times keep all 9 fractional digits; event
#   times are truncated to µs by AppendEvent; sessions.update_time becomes the event's timestamp text.
# - Reading: a DATETIME-declared TEXT column is parsed with t.String()'s format, then the formats
#   "2006-01-02 15:04:05.999999999-07:00", the same with 'T', without zone (as UTC), ... with a trailing
#   "Z" trimmed first. A value that does not parse stays a string and GORM fails to scan it into time.Time.
# - ORDER BY timestamp and the After filter (timestamp >= ?, bound as the same text format) compare
#   TEXT, not instants: with mixed offsets the order is the text order. Here e2 (03:06:08.5Z) is
#   chronologically before e1 (05:06:07.123456Z) but Get returns e1, e2 on SQLite, and e2, e1 on
#   PostgreSQL and MariaDB.
# - partial/turn_complete/interrupted: declared numeric, stored INTEGER 0/1. actions: BLOB holding
#   JSON text. JSON columns: TEXT, compact Go json.Marshal (map keys sorted). Empty ones are NULL.
# - app_states/user_states.update_time: Go's zero time, "0001-01-01 00:00:00+00:00" (never set).
# - PRAGMA foreign_keys is 0 on adk-go's connections (the DSN does not enable it): its Delete leaves
#   the session's events behind. journal_mode delete, user_version 0, no extra tables.
`,
	"postgres": `
# NOTES (PostgreSQL)
# - times: timestamptz(6); pgx sends µs (Create's ns time 21:52:44.197668835 is stored .197668:
#   truncated, not rounded). Read back in time.Local (pgx), so Get's times carry the process zone.
# - state and JSON columns: jsonb (key order and spacing are jsonb's: {"k": "v"}); actions: bytea.
# - booleans: boolean, always written (false, not NULL); branch/error_*: NULL when empty.
# - app_states/user_states.update_time: '0001-01-01 00:00:00+00' (Go's zero time).
# - Constraint names: <table>_pkey and fk_sessions_events; no other index.
`,
	"mysql": `
# NOTES (MariaDB)
# - The zero update_time of app_states/user_states is accepted by MariaDB 10.11 in its default
#   STRICT_TRANS_TABLES mode (no NO_ZERO_DATE): go-sql-driver/mysql sends Go's zero time.Time as
#   '0000-00-00 00:00:00.000000' (not 0001-01-01), and that is what is stored. With NO_ZERO_DATE in
#   sql_mode (MySQL 8's default) adk-go's first app:/user: write would fail (error 1292).
#   Read back with parseTime=true it is Go's zero time again.
# - datetime(6), no zone: go-sql-driver converts to its loc (UTC by default) before sending, so e2
#   (+02:00) is stored as 03:06:08.500000; the text always has 6 fractional digits.
# - varchar(191) keys with the database's default collation (here utf8mb4_general_ci: case- and
#   accent-insensitive, so ids "A" and "a" collide in GORM's own layout); longtext JSON; longblob
#   actions; tinyint(1) booleans; an extra index named fk_sessions_events for the foreign key.
`,
}

func write(path, text string) {
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		log.Fatal(err)
	}
}

func randName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "gormddl_" + hex.EncodeToString(b[:])
}

func gormConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
}

// migrate opens adk-go's service on the dialector and runs AutoMigrate.
func migrate(d gorm.Dialector) (session.Service, error) {
	svc, err := database.NewSessionService(d, gormConfig())
	if err != nil {
		return nil, err
	}
	if err := database.AutoMigrate(svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// populate creates one session with scoped state and appends two events
// through adk-go's service; it returns a description of what it did.
func populate(svc session.Service) (string, error) {
	ctx := context.Background()
	var log strings.Builder
	resp, err := svc.Create(ctx, &session.CreateRequest{
		AppName: "app", UserID: "user", SessionID: "s1",
		State: map[string]any{"k": "v", "app:a": 1, "user:u": 2, "temp:t": 3},
	})
	if err != nil {
		return log.String(), fmt.Errorf("create: %w", err)
	}
	sess := resp.Session
	fmt.Fprintf(&log, "# Create(s1) at local time %s; returned LastUpdateTime %s\n", time.Now().Format(time.RFC3339Nano), sess.LastUpdateTime().Format(time.RFC3339Nano))

	ev1 := session.NewEvent(ctx, "inv-1")
	ev1.ID = "e1"
	ev1.Author = "model"
	ev1.Timestamp = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
	ev1.Content = &genai.Content{Role: "model", Parts: []*genai.Part{
		{Text: "hello"},
		{FunctionCall: &genai.FunctionCall{ID: "fc1", Name: "lookup", Args: map[string]any{"q": "x"}}},
	}}
	ev1.Actions.StateDelta = map[string]any{"k2": "v2", "app:a2": true, "user:u2": []any{1, "x"}, "temp:t2": 9}
	if err := svc.AppendEvent(ctx, sess, ev1); err != nil {
		return log.String(), fmt.Errorf("append e1: %w", err)
	}
	fmt.Fprintf(&log, "# AppendEvent(e1) timestamp 2026-03-04T05:06:07.123456789Z (adk-go truncates to µs)\n")

	ev2 := session.NewEvent(ctx, "inv-1")
	ev2.ID = "e2"
	ev2.Author = "root"
	ev2.Timestamp = time.Date(2026, 3, 4, 5, 6, 8, 500000000, time.FixedZone("X", 2*3600))
	ev2.Actions.TransferToAgent = "helper"
	ev2.Branch = "root.helper"
	ev2.CustomMetadata = map[string]any{"m": "n", "num": 1.5}
	ev2.TurnComplete = true
	ev2.LongRunningToolIDs = []string{"fc1"}
	if err := svc.AppendEvent(ctx, sess, ev2); err != nil {
		return log.String(), fmt.Errorf("append e2: %w", err)
	}
	fmt.Fprintf(&log, "# AppendEvent(e2) timestamp 2026-03-04T05:06:08.5+02:00 (a zone other than UTC)\n")

	got, err := svc.Get(ctx, &session.GetRequest{AppName: "app", UserID: "user", SessionID: "s1"})
	if err != nil {
		return log.String(), fmt.Errorf("get: %w", err)
	}
	st := map[string]any{}
	for k, v := range got.Session.State().All() {
		st[k] = v
	}
	fmt.Fprintf(&log, "# Get(s1): LastUpdateTime %s, %d events, state %v\n", got.Session.LastUpdateTime().Format(time.RFC3339Nano), got.Session.Events().Len(), st)
	for e := range got.Session.Events().All() {
		fmt.Fprintf(&log, "#   event %s timestamp %s (location %s)\n", e.ID, e.Timestamp.Format(time.RFC3339Nano), e.Timestamp.Location())
	}
	return log.String(), nil
}

// dumpRows renders every row of the four tables; q returns, per column, the
// database type of the value and its text.
func dumpRows(db *sql.DB, cols func(table string) ([]string, error), sel func(table string, cols []string) string) (string, error) {
	var b strings.Builder
	for _, tb := range tables {
		cs, err := cols(tb)
		if err != nil {
			return b.String(), err
		}
		fmt.Fprintf(&b, "== %s\n", tb)
		rows, err := db.Query(sel(tb, cs))
		if err != nil {
			return b.String(), fmt.Errorf("%s: %w", tb, err)
		}
		n := 0
		for rows.Next() {
			vals := make([]sql.NullString, 2*len(cs))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return b.String(), err
			}
			n++
			fmt.Fprintf(&b, "-- row %d\n", n)
			for i, c := range cs {
				v := "NULL"
				if vals[2*i+1].Valid {
					v = fmt.Sprintf("%q", vals[2*i+1].String)
				}
				fmt.Fprintf(&b, "  %-28s %-26s %s\n", c, vals[2*i].String, v)
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return b.String(), err
		}
		rows.Close()
		fmt.Fprintf(&b, "(%d rows)\n\n", n)
	}
	return b.String(), nil
}

func doSQLite(out string) (string, string, error) {
	dir, err := os.MkdirTemp("", "gormddl")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gorm.db")
	svc, err := migrate(sqlite.Open(path))
	if err != nil {
		return "", "", err
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	var schema strings.Builder
	fmt.Fprintf(&schema, "# adk-go v2.2.0 database.AutoMigrate on a fresh SQLite file (github.com/glebarez/sqlite)\n# SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid\n\n")
	rows, err := db.Query(`SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid`)
	if err != nil {
		return "", "", err
	}
	for rows.Next() {
		var typ, name, tbl string
		var text sql.NullString
		if err := rows.Scan(&typ, &name, &tbl, &text); err != nil {
			return "", "", err
		}
		fmt.Fprintf(&schema, "type=%s name=%s tbl_name=%s\nsql=%s\n\n", typ, name, tbl, nullText(text))
	}
	rows.Close()
	var fk, jm string
	_ = db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
	_ = db.QueryRow(`PRAGMA journal_mode`).Scan(&jm)
	fmt.Fprintf(&schema, "# PRAGMA foreign_keys on a fresh connection: %s; journal_mode: %s\n", fk, jm)
	ver, _ := dbs.SQLiteUserVersion(db)
	fmt.Fprintf(&schema, "# PRAGMA user_version: %d\n", ver)

	desc, perr := populate(svc)
	var rb strings.Builder
	fmt.Fprintf(&rb, "# adk-go v2.2.0 rows on SQLite; process TZ=%q, time.Local=%s\n%s\n", os.Getenv("TZ"), time.Local, desc)
	fmt.Fprintf(&rb, "# per column: typeof(col), then CAST(col AS TEXT) (blobs shown as their text)\n\n")
	r, err := dumpRows(db, func(tb string) ([]string, error) { return dbs.SQLiteColumns(db, tb) }, func(tb string, cs []string) string {
		var parts []string
		for _, c := range cs {
			parts = append(parts, fmt.Sprintf("typeof(%q), CAST(%q AS TEXT)", c, c))
		}
		return fmt.Sprintf("SELECT %s FROM %q ORDER BY rowid", strings.Join(parts, ", "), tb)
	})
	rb.WriteString(r)
	if err == nil {
		err = perr
	}
	return schema.String(), rb.String(), err
}

func nullText(s sql.NullString) string {
	if !s.Valid {
		return "NULL"
	}
	return s.String
}

func doPostgres(admin string) (string, string, error) {
	name := randName()
	pgdb, err := dbs.CreatePostgres(admin, name)
	if err != nil {
		return "", "", err
	}
	defer func() {
		if err := dbs.DropPostgres(admin, name); err != nil {
			log.Printf("drop %s: %v", name, err)
		}
	}()
	svc, err := migrate(postgres.Open(dbs.PostgresDSN(pgdb)))
	if err != nil {
		return "", "", err
	}
	db, err := sql.Open("pgx", dbs.PostgresDSN(pgdb))
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	cat, err := dbs.PostgresCatalog(db)
	if err != nil {
		return "", "", err
	}
	schema := "# adk-go v2.2.0 database.AutoMigrate on a fresh PostgreSQL database (gorm.io/driver/postgres)\n\n" + cat.Verbose()

	desc, perr := populate(svc)
	var rb strings.Builder
	var tz string
	_ = db.QueryRow(`SHOW TimeZone`).Scan(&tz)
	fmt.Fprintf(&rb, "# adk-go v2.2.0 rows on PostgreSQL; server TimeZone %s\n%s\n", tz, desc)
	fmt.Fprintf(&rb, "# per column: pg_typeof(col), then col::text\n\n")
	r, err := dumpRows(db, func(tb string) ([]string, error) { return dbs.PostgresColumns(db, tb) }, func(tb string, cs []string) string {
		var parts []string
		for _, c := range cs {
			parts = append(parts, fmt.Sprintf("pg_typeof(%q)::text, %q::text", c, c))
		}
		return fmt.Sprintf("SELECT %s FROM %q", strings.Join(parts, ", "), tb)
	})
	rb.WriteString(r)
	if err == nil {
		err = perr
	}
	return schema, rb.String(), err
}

func doMySQL(admin string) (string, string, error) {
	name := randName()
	mydb, err := dbs.CreateMySQL(admin, name)
	if err != nil {
		return "", "", err
	}
	defer func() {
		if err := dbs.DropMySQL(admin, name); err != nil {
			log.Printf("drop %s: %v", name, err)
		}
	}()
	svc, err := migrate(mysql.Open(dbs.MySQLDSN(mydb, true)))
	if err != nil {
		return "", "", err
	}
	db, err := sql.Open("mysql", dbs.MySQLDSN(mydb, false))
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	var version, mode string
	_ = db.QueryRow(`SELECT VERSION(), @@SESSION.sql_mode`).Scan(&version, &mode)
	var schema strings.Builder
	fmt.Fprintf(&schema, "# adk-go v2.2.0 database.AutoMigrate on a fresh MySQL-protocol database (gorm.io/driver/mysql, DSN parseTime=true)\n# server %s, sql_mode %s\n\n", version, mode)
	for _, tb := range tables {
		var n, ddl string
		if err := db.QueryRow("SHOW CREATE TABLE `"+tb+"`").Scan(&n, &ddl); err != nil {
			return schema.String(), "", err
		}
		fmt.Fprintf(&schema, "%s;\n\n", ddl)
	}
	cat, err := dbs.MySQLCatalog(db)
	if err != nil {
		return schema.String(), "", err
	}
	schema.WriteString("# information_schema view (as the interop test normalizes it)\n\n" + cat.Verbose())

	desc, perr := populate(svc)
	var rb strings.Builder
	var tz string
	_ = db.QueryRow(`SELECT @@SESSION.time_zone`).Scan(&tz)
	fmt.Fprintf(&rb, "# adk-go v2.2.0 rows on %s; sql_mode %s; session time_zone %s\n# (DSN for the dump: no parseTime, so DATETIME values arrive as the server's text)\n%s\n", version, mode, tz, desc)
	fmt.Fprintf(&rb, "# per column: the column's declared type (information_schema COLUMN_TYPE), then the value as text (HEX() for blobs is not used: blobs shown as text)\n\n")
	r, err := dumpRows(db, func(tb string) ([]string, error) { return dbs.MySQLColumns(db, tb) }, func(tb string, cs []string) string {
		var parts []string
		for _, c := range cs {
			parts = append(parts, fmt.Sprintf("(SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'), CAST(`%s` AS CHAR)", tb, c, c))
		}
		return fmt.Sprintf("SELECT %s FROM `%s`", strings.Join(parts, ", "), tb)
	})
	rb.WriteString(r)
	if err == nil {
		err = perr
	}
	return schema.String(), rb.String(), err
}
