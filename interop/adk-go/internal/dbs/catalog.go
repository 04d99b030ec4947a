package dbs

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// Item is one fact of a catalog: a table, a column (Name carries its ordinal
// position, so column order is compared too), a constraint, an index or a
// sqlite_master row. Def is everything compared about it.
type Item struct {
	Kind  string // "table", "column", "constraint", "index", "sqlite_master"
	Table string
	Name  string
	Def   string
}

func (i Item) key() string { return i.Kind + " " + i.Table + " " + i.Name }

func (i Item) String() string {
	return fmt.Sprintf("%-13s %-12s %-34s %s", i.Kind, i.Table, i.Name, i.Def)
}

// Catalog is the schema of one database as the comparison sees it.
type Catalog struct {
	Items []Item
}

func (c *Catalog) add(kind, table, name, def string) {
	c.Items = append(c.Items, Item{kind, table, name, def})
}

func (c *Catalog) sort() {
	rank := map[string]int{"sqlite_master": 0, "table": 1, "column": 2, "constraint": 3, "index": 4}
	sort.SliceStable(c.Items, func(a, b int) bool {
		x, y := c.Items[a], c.Items[b]
		if x.Table != y.Table {
			return x.Table < y.Table
		}
		if rank[x.Kind] != rank[y.Kind] {
			return rank[x.Kind] < rank[y.Kind]
		}
		return x.Name < y.Name
	})
}

// Verbose renders the catalog one item a line, grouped by table.
func (c *Catalog) Verbose() string {
	var b strings.Builder
	last := "\x00"
	for _, it := range c.Items {
		if it.Table != last {
			if last != "\x00" {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "== %s\n", it.Table)
			last = it.Table
		}
		fmt.Fprintf(&b, "  %-13s %-34s %s\n", it.Kind, it.Name, it.Def)
	}
	return b.String()
}

// Difference is one item that is missing from, extra in, or changed in the
// second catalog.
type Difference struct {
	Kind      string // "missing", "extra", "changed"
	Want, Got Item
}

func (d Difference) String() string {
	switch d.Kind {
	case "missing":
		return "missing:  " + d.Want.String()
	case "extra":
		return "extra:    " + d.Got.String()
	}
	return "want:     " + d.Want.String() + "\ngot:      " + d.Got.String()
}

// Differences lists what differs between want and got.
func Differences(want, got *Catalog) []Difference {
	w := map[string]Item{}
	for _, it := range want.Items {
		w[it.key()] = it
	}
	g := map[string]Item{}
	for _, it := range got.Items {
		g[it.key()] = it
	}
	var out []Difference
	for _, it := range want.Items {
		o, ok := g[it.key()]
		switch {
		case !ok:
			out = append(out, Difference{Kind: "missing", Want: it})
		case o.Def != it.Def:
			out = append(out, Difference{Kind: "changed", Want: it, Got: o})
		}
	}
	for _, it := range got.Items {
		if _, ok := w[it.key()]; !ok {
			out = append(out, Difference{Kind: "extra", Got: it})
		}
	}
	return out
}

// Diff lists what differs between want and got ("" when they are equal).
func Diff(want, got *Catalog) string {
	var lines []string
	for _, d := range Differences(want, got) {
		lines = append(lines, d.String())
	}
	return strings.Join(lines, "\n")
}

func scanRows(rows *sql.Rows, err error, n int, f func(v []sql.NullString)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v := make([]sql.NullString, n)
		p := make([]any, n)
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			return err
		}
		f(v)
	}
	return rows.Err()
}

func ns(s sql.NullString) string {
	if !s.Valid {
		return "<null>"
	}
	return s.String
}

// SQLiteCatalog is every sqlite_master row, compared by its SQL text verbatim.
func SQLiteCatalog(db *sql.DB) (*Catalog, error) {
	c := &Catalog{}
	rows, err := db.Query(`SELECT type, name, tbl_name, sql FROM sqlite_master`)
	err = scanRows(rows, err, 4, func(v []sql.NullString) {
		c.add("sqlite_master", v[2].String, v[0].String+" "+v[1].String, ns(v[3]))
	})
	c.sort()
	return c, err
}

// PostgresCatalog reads the public schema: tables, columns (name, data_type,
// udt_name, datetime_precision, character_maximum_length, is_nullable,
// column_default, collation), constraints (pg_get_constraintdef) and indexes
// (pg_indexes.indexdef).
func PostgresCatalog(db *sql.DB) (*Catalog, error) {
	c := &Catalog{}
	rows, err := db.Query(`SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public'`)
	if err := scanRows(rows, err, 2, func(v []sql.NullString) {
		c.add("table", v[0].String, "", v[1].String)
	}); err != nil {
		return nil, err
	}
	rows, err = db.Query(`SELECT table_name, ordinal_position::text, column_name, data_type, udt_name,
		datetime_precision::text, character_maximum_length::text, is_nullable, column_default, collation_name
		FROM information_schema.columns WHERE table_schema = 'public'`)
	if err := scanRows(rows, err, 10, func(v []sql.NullString) {
		c.add("column", v[0].String, fmt.Sprintf("%02s %s", v[1].String, v[2].String),
			fmt.Sprintf("data_type=%s udt_name=%s datetime_precision=%s char_max_len=%s is_nullable=%s default=%s collation=%s",
				v[3].String, v[4].String, ns(v[5]), ns(v[6]), v[7].String, ns(v[8]), ns(v[9])))
	}); err != nil {
		return nil, err
	}
	rows, err = db.Query(`SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid)
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace`)
	if err := scanRows(rows, err, 4, func(v []sql.NullString) {
		c.add("constraint", strings.Trim(v[0].String, `"`), v[1].String, v[2].String+": "+v[3].String)
	}); err != nil {
		return nil, err
	}
	rows, err = db.Query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'`)
	if err := scanRows(rows, err, 3, func(v []sql.NullString) {
		c.add("index", v[0].String, v[1].String, v[2].String)
	}); err != nil {
		return nil, err
	}
	c.sort()
	return c, nil
}

// MySQLCatalog reads the current database from information_schema: tables
// (type, engine, collation), columns (COLUMN_TYPE, nullability, default,
// collation, extra), constraints with their columns, references and rules
// (and CHECK clauses where the server has them), and indexes.
func MySQLCatalog(db *sql.DB) (*Catalog, error) {
	c := &Catalog{}
	rows, err := db.Query(`SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`)
	if err := scanRows(rows, err, 4, func(v []sql.NullString) {
		c.add("table", v[0].String, "", fmt.Sprintf("%s engine=%s collation=%s", v[1].String, ns(v[2]), ns(v[3])))
	}); err != nil {
		return nil, err
	}
	rows, err = db.Query(`SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLLATION_NAME, EXTRA
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()`)
	if err := scanRows(rows, err, 8, func(v []sql.NullString) {
		c.add("column", v[0].String, fmt.Sprintf("%02s %s", v[1].String, v[2].String),
			fmt.Sprintf("type=%s is_nullable=%s default=%s collation=%s extra=%q", v[3].String, v[4].String, ns(v[5]), ns(v[6]), v[7].String))
	}); err != nil {
		return nil, err
	}
	// Constraints: PRIMARY KEY / UNIQUE / FOREIGN KEY with their columns.
	type con struct {
		table, typ        string
		cols, refs        []string
		refTable, delRule string
		updRule           string
	}
	cons := map[string]*con{}
	rows, err = db.Query(`SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()`)
	if err := scanRows(rows, err, 3, func(v []sql.NullString) {
		cons[v[0].String+"\x00"+v[1].String] = &con{table: v[0].String, typ: v[2].String}
	}); err != nil {
		return nil, err
	}
	rows, err = db.Query(`SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
		FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`)
	if err := scanRows(rows, err, 5, func(v []sql.NullString) {
		k := cons[v[0].String+"\x00"+v[1].String]
		if k == nil {
			k = &con{table: v[0].String, typ: "?"}
			cons[v[0].String+"\x00"+v[1].String] = k
		}
		k.cols = append(k.cols, v[2].String)
		if v[3].Valid {
			k.refTable = v[3].String
			k.refs = append(k.refs, v[4].String)
		}
	}); err != nil {
		return nil, err
	}
	rows, err = db.Query(`SELECT TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()`)
	if err := scanRows(rows, err, 4, func(v []sql.NullString) {
		if k := cons[v[0].String+"\x00"+v[1].String]; k != nil {
			k.updRule, k.delRule = v[2].String, v[3].String
		}
	}); err != nil {
		return nil, err
	}
	checks := map[string]string{}
	rows, err = db.Query(`SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()`)
	if err == nil {
		if err := scanRows(rows, err, 3, func(v []sql.NullString) {
			checks[v[0].String+"\x00"+v[1].String] = v[2].String
		}); err != nil {
			return nil, err
		}
	}
	for key, k := range cons {
		name := key[strings.IndexByte(key, 0)+1:]
		def := fmt.Sprintf("%s (%s)", k.typ, strings.Join(k.cols, ", "))
		if k.refTable != "" {
			def += fmt.Sprintf(" REFERENCES %s (%s) ON UPDATE %s ON DELETE %s", k.refTable, strings.Join(k.refs, ", "), k.updRule, k.delRule)
		}
		if ch, ok := checks[key]; ok {
			def += " CHECK " + ch
		}
		c.add("constraint", k.table, name, def)
	}
	// Indexes.
	type idx struct {
		table, typ string
		unique     bool
		cols       []string
	}
	idxs := map[string]*idx{}
	var order []string
	rows, err = db.Query(`SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`)
	if err := scanRows(rows, err, 6, func(v []sql.NullString) {
		key := v[0].String + "\x00" + v[1].String
		k := idxs[key]
		if k == nil {
			k = &idx{table: v[0].String, typ: v[5].String, unique: v[2].String == "0"}
			idxs[key] = k
			order = append(order, key)
		}
		col := v[3].String
		if v[4].Valid {
			col += "(" + v[4].String + ")"
		}
		k.cols = append(k.cols, col)
	}); err != nil {
		return nil, err
	}
	for _, key := range order {
		k := idxs[key]
		u := ""
		if k.unique {
			u = "UNIQUE "
		}
		c.add("index", k.table, key[strings.IndexByte(key, 0)+1:], fmt.Sprintf("%s%s (%s)", u, k.typ, strings.Join(k.cols, ", ")))
	}
	c.sort()
	return c, nil
}
