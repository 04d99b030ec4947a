// Package dbs creates and drops scratch PostgreSQL and MySQL/MariaDB databases,
// turns the server's database URLs into Go driver DSNs, and reads a database's
// catalog (tables, columns, keys, indexes) in a form two databases can be
// compared by.
package dbs

import (
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	_ "github.com/glebarez/go-sqlite"  // "sqlite" for database/sql
	_ "github.com/go-sql-driver/mysql" // "mysql" for database/sql
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" for database/sql
)

// validName is what CreatePostgres/CreateMySQL accept as a database name (it is
// spliced into CREATE DATABASE).
var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// withPath returns the URL with its path (the database name) replaced.
func withPath(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// CreatePostgres creates database name next to the admin URL's database and
// returns the postgres:// URL of the new database.
func CreatePostgres(admin, name string) (string, error) {
	if !validName.MatchString(name) {
		return "", fmt.Errorf("bad database name %q", name)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return "", fmt.Errorf("CREATE DATABASE %s: %w", name, err)
	}
	return withPath(admin, name)
}

// DropPostgres drops database name (closing its connections).
func DropPostgres(admin, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("bad database name %q", name)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	return err
}

// PostgresDSN is the DSN pgx (and gorm.io/driver/postgres) accept for a
// postgres:// URL: the URL itself.
func PostgresDSN(u string) string { return u }

// MySQLDSN turns mysql://user[:pass]@host:port/db[?params] into
// go-sql-driver/mysql's user:pass@tcp(host:port)/db?params, with parseTime.
func MySQLDSN(raw string, parseTime bool) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	var b strings.Builder
	if u.User != nil {
		b.WriteString(u.User.Username())
		if p, ok := u.User.Password(); ok {
			b.WriteString(":" + p)
		}
		b.WriteString("@")
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	fmt.Fprintf(&b, "tcp(%s)%s", host, u.Path)
	q := u.Query()
	q.Del("schema") // the server's own parameter
	if parseTime {
		q.Set("parseTime", "true")
	}
	if enc := q.Encode(); enc != "" {
		b.WriteString("?" + enc)
	}
	return b.String()
}

// CreateMySQL creates database name on the admin URL's server and returns the
// mysql:// URL of the new database.
func CreateMySQL(admin, name string) (string, error) {
	if !validName.MatchString(name) {
		return "", fmt.Errorf("bad database name %q", name)
	}
	db, err := sql.Open("mysql", MySQLDSN(admin, false))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		return "", fmt.Errorf("CREATE DATABASE %s: %w", name, err)
	}
	return withPath(admin, name)
}

// DropMySQL drops database name.
func DropMySQL(admin, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("bad database name %q", name)
	}
	db, err := sql.Open("mysql", MySQLDSN(admin, false))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("DROP DATABASE IF EXISTS `" + name + "`")
	return err
}

// SQLitePath is the file path of a sqlite:// URL.
func SQLitePath(u string) string {
	p := strings.TrimPrefix(u, "sqlite://")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

func queryStrings(db *sql.DB, q string, args ...any) ([]string, error) {
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

// SQLiteColumns lists a table's columns in order.
func SQLiteColumns(db *sql.DB, table string) ([]string, error) {
	return queryStrings(db, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
}

// SQLiteUserVersion reads PRAGMA user_version.
func SQLiteUserVersion(db *sql.DB) (int, error) {
	var v int
	err := db.QueryRow(`PRAGMA user_version`).Scan(&v)
	return v, err
}

// PostgresColumns lists a public table's columns in order.
func PostgresColumns(db *sql.DB, table string) ([]string, error) {
	return queryStrings(db, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, table)
}

// MySQLColumns lists a table's columns in order.
func MySQLColumns(db *sql.DB, table string) ([]string, error) {
	return queryStrings(db, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", table)
}
