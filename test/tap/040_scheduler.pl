# The background worker makes due updates live on time, in the databases
# listed in staging.scheduler_databases only, and keeps doing so after a
# server restart and a configuration reload; a lock held in one database
# does not hold back the others, and the log names the database of errors.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

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

# The launcher stops with SIGTERM (a fast shutdown) without complaint.
$node->stop('fast');
ok(!$node->log_contains(qr/(PANIC|terminated by signal)/), 'clean shutdown');

done_testing();
