# Invalidations and hot standbys: a go-live is published like a swap (kind
# go_live); every invalidation gets its commit LSN; with
# staging.invalidate_after_replay = on its NOTIFY waits until the connected
# standby replayed it, or until staging.replay_wait_timeout, naming the
# standby that lags.  The standby's replay is paused to make it lag.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{
shared_preload_libraries = 'staging'
staging.scheduler_databases = 'postgres'
staging.scheduler_naptime = 1
});
$primary->start;
$primary->safe_psql('postgres', q{
CREATE EXTENSION staging;
CREATE SCHEMA cat;
CREATE TABLE cat.item (id int PRIMARY KEY, name text);
INSERT INTO cat.item VALUES (1, 'one');
SELECT staging.clone_schema('cat', 'cat_import', with_data => true);
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup('standby', 'replay', $primary->lsn('insert'));

# The latest invalidation of a kind, as "published?|lagging|has lsn".
sub latest
{
	my ($kind) = @_;
	return $primary->safe_psql('postgres', qq{
		SELECT (published_at IS NOT NULL) || '|' || coalesce(array_to_string(lagging, ','), '')
		       || '|' || (commit_lsn IS NOT NULL)
		  FROM staging.invalidations WHERE kind = '$kind' ORDER BY id DESC LIMIT 1});
}

# Off (the default): published in the transaction, dated by the scheduler.
$primary->safe_psql('postgres', "SELECT staging.swap_schemas('cat', 'cat_import')");
ok($primary->poll_query_until('postgres',
		"SELECT commit_lsn IS NOT NULL FROM staging.invalidations ORDER BY id DESC LIMIT 1"),
	'the scheduler records the commit LSN of a swap');
is(latest('schema_swap'), 'true||true', 'with invalidate_after_replay off a swap is published at commit');
my $id = $primary->safe_psql('postgres',
	"SELECT staging.create_update('Sale', now() + interval '1 hour')");
$primary->safe_psql('postgres', "SELECT staging.advance(now() + interval '2 hours')");
is($primary->safe_psql('postgres', q{
	SELECT detail->>'from_version' || ' ' || (detail->>'to_version') || ' ' || (detail->'started')::text
	  FROM staging.invalidations WHERE kind = 'go_live'}),
	"1 $id [$id]", 'advance records a go_live invalidation: versions and updates');

# On: nothing is sent while the standby has not replayed the change.
$primary->append_conf('postgresql.conf', q{
staging.invalidate_after_replay = on
staging.replay_wait_timeout = '1h'
});
$primary->reload;
$primary->poll_query_until('postgres', "SELECT current_setting('staging.invalidate_after_replay') = 'on'");
my $listener = $primary->background_psql('postgres');
$listener->query_safe('LISTEN staging_invalidation');
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$id = $primary->safe_psql('postgres',
	"SELECT staging.create_update('Second sale', now() + interval '3 hours')");
$primary->safe_psql('postgres', "SELECT staging.advance(now() + interval '4 hours')");
ok($primary->poll_query_until('postgres', q{
	SELECT commit_lsn IS NOT NULL FROM staging.invalidations WHERE kind = 'go_live' ORDER BY id DESC LIMIT 1}),
	'the go-live gets its commit LSN');
sleep(2);
is(latest('go_live'), 'false||true', 'while the standby is paused, the go-live is not published');
unlike($listener->query_safe('SELECT 1'), qr/Asynchronous notification/,
	'and listeners heard nothing');
cmp_ok($standby->safe_psql('postgres', 'SELECT staging.live_version()'), '<', $id,
	'(the standby still reads the old live version)');

$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
ok($primary->poll_query_until('postgres', q{
	SELECT published_at IS NOT NULL FROM staging.invalidations WHERE kind = 'go_live' ORDER BY id DESC LIMIT 1}),
	'once the standby replayed it, the go-live is published');
is(latest('go_live'), 'true||true', 'with no lagging standby named');
my $row = $primary->safe_psql('postgres',
	"SELECT row_to_json(i) FROM staging.invalidations i WHERE kind = 'go_live' ORDER BY id DESC LIMIT 1");
my $heard = '';
for (1 .. 50)
{
	$heard .= $listener->query_safe('SELECT 1');
	last if $heard =~ /Asynchronous notification/;
	usleep(100_000);
}
like($heard, qr/Asynchronous notification "staging_invalidation" with payload "\Q$row\E" received/,
	'the listener receives the row, commit LSN included');
like($row, qr/"commit_lsn":"[0-9A-F]+\/[0-9A-F]+"/, '(the payload carries the commit LSN)');
is($standby->safe_psql('postgres', 'SELECT staging.live_version()'), $id,
	'a cache refilled from the standby after the NOTIFY reads the new live version');

# Timeout: a standby that stays paused is named, and the NOTIFY goes out.
$primary->append_conf('postgresql.conf', "staging.replay_wait_timeout = '2s'\n");
$primary->reload;
$primary->poll_query_until('postgres', "SELECT current_setting('staging.replay_wait_timeout') = '2s'");
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$primary->safe_psql('postgres', "SELECT staging.swap_schemas('cat', 'cat_import')");
ok($primary->poll_query_until('postgres', q{
	SELECT published_at IS NOT NULL FROM staging.invalidations WHERE kind = 'schema_swap' ORDER BY id DESC LIMIT 1}),
	'after replay_wait_timeout the swap is published anyway');
is(latest('schema_swap'), 'true|standby|true', 'naming the standby that lags');
is($primary->safe_psql('postgres', q{
	SELECT published_at - created_at >= interval '2s' FROM staging.invalidations
	 WHERE kind = 'schema_swap' ORDER BY id DESC LIMIT 1}), 't', 'not before the timeout');
ok($primary->log_contains(qr/standbys lagging: standby/), 'the server log names the lagging standby');
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');

$listener->quit;
$standby->stop;
$primary->stop;
done_testing();
