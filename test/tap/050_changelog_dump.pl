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

done_testing();
