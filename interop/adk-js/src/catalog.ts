/**
 * The SQL-level catalog of the five schema-v1 tables, as flat facts (`key -> value`), and the
 * difference between two of them. This is what the schema tests record about adk-js's
 * startup schema update: column types and nullability, primary keys, foreign keys with their
 * ON DELETE rule, indexes (with DESC columns), and on MariaDB collations and CHECKs.
 */
import type {BackendName, Sql} from './support.js';

export const TABLES = ['adk_internal_metadata', 'app_states', 'events', 'sessions', 'user_states'];

/** `key -> value`, e.g. `column events.timestamp -> "datetime(6) NOT NULL"`. */
export type Catalog = Record<string, string>;

export interface Change {
  key: string;
  /** Absent: the fact is new. */
  before?: string;
  /** Absent: the fact is gone. */
  after?: string;
}

export function diff(before: Catalog, after: Catalog): Change[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: Change[] = [];
  for (const key of keys) {
    if (before[key] !== after[key]) {
      const c: Change = {key};
      if (key in before) c.before = before[key];
      if (key in after) c.after = after[key];
      out.push(c);
    }
  }
  return out;
}

export function describeChange(c: Change): string {
  if (c.before === undefined) return `+ ${c.key}: ${c.after}`;
  if (c.after === undefined) return `- ${c.key}: ${c.before}`;
  return `~ ${c.key}: ${c.before}  ->  ${c.after}`;
}

export async function catalog(backend: BackendName, sql: Sql): Promise<Catalog> {
  if (backend === 'sqlite') return sqliteCatalog(sql);
  if (backend === 'postgres') return postgresCatalog(sql);
  return mariadbCatalog(sql);
}

async function sqliteCatalog(sql: Sql): Promise<Catalog> {
  const out: Catalog = {};
  for (const t of TABLES) {
    const cols = await sql.query<{name: string; type: string; notnull: number; pk: number}>(
      `PRAGMA table_info("${t}")`,
    );
    if (cols.length === 0) continue;
    out[`table ${t}`] = 'present';
    for (const c of cols) {
      out[`column ${t}.${c.name}`] = `${c.type.toLowerCase()}${c.notnull ? ' NOT NULL' : ''}`;
    }
    const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    out[`primary key ${t}`] = `(${pk.map((c) => c.name).join(', ')})`;
    const fks = await sql.query<{id: number; seq: number; table: string; from: string; to: string; on_delete: string}>(
      `PRAGMA foreign_key_list("${t}")`,
    );
    const byId = new Map<number, typeof fks>();
    for (const f of fks) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
    for (const parts of byId.values()) {
      parts.sort((a, b) => a.seq - b.seq);
      const key = `foreign key ${t}(${parts.map((p) => p.from).join(', ')}) -> ${parts[0].table}(${parts.map((p) => p.to).join(', ')})`;
      out[key] = `ON DELETE ${parts[0].on_delete}`;
    }
    const idx = await sql.query<{name: string; unique: number; origin: string}>(`PRAGMA index_list("${t}")`);
    for (const i of idx) {
      if (i.origin === 'pk') continue;
      const info = await sql.query<{seqno: number; name: string | null; desc: number; key: number}>(
        `PRAGMA index_xinfo("${i.name}")`,
      );
      const colsText = info
        .filter((c) => c.key)
        .sort((a, b) => a.seqno - b.seqno)
        .map((c) => `${c.name}${c.desc ? ' DESC' : ''}`)
        .join(', ');
      out[`index ${t}.${i.name}`] = `${i.unique ? 'UNIQUE ' : ''}(${colsText})`;
    }
  }
  return out;
}

async function postgresCatalog(sql: Sql): Promise<Catalog> {
  const out: Catalog = {};
  const cols = await sql.query<{t: string; c: string; type: string; notnull: boolean}>(
    `SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS notnull
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
        AND c.relname = ANY(?)
      ORDER BY c.relname, a.attnum`,
    [TABLES],
  );
  for (const c of cols) {
    out[`table ${c.t}`] = 'present';
    out[`column ${c.t}.${c.c}`] = `${c.type}${c.notnull ? ' NOT NULL' : ''}`;
  }
  const cons = await sql.query<{t: string; name: string; type: string; def: string}>(
    `SELECT c.relname AS t, k.conname AS name, k.contype AS type, pg_get_constraintdef(k.oid) AS def
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname = ANY(?)`,
    [TABLES],
  );
  for (const k of cons) {
    if (k.type === 'p') {
      out[`primary key ${k.t}`] = `${k.def.replace(/^PRIMARY KEY /, '')} [${k.name}]`;
    } else if (k.type === 'f') {
      const m = /^FOREIGN KEY \((.*?)\) REFERENCES (\S+?)\((.*?)\)(.*)$/.exec(k.def);
      if (m) {
        const rule = /ON DELETE (CASCADE|SET NULL|SET DEFAULT|RESTRICT)/.exec(m[4])?.[0] ?? 'ON DELETE NO ACTION';
        out[`foreign key ${k.t}(${m[1]}) -> ${m[2]}(${m[3]})`] = `${rule} [${k.name}]`;
      } else {
        out[`foreign key ${k.t} ${k.name}`] = k.def;
      }
    } else {
      out[`constraint ${k.t}.${k.name}`] = k.def;
    }
  }
  const idx = await sql.query<{t: string; name: string; def: string}>(
    `SELECT i.tablename AS t, i.indexname AS name, i.indexdef AS def
       FROM pg_indexes i
      WHERE i.schemaname = 'public' AND i.tablename = ANY(?)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname AND k.contype = 'p')`,
    [TABLES],
  );
  for (const i of idx) {
    const cols = /USING \w+ \((.*)\)/.exec(i.def)?.[1] ?? i.def;
    out[`index ${i.t}.${i.name}`] = `${/UNIQUE/.test(i.def) ? 'UNIQUE ' : ''}(${cols})`;
  }
  return out;
}

async function mariadbCatalog(sql: Sql): Promise<Catalog> {
  const out: Catalog = {};
  const tables = await sql.query<{t: string; collation: string}>(
    `SELECT TABLE_NAME AS t, TABLE_COLLATION AS collation FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)`,
    [TABLES],
  );
  for (const t of tables) {
    out[`table ${t.t}`] = `present, default collation ${t.collation}`;
  }
  const cols = await sql.query<{t: string; c: string; type: string; nullable: string; collation: string | null}>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
            COLLATION_NAME AS collation
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)
      ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [TABLES],
  );
  for (const c of cols) {
    out[`column ${c.t}.${c.c}`] =
      `${c.type}${c.nullable === 'NO' ? ' NOT NULL' : ''}${c.collation ? ` COLLATE ${c.collation}` : ''}`;
  }
  const stats = await sql.query<{t: string; name: string; seq: number; c: string; coll: string | null; nonUnique: number}>(
    `SELECT TABLE_NAME AS t, INDEX_NAME AS name, SEQ_IN_INDEX AS seq, COLUMN_NAME AS c,
            COLLATION AS coll, NON_UNIQUE AS nonUnique
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)
      ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [TABLES],
  );
  const groups = new Map<string, typeof stats>();
  for (const s of stats) groups.set(`${s.t}.${s.name}`, [...(groups.get(`${s.t}.${s.name}`) ?? []), s]);
  for (const [key, parts] of groups) {
    const colsText = parts.map((p) => `${p.c}${p.coll === 'D' ? ' DESC' : ''}`).join(', ');
    if (parts[0].name === 'PRIMARY') {
      out[`primary key ${parts[0].t}`] = `(${colsText})`;
    } else {
      out[`index ${key}`] = `${Number(parts[0].nonUnique) ? '' : 'UNIQUE '}(${colsText})`;
    }
  }
  const fks = await sql.query<{t: string; name: string; ref: string; rule: string}>(
    `SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS name, REFERENCED_TABLE_NAME AS ref, DELETE_RULE AS rule
       FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME IN (?)`,
    [TABLES],
  );
  for (const f of fks) {
    const kc = await sql.query<{c: string; rc: string}>(
      `SELECT COLUMN_NAME AS c, REFERENCED_COLUMN_NAME AS rc FROM information_schema.KEY_COLUMN_USAGE
        WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?
        ORDER BY ORDINAL_POSITION`,
      [f.t, f.name],
    );
    out[`foreign key ${f.t}(${kc.map((k) => k.c).join(', ')}) -> ${f.ref}(${kc.map((k) => k.rc).join(', ')})`] =
      `ON DELETE ${f.rule} [${f.name}]`;
  }
  const checks = await sql.query<{t: string; name: string; clause: string}>(
    `SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause
       FROM information_schema.CHECK_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME IN (?)`,
    [TABLES],
  );
  for (const c of checks) out[`check ${c.t}.${c.name}`] = c.clause;
  return out;
}

/** The facts of `cat` about foreign keys from `events` to `sessions`. */
export function eventForeignKeys(cat: Catalog): string[] {
  return Object.entries(cat)
    .filter(([k]) => k.startsWith('foreign key events(') && k.includes('-> sessions('))
    .map(([k, v]) => `${k} ${v}`);
}

/** The declared types of the time columns. */
export function timeColumns(cat: Catalog): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of ['sessions.create_time', 'sessions.update_time', 'events.timestamp', 'app_states.update_time', 'user_states.update_time']) {
    out[c] = cat[`column ${c}`];
  }
  return out;
}
