# pg_upgrade keeps a database with the extension whole: pg_upgrade dumps
# the schema in binary-upgrade mode (the extension's objects one by one,
# its tables' rows copied as files), so the table access method, the
# registrations, every version row, the schedule and live version, the
# write record, the changelog consumers (their snapshots: pg_upgrade keeps
# the transaction ids) and the preview secret come back as they were.  It
# runs from this installation to itself (the same major version): the
# binary-upgrade path is the same for every major version.
use strict;
use warnings;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init;
$old->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$old->start;
$old->safe_psql('postgres', 'CREATE DATABASE shop');
$old->safe_psql('shop', q{
SET client_min_messages = warning;
CREATE EXTENSION staging;
CREATE SCHEMA catalog;
CREATE TABLE catalog.product (entity_id serial PRIMARY KEY, sku text NOT NULL UNIQUE, price int);
CREATE TABLE catalog.product_int (
    value_id serial PRIMARY KEY, attribute_id int NOT NULL,
    entity_id int NOT NULL REFERENCES catalog.product ON DELETE CASCADE, value int,
    UNIQUE (entity_id, attribute_id));
INSERT INTO catalog.product (sku, price) SELECT 'sku-' || g, g FROM generate_series(1, 10) g;
INSERT INTO catalog.product_int (attribute_id, entity_id, value) SELECT 5, g, g FROM generate_series(1, 10) g;
SELECT staging.enable_versioning('catalog.product');
SELECT staging.add_attribute_table('catalog.product_int', 'catalog.product');
CREATE TABLE public.orders (id int);
SELECT staging.live_only('public.orders');
SELECT staging.create_changelog('search', 'catalog.product');
SELECT staging.add_consumer('search', 'indexer');
});
my $sale = $old->safe_psql('shop',
	"SELECT staging.create_update('sale', now() + interval '1 second', now() + interval '1 day')");
my $range = $old->safe_psql('shop', "SELECT staging.create_update('range', now() + interval '2 days')");
$old->safe_psql('shop', qq{
SET staging.version = $sale;
UPDATE catalog.product SET price = price / 2 WHERE entity_id <= 3;
SET staging.version = $range;
UPDATE catalog.product_int d SET value = 99 FROM catalog.product p
 WHERE d.row_id = p.row_id AND p.entity_id = 4;
INSERT INTO catalog.product (sku, price) VALUES ('new', 1);
});
$old->poll_query_until('shop', "SELECT now() >= staging.to_timestamp($sale)")
  or die 'the sale did not start';
$old->safe_psql('shop', q{SELECT staging.advance();
UPDATE catalog.product SET price = 1000 WHERE entity_id = 5});
# The consumer holds a batch it has not finished.
my $batch = q{SELECT string_agg(batch_id || ':' || entity_id, ',' ORDER BY entity_id)
  FROM staging.next_batch('search', 'indexer')};
my $pending = $old->safe_psql('shop', $batch);
like($pending, qr/^\d+:1,\d+:2,\d+:3,\d+:5$/, 'the consumer holds a batch');
my $token = $old->safe_psql('shop', "SELECT staging.sign_preview($range, '1 day')");

my %checks = (
	'live version' => 'SELECT staging.live_version()',
	'updates' => 'SELECT id, name, start_time, end_time, rollback_id FROM staging.updates ORDER BY id',
	'registrations' => q{SELECT table_name, attribute_tables, entities, rows FROM staging.versioned_tables},
	'access methods' => q{
SELECT string_agg(format('%s=%s', c.relname, a.amname), ',' ORDER BY c.relname)
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relnamespace = 'catalog'::regnamespace AND c.relkind = 'r'},
	'write record' => q{SELECT count(*), max(seq) FROM staging.field_writes},
	'verify' => q{SELECT count(*) FROM staging.verify('catalog.product')},
	'live-only' => q{SELECT table_name FROM staging.live_only_tables},
	'changelog status' => q{SELECT consumer, pending_entities, current_batch FROM staging.changelog_status});
for my $v ('live', 1, $sale, $range, 'all')
{
	$checks{"rows at $v"} = qq{SET staging.version = '$v';
SELECT string_agg(format('%s:%s:%s:%s:%s', p.row_id, p.entity_id, p.price, p.created_in, d.value), ','
                  ORDER BY p.row_id)
  FROM catalog.product p LEFT JOIN catalog.product_int d ON d.row_id = p.row_id};
}
my %before = map { $_ => $old->safe_psql('shop', $checks{$_}) } keys %checks;
$old->stop;

my $new = PostgreSQL::Test::Cluster->new('new');
$new->init;
$new->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
my $bindir = $new->config_data('--bindir');
# pg_upgrade writes its logs into the working directory (before 15) or
# the new data directory.
my $cwd = tempdir(DIR => PostgreSQL::Test::Utils::tempdir());
chdir $cwd;
command_ok(
	[ 'pg_upgrade', '--no-sync', '-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $bindir, '-B', $bindir, '-s', $new->host, '-p', $old->port, '-P', $new->port ],
	'pg_upgrade');
$new->start;

for my $name (sort keys %checks)
{
	is($new->safe_psql('shop', $checks{$name}), $before{$name}, "after pg_upgrade, the same: $name");
}
is($new->safe_psql('shop', $batch), $pending, 'the consumer gets its unfinished batch again');
is($new->safe_psql('shop', "SELECT staging.preview('$token')"), $range,
	'a preview token signed before pg_upgrade still works');

# The upgraded database works: writes, a go-live logged for the consumer.
$new->safe_psql('shop', qq{
SELECT staging.finish_batch('search', 'indexer', ${\ ($pending =~ /^(\d+):/)[0] });
SET staging.version = $range;
UPDATE catalog.product SET price = 7 WHERE entity_id = 6;
});
is($new->safe_psql('shop', "SELECT staging.advance(staging.to_timestamp($range))"), $range,
	'an update goes live after pg_upgrade (and the sale ends before it)');
like($new->safe_psql('shop', $batch), qr/^\d+:1,\d+:2,\d+:3,\d+:4,\d+:6,\d+:11$/,
	'both are logged');
is($new->safe_psql('shop', q{SELECT count(*) FROM staging.verify('catalog.product')}), '0',
	'every invariant holds');

$new->stop;
done_testing();
