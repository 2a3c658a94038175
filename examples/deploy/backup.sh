#!/usr/bin/env bash
# Consistent backup of a hub's data/ while it runs: SQLite's online backup, not a file copy
# (a copy of a WAL database in use can be torn). Usage: backup.sh /srv/hub /backups
set -euo pipefail
hub="${1:?hub folder}"
target="${2:?backup folder}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$target/$stamp"
for db in "$hub"/data/*.db; do
    [ -e "$db" ] || continue
    sqlite3 "$db" ".backup '$target/$stamp/$(basename "$db")'"
done
cp -a "$hub/switchboard.toml" "$hub/scripts" "$target/$stamp/"
[ -d "$hub/lib" ] && cp -a "$hub/lib" "$target/$stamp/"
echo "backed up $hub to $target/$stamp"
