# swap_schemas reports its lock waits: with staging.progress_interval = 0
# each attempt that timed out is a NOTICE naming the relation it waited
# for; with the default interval a short wait prints nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('swap_progress');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION staging');
$node->safe_psql('postgres', q{
CREATE SCHEMA cat;
CREATE TABLE cat.a (id int PRIMARY KEY);
SELECT staging.clone_schema('cat', 'cat_import');
});

# A reader holds a lock on the live table until it commits.
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN; SELECT count(*) FROM cat.a;');

my $swap = q{SELECT staging.swap_schemas('cat', 'cat_import', lock_timeout => '50ms', max_wait => '300ms')};
my ($ret, $stdout, $stderr) = $node->psql('postgres', "SET staging.progress_interval = 0; $swap");
isnt($ret, 0, 'the swap gives up while the reader holds its lock');
like($stderr, qr/could not lock schemas "cat" and "cat_import" for the swap within max_wait/,
	'with the 55P03 error');
like($stderr,
	qr/NOTICE:  swap_schemas: attempt 1 to lock schemas cat and cat_import timed out waiting for cat\.a; retrying\nDETAIL:  The step took [0-9.]+ s; [0-9.]+ s since swap_schemas started\./,
	'each attempt that timed out is reported, naming the relation it waited for, its times in the DETAIL');
like($stderr, qr/attempt 2 to lock schemas/, 'and the next attempts too');

($ret, $stdout, $stderr) = $node->psql('postgres', $swap);
isnt($ret, 0, 'with the default interval the swap gives up the same way');
unlike($stderr, qr/NOTICE/, 'without a report: the wait was shorter than the interval');

$reader->query_safe('COMMIT');
($ret, $stdout, $stderr) = $node->psql('postgres', "SET staging.progress_interval = 0; $swap");
is($ret, 0, 'the swap succeeds once the reader is gone');
like($stderr, qr/swap_schemas: locked schemas cat and cat_import and their relations.*swap_schemas: swapped schemas cat and cat_import/s,
	'its steps and summary reported');
unlike($stderr, qr/attempt/, 'no attempt timed out');

$reader->quit;
$node->stop;
done_testing();
