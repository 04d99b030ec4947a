#!/usr/bin/env bash
# PostgreSQL and MariaDB for the tests, on a machine that may have neither: installed from
# Debian's packages when missing, configured for the tests (PostgreSQL on 127.0.0.1:5432,
# trust for `postgres`; MariaDB on 127.0.0.1:3306, `root` without a password; a database
# `test` on each), and started. Both also serve TLS with a certificate of a CA made here
# (/etc/adk-sessions-tests/tls/ca.pem), and each has a user `adk_tls` that may connect only
# over TLS, for the database TLS tests. Idempotent: run it at the start of every session too.
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

# A CA of our own and a server certificate it signs, for 127.0.0.1 and localhost: the
# database servers present it, and the TLS tests verify it (verify-full / VERIFY_IDENTITY).
tls_dir=/etc/adk-sessions-tests/tls
if [ ! -f "$tls_dir/server.pem" ]; then
  log "a test CA and a server certificate for 127.0.0.1 in $tls_dir"
  as_root sh -c "set -e; mkdir -p '$tls_dir'; cd '$tls_dir'
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj '/CN=adk-sessions test CA' -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj '/CN=localhost' -keyout server.key -out server.csr 2>/dev/null
    printf '%s\n' 'subjectAltName = IP:127.0.0.1, DNS:localhost' 'basicConstraints = CA:FALSE' \
      'keyUsage = digitalSignature' 'extendedKeyUsage = serverAuth' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.pem 2>/dev/null
    chmod 644 ca.pem server.pem; chmod 600 ca.key server.key"
fi

# PostgreSQL: the first installed version's `main` cluster, trust for postgres on loopback.
pg_version="$(ls /etc/postgresql | sort -V | head -n1)"
if [ -z "$pg_version" ]; then
  echo "no PostgreSQL cluster under /etc/postgresql" >&2
  exit 1
fi
hba="/etc/postgresql/$pg_version/main/pg_hba.conf"
# hba_prepend MARKER LINE...: puts the lines (after the marker comment) at the top of
# pg_hba.conf, where they match first, once; reloads a running server.
hba_prepend() {
  local marker="$1"
  shift
  as_root grep -q "^# $marker\$" "$hba" && return 0
  log "PostgreSQL $pg_version: $marker: $*"
  local lines
  lines="$(printf '%s\n' "# $marker" "$@")"
  as_root sh -c "{ printf '%s\n' \"\$1\"; cat '$hba'; } > '$hba.new' && mv '$hba.new' '$hba' \
    && chown postgres:postgres '$hba'" sh "$lines"
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  fi
}
hba_prepend 'adk-sessions tests' 'host all postgres 127.0.0.1/32 trust' 'host all postgres ::1/128 trust'
# adk_tls: only over TLS (hostssl), refused otherwise, so a test that connects as it
# proves the connection is encrypted.
hba_prepend 'adk-sessions TLS tests' \
  'hostssl all adk_tls 127.0.0.1/32 trust' 'hostnossl all adk_tls 127.0.0.1/32 reject'
pg_tls="/etc/postgresql/$pg_version/main/adk-tls"
if [ ! -f "$pg_tls/server.pem" ]; then
  as_root install -d -o postgres -g postgres -m 700 "$pg_tls"
  as_root install -o postgres -g postgres -m 644 "$tls_dir/server.pem" "$pg_tls/server.pem"
  as_root install -o postgres -g postgres -m 600 "$tls_dir/server.key" "$pg_tls/server.key"
fi
pg_conf="/etc/postgresql/$pg_version/main/conf.d/adk-sessions-tls.conf"
if [ ! -f "$pg_conf" ]; then
  as_root sh -c "printf '%s\n' 'ssl = on' \"ssl_cert_file = '$pg_tls/server.pem'\" \
    \"ssl_key_file = '$pg_tls/server.key'\" > '$pg_conf'"
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  fi
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
fi

# MariaDB: run as the mysql user on 127.0.0.1:3306 (also when started with a bare
# `start-stop-daemon --exec /usr/sbin/mariadbd`, as the restart test does).
# TLS with the test CA's server certificate (MariaDB reads it only at start: a running
# server without it is restarted below).
my_tls=/etc/mysql/adk-tls
if [ ! -f "$my_tls/server.pem" ]; then
  as_root install -d -o mysql -g mysql -m 700 "$my_tls"
  as_root install -o mysql -g mysql -m 644 "$tls_dir/server.pem" "$my_tls/server.pem"
  as_root install -o mysql -g mysql -m 644 "$tls_dir/ca.pem" "$my_tls/ca.pem"
  as_root install -o mysql -g mysql -m 600 "$tls_dir/server.key" "$my_tls/server.key"
fi
cnf=/etc/mysql/mariadb.conf.d/99-adk-sessions-tests.cnf
if ! as_root grep -q '^ssl_cert' "$cnf" 2>/dev/null; then
  as_root sh -c "printf '%s\n' '[mysqld]' 'user = mysql' 'port = 3306' 'bind-address = 127.0.0.1' \
    'max_connections = 500' 'ssl_cert = $my_tls/server.pem' 'ssl_key = $my_tls/server.key' \
    'ssl_ca = $my_tls/ca.pem' > '$cnf'"
fi
as_root install -d -o mysql -g mysql /run/mysqld
if as_root mysqladmin --connect-timeout=2 ping >/dev/null 2>&1 \
  && [ "$(as_root mysql -N -e 'SELECT @@have_ssl')" != YES ]; then
  log "MariaDB: restarting to serve TLS"
  as_root mysqladmin shutdown
  for _ in $(seq 30); do
    as_root mysqladmin --connect-timeout=1 ping >/dev/null 2>&1 || break
    sleep 1
  done
fi
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
mysql -h127.0.0.1 -uroot -e "
  CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4;
  CREATE USER IF NOT EXISTS 'adk_tls'@'127.0.0.1' IDENTIFIED BY '' REQUIRE SSL;
  GRANT ALL PRIVILEGES ON *.* TO 'adk_tls'@'127.0.0.1';"
if [ "$(psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'adk_tls'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -qc 'CREATE ROLE adk_tls LOGIN CREATEDB'
fi
if [ "$(psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE test'
fi
[ "$(psql -h 127.0.0.1 -U postgres -tAc 'SHOW ssl')" = on ] || { echo "PostgreSQL does not serve TLS" >&2; exit 1; }
[ "$(mysql -h127.0.0.1 -uroot -N -e 'SELECT @@have_ssl')" = YES ] || { echo "MariaDB does not serve TLS" >&2; exit 1; }
log "PostgreSQL $pg_version and MariaDB $(mysql -h127.0.0.1 -uroot -N -e 'SELECT VERSION()') are up, with TLS"
