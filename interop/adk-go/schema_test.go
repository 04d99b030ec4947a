package interop_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/adk-sessions/adk-sessions/interop/adk-go/internal/dbs"
)

// TestSchema: a database our server creates with --schema adk-go has the same
// catalog as one adk-go's database.AutoMigrate creates (SQLite: sqlite_master's
// SQL text verbatim; PostgreSQL and MariaDB: tables, columns with their types,
// nullability and defaults, constraints with names, primary keys and the
// ON DELETE CASCADE foreign key, indexes), and AutoMigrate on it then changes
// nothing: it runs no DDL statement beyond those it runs again on its own
// tables (on PostgreSQL GORM v1.31.2 re-issues ALTER COLUMN ... TYPE
// timestamptz(6) for every time column on every run), and the catalog is
// unchanged.
func TestSchema(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		gormDB := freshDB(t, kind)
		gormDB.adkGo(t, true)
		want := gormDB.catalog(t)
		if len(want.Items) == 0 {
			t.Fatal("AutoMigrate created nothing")
		}
		// What AutoMigrate runs again on its own tables: the baseline for ours.
		base := &sqlRecorder{}
		gormDB.adkGoWith(t, true, &gorm.Config{Logger: base})
		baseline := map[string]bool{}
		for _, s := range base.ddl() {
			baseline[s] = true
		}
		if len(baseline) > 0 {
			t.Logf("note: AutoMigrate run again on GORM's own %s tables runs %d schema statement(s) anyway:\n%s", kind, len(baseline), strings.Join(base.ddl(), "\n"))
		}
		if d := dbs.Diff(want, gormDB.catalog(t)); d != "" {
			t.Logf("note: AutoMigrate run again on GORM's own %s tables changes its catalog:\n%s", kind, d)
		}

		oursDB := freshDB(t, kind)
		srv := startServer(t, oursDB.url, "--schema", "adk-go")
		got := oursDB.catalog(t)
		var wrong, deliberate []string
		collations := map[string]int{}
		for _, d := range dbs.Differences(want, got) {
			if why := deliberateDeviation(kind, d, got); why == "a binary collation" {
				collations[collationRe.FindString(d.Want.Def)+" -> "+collationRe.FindString(d.Got.Def)]++
			} else if why != "" {
				deliberate = append(deliberate, d.String()+"\n          ("+why+")")
			} else {
				wrong = append(wrong, d.String())
			}
		}
		for c, n := range collations {
			deliberate = append(deliberate, fmt.Sprintf("%d tables and text columns: %s (a binary collation)", n, c))
		}
		if len(deliberate) > 0 {
			t.Logf("note: our server's %s catalog differs from GORM's where it means to:\n%s", kind, strings.Join(deliberate, "\n"))
		}
		if len(wrong) > 0 {
			t.Errorf("the catalog our server creates differs from GORM's AutoMigrate:\n%s\n\nGORM's:\n%s\nours:\n%s", strings.Join(wrong, "\n"), want.Verbose(), got.Verbose())
		}

		// AutoMigrate on our database, with the server still running.
		rec := &sqlRecorder{}
		oursDB.adkGoWith(t, true, &gorm.Config{Logger: rec})
		var extra []string
		for _, s := range rec.ddl() {
			if !baseline[s] {
				extra = append(extra, s)
			}
		}
		if len(extra) > 0 {
			t.Errorf("AutoMigrate on the database our server created ran %d schema-changing statement(s) it does not run on its own tables:\n%s", len(extra), strings.Join(extra, "\n"))
		}
		after := oursDB.catalog(t)
		if d := dbs.Diff(got, after); d != "" {
			t.Errorf("AutoMigrate changed the catalog our server created:\n%s", d)
		}

		// The server still serves the database after AutoMigrate.
		svc := ours(t, srv)
		create(t, svc, "after-migrate", map[string]any{"k": "v"})
		get(t, svc, "after-migrate")
	})
}

var collationRe = regexp.MustCompile(`collation=\S+`)

// deliberateDeviation says why a difference between GORM's catalog and ours
// is one our server makes on purpose and that adk-go cannot notice, or "" when
// it is not one:
//   - extra non-unique indexes (our list and event-read indexes);
//   - MariaDB/MySQL: InnoDB's implicit index for the foreign key, which it does
//     not create when one of our indexes starts with the key's columns;
//   - MariaDB/MySQL: a binary utf8mb4 collation instead of the database's
//     default (ids compared byte for byte, as on SQLite and PostgreSQL).
//
// Everything else (tables, columns, types, nullability, defaults, keys,
// constraints, unique indexes) must be GORM's.
func deliberateDeviation(kind string, d dbs.Difference, got *dbs.Catalog) string {
	switch d.Kind {
	case "extra":
		it := d.Got
		def := strings.ToUpper(it.Def)
		if (it.Kind == "index" && !strings.Contains(def, "UNIQUE")) ||
			(it.Kind == "sqlite_master" && strings.HasPrefix(it.Name, "index ") && strings.HasPrefix(def, "CREATE INDEX ")) {
			return "an extra non-unique index"
		}
	case "missing":
		it := d.Want
		if kind == "mysql" && it.Kind == "index" && it.Name == "fk_sessions_events" {
			cols := it.Def[strings.Index(it.Def, "(")+1 : len(it.Def)-1]
			for _, o := range got.Items {
				if o.Kind == "index" && o.Table == it.Table && strings.Contains(o.Def, "("+cols) {
					return "InnoDB uses " + o.Name + " for the foreign key instead of creating its own index"
				}
			}
		}
	case "changed":
		if kind == "mysql" && (d.Want.Kind == "column" || d.Want.Kind == "table") &&
			collationRe.ReplaceAllString(d.Want.Def, "") == collationRe.ReplaceAllString(d.Got.Def, "") {
			if c := collationRe.FindString(d.Got.Def); strings.HasPrefix(c, "collation=utf8mb4") && strings.HasSuffix(c, "_bin") {
				return "a binary collation"
			}
		}
	}
	return ""
}
