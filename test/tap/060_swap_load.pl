# Swap under load: pgbench clients read and write the live schema through
# prepared (-M prepared), unprepared (-M simple) and extended-protocol
# statements and a PL/pgSQL function while 100 swaps go back and forth.
# The two copies hold distinguishable data (copy 'A' and copy 'B' in both
# tables); every statement that reads both tables fails if they disagree,
# so a statement that saw a mix of the copies would be a client error
# (division by zero, or the function's exception).
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('swap_load');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION staging');
$node->safe_psql('postgres', q{
CREATE SCHEMA cat;
CREATE TABLE cat.a (id int PRIMARY KEY, copy text NOT NULL, val bigint NOT NULL DEFAULT 0);
CREATE TABLE cat.b (id int PRIMARY KEY REFERENCES cat.a, copy text NOT NULL);
INSERT INTO cat.a (id, copy) SELECT g, 'A' FROM generate_series(1, 100) g;
INSERT INTO cat.b SELECT g, 'A' FROM generate_series(1, 100) g;
SELECT staging.clone_schema('cat', 'cat_import', with_data => true);
UPDATE cat_import.a SET copy = 'B';
UPDATE cat_import.b SET copy = 'B';
-- Two separate statements in one function: both must see the same copy.
CREATE FUNCTION public.check_both(k int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    x text;
    y text;
BEGIN
    SELECT copy INTO x FROM cat.a WHERE id = k;
    SELECT copy INTO y FROM cat.b WHERE id = k;
    IF x IS DISTINCT FROM y THEN
        RAISE EXCEPTION 'mixed copies: a says %, b says %', x, y;
    END IF;
    RETURN x;
END
$$;
});

my $script = "${PostgreSQL::Test::Utils::tmp_check}/swap_load.pgbench";
open(my $fh, '>', $script) or die "cannot write $script: $!";
print $fh <<'PGBENCH';
\set id random(1, 100)
SELECT CASE WHEN a.copy = b.copy THEN a.copy ELSE (1 / (a.id - a.id))::text END FROM cat.a a JOIN cat.b b USING (id) WHERE id = :id;
UPDATE cat.a SET val = val + 1 WHERE id = :id;
SELECT public.check_both(:id);
SELECT CASE WHEN bool_and(a.copy = b.copy) THEN count(*) ELSE 1 / (count(*) - count(*)) END FROM cat.a a JOIN cat.b b USING (id);
PGBENCH
close $fh;

# Three pgbench runs, one per protocol, two clients each, for longer than
# the swaps take; each stops at its deadline.
my @benches;
for my $mode ('prepared', 'simple', 'extended')
{
	my ($out, $err) = ('', '');
	local $ENV{PGAPPNAME} = "pgbench_$mode";
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '2', '-j', '1', '-T', '60', '-M', $mode,
			'-f', $script, '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	push @benches, [ $mode, $h, \$out, \$err ];
}

# Let the clients connect and prepare, then swap 100 times.
for my $try (1 .. 50)
{
	last
	  if $node->safe_psql('postgres',
		"SELECT count(*) >= 6 FROM pg_stat_activity WHERE application_name LIKE 'pgbench%'") eq 't';
	die "pgbench clients did not connect:\n"
	  . join("\n", map { ${ $_->[3] } . ${ $_->[2] } } @benches)
	  . $node->safe_psql('postgres', 'SELECT application_name, state, query FROM pg_stat_activity')
	  if $try == 50;
	usleep(100_000);
}
my $swaps = '';
$swaps .= "SELECT staging.swap_schemas('cat', 'cat_import', lock_timeout => '200ms', max_wait => '30s');\n"
  for 1 .. 100;
my ($ret, $stdout, $stderr) = $node->psql('postgres', $swaps);
is($ret, 0, '100 swaps succeeded under load');
is($stderr, '', 'no swap reported an error');
is( $node->safe_psql(
		'postgres', "SELECT string_agg(application_name || ':' || n, ' ' ORDER BY application_name)
		   FROM (SELECT application_name, count(*) AS n FROM pg_stat_activity
		          WHERE application_name LIKE 'pgbench%' GROUP BY 1) c"),
	'pgbench_extended:2 pgbench_prepared:2 pgbench_simple:2',
	'every pgbench client was still running when the swaps ended');
my $log_offset = -s $node->logfile;

# Stop the clients.  A client error (a failed statement) would have been
# printed by pgbench and logged by the server with the client's name.
for my $b (@benches)
{
	my ($mode, $h, $out, $err) = @$b;
	$h->signal('INT');
	$h->finish;
	unlike($$err . $$out, qr/aborted|ERROR|error:/, "pgbench -M $mode: no client error");
}
# (Only up to the stop: interrupted clients make their backends log FATAL.)
my $server_log = substr(slurp_file($node->logfile), 0, $log_offset);
my @client_errors = ($server_log =~ /^.*pgbench_\w+ (?:ERROR|FATAL):.*$/mg);
is(scalar(@client_errors), 0, 'the server logged no error of any client')
  or diag join("\n", @client_errors[0 .. ($#client_errors < 9 ? $#client_errors : 9)]);
my $statements = $node->safe_psql('postgres',
	"SELECT sum(n_tup_upd) FROM pg_stat_user_tables WHERE relname = 'a'");
cmp_ok($statements, '>', 100, "the clients updated rows during the swaps ($statements)");

is($node->safe_psql('postgres',
		"SELECT count(*) FROM staging.invalidations WHERE kind = 'schema_swap'"),
	'100', 'one invalidation per swap');
is($node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT copy, ',') FROM cat.a"),
	'A', 'after an even number of swaps the original copy is live again');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM cat.a a JOIN cat.b b USING (id) WHERE a.copy <> b.copy"),
	'0', 'each copy is still whole');
ok($node->safe_psql('postgres', 'SELECT sum(val) FROM cat.a') > 0
	  && $node->safe_psql('postgres', 'SELECT sum(val) FROM cat_import.a') > 0,
	'writes landed in both copies, each while it was live');

$node->stop;
done_testing();
