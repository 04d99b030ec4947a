package interop_test

import (
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
// nothing: no DDL statement is run and the catalog is unchanged.
func TestSchema(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		gormDB := freshDB(t, kind)
		gormDB.adkGo(t, true)
		want := gormDB.catalog(t)
		if len(want.Items) == 0 {
			t.Fatal("AutoMigrate created nothing")
		}

		oursDB := freshDB(t, kind)
		srv := startServer(t, oursDB.url, "--schema", "adk-go")
		got := oursDB.catalog(t)
		if d := dbs.Diff(want, got); d != "" {
			t.Errorf("the catalog our server creates differs from GORM's AutoMigrate:\n%s\n\nGORM's:\n%s\nours:\n%s", d, want.Verbose(), got.Verbose())
		}

		// AutoMigrate on our database, with the server still running.
		rec := &sqlRecorder{}
		oursDB.adkGoWith(t, true, &gorm.Config{Logger: rec})
		if ddl := rec.ddl(); len(ddl) > 0 {
			t.Errorf("AutoMigrate on the database our server created ran %d schema-changing statement(s):\n%s", len(ddl), strings.Join(ddl, "\n"))
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
