# Sourced by test/bench/run (a benchmark measured by steps, not by pgbench):
# a full catalog import into plain tables (bench_plain) and into the same
# tables versioned (bench), fresh tables every round, the two sides taking
# turns (plain first on odd rounds).  Prints each step's time per side
# (median of the rounds) and the versioned/plain time ratio (min/median/max
# of the rounds' ratios), then checks the versioned side with
# staging.verify before its DELETE.
#   N       products per import (default 200000; 3 attribute rows each)
#   ROUNDS  rounds (default 3)
N=${N:-200000}
ROUNDS=${ROUNDS:-3}
steps=(insert_products insert_attributes update_attributes update_products delete_products)
echo "== $name: $N products x 3 attribute rows, $ROUNDS rounds (plain vs versioned, alternating)"
cp "$dir/tables.sql" "$dir/steps.sql" "$cluster_dir/"
chmod a+r "$cluster_dir"/*.sql

side() {	# side db versioned link: one round on one side; prints "step ms" lines
	as psql -X -q -v ON_ERROR_STOP=1 -v versioned="$2" -d "$1" -f "$cluster_dir/tables.sql" >/dev/null
	as psql -X -q -v ON_ERROR_STOP=1 -v n="$N" -v link="$3" -d "$1" -f "$cluster_dir/steps.sql" |
		awk '/^step / {s = $2} /^Time: / {print s, $2}'
}

declare -A times=()
for round in $(seq 1 "$ROUNDS"); do
	order=(plain versioned)
	[ $((round % 2)) -eq 0 ] && order=(versioned plain)
	for s in "${order[@]}"; do
		if [ "$s" = plain ]; then out=$(side bench_plain 0 entity_id); else out=$(side bench 1 row_id); fi
		while read -r step ms; do times[$s.$step]="${times[$s.$step]:-} $ms"; done <<<"$out"
	done
done
report_steps "${steps[@]}"

# The invariants after an import on the versioned side (the steps up to
# the DELETE, then staging.verify on what they left).
as psql -X -q -v ON_ERROR_STOP=1 -v versioned=1 -d bench -f "$cluster_dir/tables.sql" >/dev/null
sed '/step delete_products/,$d' "$cluster_dir/steps.sql" >"$cluster_dir/steps_kept.sql"
chmod a+r "$cluster_dir/steps_kept.sql"
as psql -X -q -v ON_ERROR_STOP=1 -v n="$N" -v link=row_id -d bench -f "$cluster_dir/steps_kept.sql" >/dev/null
problems=$(as psql -X -q -t -A -d bench -c "SELECT count(*) FROM staging.verify('products')")
rows=$(as psql -X -q -t -A -d bench -c "SELECT (SELECT count(*) FROM products) || ' products, ' || (SELECT count(*) FROM products_varchar) || ' attribute rows, ' || (SELECT count(*) FROM sequence_products) || ' ids in the sequence table'")
echo "  staging.verify('products') after the import: $problems problems ($rows)"
[ "$problems" = 0 ] || { as psql -X -d bench -c "SELECT * FROM staging.verify('products') LIMIT 20"; exit 1; }
