# The background worker makes due updates live on time, in the databases
# listed in staging.scheduler_databases only, and keeps doing so after a
# server restart and a configuration reload; a lock held in one database
# does not hold back the others, and the log names the database of errors.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $naptime = 1;
my $node = PostgreSQL::Test::Cluster->new('scheduler');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'staging'
staging.scheduler_databases = 'shop'
staging.scheduler_naptime = $naptime
});
$node->start;
for my $db ('shop', 'other')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION staging');
}

is($node->safe_psql('shop', 'SHOW staging.scheduler_naptime'), "${naptime}s",
	'naptime is a setting in seconds');

# Schedule an update a few seconds ahead in both databases; only "shop" is
# listed.  Returns the update's id in "shop".
sub schedule
{
	my ($name) = @_;
	my $id = $node->safe_psql('shop',
		"SELECT staging.create_update('$name', now() + interval '2 seconds')");
	$node->safe_psql('other',
		"SELECT staging.create_update('$name', now() + interval '2 seconds')");
	return $id;
}

# Wait until the live version of "shop" is the update's start, without
# calling advance(); returns the seconds it took after the start.
sub went_live_after_start
{
	my ($id) = @_;
	$node->poll_query_until('shop', "SELECT staging.live_version() = $id")
	  or return undef;
	return $node->safe_psql('shop',
		"SELECT extract(epoch FROM now() - staging.to_timestamp($id))::numeric(10,1)");
}

my $id = schedule('Flash sale');
my $late = went_live_after_start($id);
ok(defined $late, 'a due update goes live without any call');
note("went live ${late}s after its start (naptime ${naptime}s)");
cmp_ok($late, '<', 2 * $naptime + 5,
	'within two naptimes (plus polling slack) of its start');
is($node->safe_psql('shop',
		"SELECT count(*) FROM staging.updates WHERE id <= staging.live_version()"),
	'1', 'exactly the due update is live');
ok($node->log_contains(qr/staging scheduler: live version of database "shop" advanced/),
	'the worker logs the advance');

# A database not listed is left alone, even with a due update.
is($node->safe_psql('other', 'SELECT staging.live_version()'), '1',
	'a database not listed is untouched');

# After a restart the launcher comes back and keeps going.
$node->restart;
$id = schedule('After restart');
ok(defined went_live_after_start($id), 'after a server restart a due update still goes live');
is($node->safe_psql('other', 'SELECT staging.live_version()'), '1',
	'and the database not listed is still untouched');

# A reload changes the list: now both databases are served.
$node->append_conf('postgresql.conf', "staging.scheduler_databases = 'shop, other'");
$node->reload;
ok($node->poll_query_until('other',
		'SELECT staging.live_version() = max(id) FROM staging.updates'),
	'after a reload a newly listed database is served');

# A listed database without the extension is connected to and left alone.
$node->safe_psql('postgres', 'CREATE DATABASE bare');
$node->append_conf('postgresql.conf', "staging.scheduler_databases = 'bare, shop'");
$node->reload;
$id = schedule('With a bare database listed');
ok(defined went_live_after_start($id),
	'a listed database without the extension does not stop the others');
is($node->safe_psql('bare', "SELECT count(*) FROM pg_extension WHERE extname = 'staging'"),
	'0', 'nothing is installed in a database without the extension');

# A transaction that keeps staging.updates locked in one database (a
# merchant's open transaction that created an update) holds the others
# back for about a second per round, not until it ends; the blocked
# database is retried each round, and the server log names it, as it
# names a listed database that does not exist.
my $holder = $node->background_psql('other');
$holder->query_safe(q{BEGIN;
SELECT staging.create_update('Held open', now() + interval '2 seconds')});
my $held = $holder->query_safe('SELECT max(id) FROM staging.updates');
$node->append_conf('postgresql.conf', "staging.scheduler_databases = 'other, nodb, shop'");
$node->reload;
$id = $node->safe_psql('shop',
	"SELECT staging.create_update('Beside a held lock', now() + interval '2 seconds')");
ok(defined went_live_after_start($id),
	'a lock held in one listed database does not stop the others');
ok($node->log_contains(
		qr/ERROR:  canceling statement due to lock timeout\n(?:.*\n)*?.*\tstaging scheduler worker for database "other"$/m),
	'the worker gives up waiting for the lock, and the log names the database');
ok($node->log_contains(
		qr/FATAL:  database "nodb" does not exist\n.*CONTEXT:  staging scheduler worker for database "nodb"$/m),
	'the log names the scheduler as the one that could not connect');
$holder->query_safe('COMMIT');
$holder->quit;
ok($node->poll_query_until('other', "SELECT staging.live_version() = $held"),
	'once the lock is released, the next round serves that database');

ok(!$node->log_contains(qr/(PANIC|terminated by signal)/), 'no process crashed so far');

# A backend killed (kill -9) in the middle of a go-live: the server's
# crash restart rolls it back whole, and the scheduler, restarted with the
# server, makes the overdue update live in its first round, not a naptime
# later; the go-live is logged and published once.
$node->append_conf('postgresql.conf',
	"staging.scheduler_databases = 'shop'\nstaging.scheduler_naptime = 3600\nrestart_after_crash = on");
$node->reload;
$node->safe_psql('shop', q{
CREATE TABLE item (entity_id int PRIMARY KEY, price int);
INSERT INTO item SELECT g, g FROM generate_series(1, 5) g;
SET client_min_messages = warning;
SELECT staging.enable_versioning('item');
SELECT staging.create_changelog('item_idx', 'item');
SELECT staging.add_consumer('item_idx', 'search');
-- Test-only: a go-live that logs while test.slow is on waits here.
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('test.slow', true) = 'on' THEN
        PERFORM pg_sleep(300);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER slow AFTER INSERT ON item_idx_cl FOR EACH STATEMENT EXECUTE FUNCTION slow();
});
# The launcher is in its long sleep once a round ran with the new naptime.
sleep(2);
$id = $node->safe_psql('shop', "SELECT staging.create_update('Crashed go-live', now() + interval '1 second')");
$node->safe_psql('shop', "SET staging.version = $id; UPDATE item SET price = price * 10 WHERE entity_id IN (2, 4)");
my $invalidations = "SELECT count(*) FROM staging.invalidations WHERE kind = 'go_live' AND detail->>'to_version' = '$id'";
$node->poll_query_until('shop', "SELECT now() >= staging.to_timestamp($id)")
  or die 'the update did not start';
# Runs $sql in a session with test.slow on, kills that session's backend
# with kill -9 while it sleeps in the trigger, and waits until the server
# restarted (restart_after_crash, as by default outside tests).  Returns
# whether it did.
sub crash_during
{
	my ($sql, $what) = @_;
	my $session = $node->background_psql('shop', on_error_stop => 0);
	$session->query_until(qr/started/, "\\echo started\nSET test.slow = on;\n$sql\n");
	ok($node->poll_query_until('shop', q{
SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%slow%'}),
		"$what is under way");
	my $pid = $node->safe_psql('shop', q{
SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%slow%'});
	my $offset = -s $node->logfile;
	kill 'KILL', $pid;
	eval { $session->quit };
	for (1 .. 600)
	{
		return 1
		  if $node->log_contains(qr/all server processes terminated; reinitializing/, $offset)
		  && system("pg_isready -q -h '@{[ $node->host ]}' -p @{[ $node->port ]}") == 0;
		usleep(100_000);
	}
	return 0;
}
ok(crash_during('SELECT staging.advance() /* slow */;', 'a go-live'), 'the server restarted after the crash');
$node->poll_query_until('shop', "SELECT staging.live_version() = $id")
  or diag 'the overdue update did not go live after the crash restart';
is($node->safe_psql('shop', "SELECT staging.live_version()"), $id,
	'after the crash restart, the scheduler made the overdue update live (naptime 3600 s)');
is($node->safe_psql('shop', "$invalidations"), '1', 'its go-live is published once');
is($node->safe_psql('shop', q{
SELECT string_agg(entity_id::text, ',' ORDER BY entity_id) FROM staging.next_batch('item_idx', 'search')}),
	'2,4', 'and logged once');
is($node->safe_psql('shop', q{SELECT string_agg(format('%s:%s', entity_id, price), ',' ORDER BY entity_id) FROM item}),
	'1:1,2:20,3:3,4:40,5:5', 'the live version shows the update');
is($node->safe_psql('shop', q{
SELECT count(*) FROM staging.verify('item');
SELECT count(*) FROM item_idx_cl;}), "0\n2", 'every invariant holds, no row of the killed go-live is left');

# A backend killed in the middle of a write at an update's version: none
# of the version rows and write record it made is left.
my $later = $node->safe_psql('shop', "SELECT staging.create_update('Later', now() + interval '1 day')");
$node->safe_psql('shop', q{
CREATE TRIGGER slow AFTER UPDATE ON item FOR EACH STATEMENT EXECUTE FUNCTION slow()});
my $item_state = qq{
SET staging.version = 'all';
SELECT string_agg(format('%s:%s:%s:%s:%s', row_id, entity_id, price, created_in, updated_in), ',' ORDER BY row_id) FROM item;
SELECT count(*) FROM staging.field_writes;
SELECT count(*) FROM staging.verify('item')};
my $before_write = $node->safe_psql('shop', $item_state);
ok(crash_during("SET staging.version = $later; UPDATE item SET price = 0 /* slow */ WHERE entity_id IN (1, 2);",
		'a write at an update'), 'the server restarted after the second crash');
is($node->safe_psql('shop', $item_state), $before_write,
	'nothing of the killed write is left (version rows, write record), every invariant holds');
is($node->safe_psql('shop', qq{SET staging.version = $later; DROP TRIGGER slow ON item;
UPDATE item SET price = 0 WHERE entity_id IN (1, 2);
SELECT string_agg(format('%s:%s', entity_id, price), ',' ORDER BY entity_id) FROM item;
SELECT count(*) FROM staging.verify('item')}), "1:0,2:0,3:3,4:40,5:5\n0",
	'the same write afterwards works');

# The launcher stops with SIGTERM (a fast shutdown) without complaint.
my $log_offset = -s $node->logfile;
$node->stop('fast');
ok(!$node->log_contains(qr/(PANIC|terminated by signal)/, $log_offset), 'clean shutdown');

done_testing();
