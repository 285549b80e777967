# Sourced by tools/demo and test/bench/run: start a throwaway cluster with
# the library preloaded, owned by an unprivileged user, removed on exit.
#   cluster_start [extra postgresql.conf lines]
# sets PGHOST, PGPORT, PGDATABASE=postgres and $cluster_dir, and wraps
# psql/pgbench so they run as the cluster's owner ($as ...).

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
pg_bindir=$("$PG_CONFIG" --bindir)

# Run a command as the unprivileged owner of the cluster.
as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- env PATH="$pg_bindir:$PATH" PGHOST="$PGHOST" \
			PGPORT="$PGPORT" PGDATABASE="${PGDATABASE:-postgres}" "$@"
	else
		env PATH="$pg_bindir:$PATH" "$@"
	fi
}

cluster_stop() {
	[ -n "${cluster_dir:-}" ] || return 0
	as "$pg_bindir/pg_ctl" -D "$cluster_dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$cluster_dir"
}

cluster_start() {
	cluster_dir=$(mktemp -d /tmp/staging-cluster.XXXXXX)
	[ "$(id -u)" = 0 ] && chown postgres: "$cluster_dir"
	export PGHOST=$cluster_dir PGPORT=${PGPORT:-54329} PGDATABASE=postgres
	trap cluster_stop EXIT
	as "$pg_bindir/initdb" -D "$cluster_dir/data" -A trust -U postgres >"$cluster_dir/initdb.log" 2>&1 ||
		{ cat "$cluster_dir/initdb.log"; return 1; }
	{
		echo "shared_preload_libraries = 'staging'"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$cluster_dir'"
		echo "port = $PGPORT"
		for line in "$@"; do echo "$line"; done
	} >>"$cluster_dir/data/postgresql.conf"
	as "$pg_bindir/pg_ctl" -D "$cluster_dir/data" -l "$cluster_dir/server.log" -w start >/dev/null ||
		{ cat "$cluster_dir/server.log"; return 1; }
	export PGUSER=postgres
}
