# Sourced by test/bench/run (a benchmark measured by steps, not by pgbench):
# a full catalog import beside production, as the README's staging schemas
# describe it: an empty copy of the live schema, the import loaded into
# it, a comparison of the row counts, the swap.  The versioned side
# (bench) runs staging.clone_schema, compare_schemas and swap_schemas on a
# versioned catalog (enable_versioning + add_attribute_table in setup);
# the plain side (bench_plain) does the same by hand on plain tables
# (CREATE TABLE ... (LIKE ... INCLUDING ALL) and the foreign key, counts,
# three ALTER SCHEMA ... RENAME in one transaction).  Both live catalogs
# are loaded once, untimed; each round imports a full replacement and
# swaps it in (the previous copy, now the backup, is dropped untimed), the
# two sides taking turns (plain first on odd rounds).  Prints each step's
# time per side (median of the rounds), the versioned/plain time ratio
# (min/median/max of the rounds' ratios) and the same for the total, and
# checks the versioned live catalog with staging.verify after each round.
#   N       products per import (default 1000000; 10 attribute rows each)
#   ROUNDS  rounds (default 3)
N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
steps=(clone insert_products insert_attributes compare swap)
echo "== $name: $N products x 10 attribute rows, $ROUNDS rounds (plain vs versioned, alternating)"
cp "$dir/live.sql" "$dir/steps.sql" "$cluster_dir/"
chmod a+r "$cluster_dir"/*.sql

# The live catalogs; the versioned side's progress reports show where
# enable_versioning spends its time.
as psql -X -q -v ON_ERROR_STOP=1 -v n="$N" -v versioned=0 -d bench_plain -f "$cluster_dir/live.sql" >/dev/null
as psql -X -q -v ON_ERROR_STOP=1 -v n="$N" -v versioned=1 -d bench -f "$cluster_dir/live.sql" 2>&1 >/dev/null |
	awk '/NOTICE: / {sub(/.*NOTICE: +/, ""); m = $0} /DETAIL: / {sub(/.*DETAIL: +/, ""); print "  setup: " m " (" $0 ")"}'

side() {	# side db versioned link: one import on one side; prints "step ms" lines
	as psql -X -q -v ON_ERROR_STOP=1 -v n="$N" -v versioned="$2" -v link="$3" -d "$1" -f "$cluster_dir/steps.sql" |
		awk '/^step / {s = $2} /^Time: / {t[s] += $2} END {for (s in t) print s, t[s]}'
}

declare -A times=()
for round in $(seq 1 "$ROUNDS"); do
	order=(plain versioned)
	[ $((round % 2)) -eq 0 ] && order=(versioned plain)
	for s in "${order[@]}"; do
		if [ "$s" = plain ]; then out=$(side bench_plain 0 entity_id); else out=$(side bench 1 row_id); fi
		total=0
		while read -r step ms; do
			times[$s.$step]="${times[$s.$step]:-} $ms"
			total=$(awk -v a="$total" -v b="$ms" 'BEGIN {print a + b}')
		done <<<"$out"
		times[$s.total]="${times[$s.total]:-} $total"
		if [ "$s" = versioned ]; then
			problems=$(as psql -X -q -t -A -d bench -c "SELECT count(*) FROM staging.verify('catalog.products')")
			echo "  round $round: staging.verify('catalog.products') after the swap: $problems problems"
			[ "$problems" = 0 ] || { as psql -X -d bench -c "SELECT * FROM staging.verify('catalog.products') LIMIT 20"; exit 1; }
		fi
	done
done
report_steps "${steps[@]}" total
rows=$(as psql -X -q -t -A -d bench -c "SELECT (SELECT count(*) FROM catalog.products) || ' products, ' || (SELECT count(*) FROM catalog.products_varchar) || ' attribute rows live'")
echo "  versioned side after the last swap: $rows"
