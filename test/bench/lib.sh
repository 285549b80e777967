# Sourced by the benchmark scripts (run, cpu_per_query, instructions):
# what they share about a benchmark directory (see the header of run).

# The database a script runs in: bench_plain (without the extension) when
# its first line is "-- database: plain", else bench.
database_of() {
	if head -n 1 "$1" | grep -q '^-- database: plain'; then echo bench_plain; else echo bench; fi
}

# A benchmark's scripts, one per line: baseline.pgbench first.
bench_scripts() {
	local s
	echo "$1/baseline.pgbench"
	for s in "$1"/*.pgbench; do [ "$s" = "$1/baseline.pgbench" ] || echo "$s"; done
}

# The SQL of a script on one line, without pgbench's meta-commands,
# comments and the final semicolon.
script_query() {
	grep -v '^\\\|^--' "$1" | tr '\n' ' ' | sed 's/;[[:space:]]*$//'
}
