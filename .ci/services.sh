#!/usr/bin/env bash
# PostgreSQL and MariaDB for the tests, on a machine that may have neither: installed from
# Debian's packages when missing, configured for the tests (PostgreSQL on 127.0.0.1:5432,
# trust for `postgres`; MariaDB on 127.0.0.1:3306, `root` without a password; a database
# `test` on each), and started. Idempotent: run it at the start of every session too.
set -euo pipefail

log() { printf '\n==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -x /usr/sbin/mariadbd ]; then
  log "installing postgresql and mariadb-server from Debian's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql mariadb-server >/dev/null
fi

# PostgreSQL: the first installed version's `main` cluster, trust for postgres on loopback.
pg_version="$(ls /etc/postgresql | sort -V | head -n1)"
if [ -z "$pg_version" ]; then
  echo "no PostgreSQL cluster under /etc/postgresql" >&2
  exit 1
fi
hba="/etc/postgresql/$pg_version/main/pg_hba.conf"
if ! as_root grep -q '^# adk-sessions tests' "$hba"; then
  log "PostgreSQL $pg_version: trust for postgres on 127.0.0.1 and ::1"
  as_root sh -c "{ printf '%s\n' '# adk-sessions tests' \
    'host all postgres 127.0.0.1/32 trust' 'host all postgres ::1/128 trust'; cat '$hba'; } > '$hba.new' \
    && mv '$hba.new' '$hba' && chown postgres:postgres '$hba'"
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  fi
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
fi

# MariaDB: run as the mysql user on 127.0.0.1:3306 (also when started with a bare
# `start-stop-daemon --exec /usr/sbin/mariadbd`, as the restart test does).
cnf=/etc/mysql/mariadb.conf.d/99-adk-sessions-tests.cnf
if [ ! -f "$cnf" ]; then
  as_root sh -c "printf '%s\n' '[mysqld]' 'user = mysql' 'port = 3306' 'bind-address = 127.0.0.1' \
    'max_connections = 500' > '$cnf'"
fi
as_root install -d -o mysql -g mysql /run/mysqld
if ! mysqladmin -h127.0.0.1 -uroot --connect-timeout=2 ping >/dev/null 2>&1 \
  && ! as_root mysqladmin --connect-timeout=2 ping >/dev/null 2>&1; then
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi

for _ in $(seq 60); do
  if pg_isready -q -h 127.0.0.1 -p 5432 && as_root mysqladmin --connect-timeout=2 ping >/dev/null 2>&1; then
    break
  fi
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432 >/dev/null
as_root mysqladmin ping >/dev/null

# root without a password over TCP, by mysql_native_password alone: with `unix_socket OR
# mysql_native_password` the server asks the client to switch plugins, and sqlx then
# sends a scramble of the empty password, which the server refuses.
as_root mysql -uroot -e "
  ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
  CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
  GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
  FLUSH PRIVILEGES;"
mysql -h127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4'
if [ "$(psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE test'
fi
log "PostgreSQL $pg_version and MariaDB $(mysql -h127.0.0.1 -uroot -N -e 'SELECT VERSION()') are up"
