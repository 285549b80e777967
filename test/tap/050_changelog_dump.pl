# Changelog subscriptions survive pg_dump/pg_restore: the registries keep
# regclass values, the triggers and log tables are ordinary objects, and in
# the restored database writes are logged again and new consumers work.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('changelog_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
	CREATE EXTENSION staging;
	CREATE SCHEMA catalog;
	CREATE TABLE catalog.product (entity_id int PRIMARY KEY, price int);
	CREATE TABLE catalog.product_website (entity_id int, website int);
	SELECT staging.create_changelog('product_idx', 'catalog.product');
	SELECT staging.subscribe('product_idx', 'catalog.product_website', ARRAY['website']);
	INSERT INTO catalog.product VALUES (1, 10);
});

my $dump = $node->basedir . '/shop.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('shop') ],
	'pg_dump of a database with a changelog');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
# pg_restore's exit status is not asserted: errors restoring other parts
# of the extension's data are not this test's subject.
run_log([ 'pg_restore', '-d', $node->connstr('restored'), $dump ]);

is($node->safe_psql('restored',
		'SELECT changelog, tbl, columns FROM staging.changelog_subscription ORDER BY 2'),
	"product_idx|catalog.product|\nproduct_idx|catalog.product_website|{website}",
	'subscriptions restored, by name');
is($node->safe_psql('restored',
		'SELECT name, main_table, log_table FROM staging.changelog'),
	'product_idx|catalog.product|catalog.product_idx_cl', 'changelog restored');

$node->safe_psql('restored', q{
	SELECT staging.add_consumer('product_idx', 'search');
	UPDATE catalog.product SET price = 11 WHERE entity_id = 1;
	INSERT INTO catalog.product_website VALUES (2, 1);
	UPDATE catalog.product_website SET entity_id = 2 WHERE entity_id = 2;
});
is($node->safe_psql('restored',
		"SELECT string_agg(entity_id::text, ',' ORDER BY entity_id) FROM staging.next_batch('product_idx', 'search')"),
	'1,2', 'the restored triggers log changes, a new consumer receives them');

# A restore on another server whose transaction counter is behind the
# dumped one's: the log rows carry transaction ids it has not handed out
# yet.  A consumer added after the restore has nothing pending, and does
# not receive them later, when the counter passes them.
$node->safe_psql('shop', q{
SELECT staging.add_consumer('product_idx', 'search');
DO $$ BEGIN FOR i IN 1..300 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$;
UPDATE catalog.product SET price = 12 WHERE entity_id = 1;
INSERT INTO catalog.product_website VALUES (3, 1);
});
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dump.2", '-d', $node->connstr('shop') ], 'pg_dump again');
my $target = PostgreSQL::Test::Cluster->new('changelog_dump_target');
$target->init;
$target->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$target->start;
$target->safe_psql('postgres', 'CREATE DATABASE shop');
$target->command_ok([ 'pg_restore', '--single-transaction', '--exit-on-error', '-d', $target->connstr('shop'), "$dump.2" ],
	'pg_restore on another server');
my $stale = q{SELECT count(*) FROM catalog.product_idx_cl
 WHERE txid >= pg_snapshot_xmax(pg_current_snapshot())};
cmp_ok($target->safe_psql('shop', $stale), '>', 0, 'the restored log rows have ids of the future there');
$target->safe_psql('shop', "SELECT staging.add_consumer('product_idx', 'search')");
is($target->safe_psql('shop', q{SELECT consumer, pending_entities FROM staging.changelog_status}),
	'search|0', 'a consumer added after the restore has nothing pending');
is($target->safe_psql('shop', $stale), '0', 'the rows of the future are gone');
$target->safe_psql('shop', q{
DO $$ BEGIN FOR i IN 1..400 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$;
INSERT INTO catalog.product VALUES (4, 13);
});
is($target->safe_psql('shop',
		"SELECT string_agg(entity_id::text, ',' ORDER BY entity_id) FROM staging.next_batch('product_idx', 'search')"),
	'4', 'once the counter passed their ids, the consumer receives only the changes made after it was added');
$target->stop;

done_testing();
