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

# The report of a benchmark measured by steps (a bench.sh): for each step
# named, its median time per side and the versioned/plain time ratio
# (min/median/max of the rounds' ratios), then every round's ratio (for a
# noisy machine, in the order run).  Reads the caller's associative array
# times ("plain.STEP" and "versioned.STEP": the rounds' ms, in order) and
# run's stats.
report_steps() {
	local step p v pm vm ratios i
	printf '  %-20s %12s %12s   %s\n' step "plain ms" "versioned ms" "time ratio min / median / max"
	for step in "$@"; do
		p=(${times[plain.$step]}) v=(${times[versioned.$step]})
		pm=$(tr ' ' '\n' <<<"${p[*]}" | stats | cut -d' ' -f2)
		vm=$(tr ' ' '\n' <<<"${v[*]}" | stats | cut -d' ' -f2)
		ratios=$(for i in "${!p[@]}"; do awk -v a="${v[$i]}" -v b="${p[$i]}" 'BEGIN {print a / b}'; done | stats)
		printf '  %-20s %12.1f %12.1f   %s\n' "$step" "$pm" "$vm" "$ratios"
	done
	for step in "$@"; do
		p=(${times[plain.$step]}) v=(${times[versioned.$step]})
		printf '  %-20s rounds:' "$step"
		for i in "${!p[@]}"; do awk -v a="${v[$i]}" -v b="${p[$i]}" 'BEGIN {printf " %.2f", a / b}'; done
		echo
	done
}
