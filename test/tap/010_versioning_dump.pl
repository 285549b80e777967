# Versioned tables survive pg_dump -Fc / pg_restore into a new database:
# the registrations (regclass, so by name), versioned_kind, the shape
# (constraints, defaults, trigger), every version row, and the guards.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
CREATE EXTENSION staging;
CREATE SCHEMA "Catalog";
CREATE TABLE "Catalog"."Product" (entity_id serial PRIMARY KEY, sku text NOT NULL UNIQUE);
CREATE TABLE "Catalog"."Product Decimal" (
    value_id serial PRIMARY KEY, attribute_id int NOT NULL, store_id int NOT NULL DEFAULT 0,
    entity_id int NOT NULL REFERENCES "Catalog"."Product" ON DELETE CASCADE, value numeric(12,2),
    UNIQUE (entity_id, attribute_id, store_id));
CREATE TABLE public.category_product (category_id int, product_id int
    REFERENCES "Catalog"."Product" ON DELETE CASCADE, PRIMARY KEY (category_id, product_id));
INSERT INTO "Catalog"."Product" (sku) SELECT 'sku-' || g FROM generate_series(1, 100) g;
INSERT INTO "Catalog"."Product Decimal" (attribute_id, entity_id, value) SELECT 77, g, g + 0.5 FROM generate_series(1, 100) g;
INSERT INTO public.category_product SELECT 1, g FROM generate_series(1, 100, 7) g;
SELECT staging.enable_versioning('"Catalog"."Product"');
SELECT staging.add_attribute_table('"Catalog"."Product Decimal"', '"Catalog"."Product"');
-- a second version of product 3, with its own attribute row
UPDATE "Catalog"."Product" SET updated_in = 2000000000 WHERE entity_id = 3;
INSERT INTO "Catalog"."Product" (entity_id, sku, created_in) VALUES (3, 'sku-3 new', 2000000000);
INSERT INTO "Catalog"."Product Decimal" (attribute_id, row_id, value)
SELECT 77, row_id, 9.99 FROM "Catalog"."Product" WHERE entity_id = 3 AND created_in = 2000000000;
});

my $registry = q{
SELECT relid::text, entity_column::text, sequence_table::text, saved FROM staging.versioned_table
UNION ALL SELECT relid::text, main_table::text, entity_column::text, saved FROM staging.attribute_table ORDER BY 1};
my $rows = q{SELECT count(*), sum(entity_id), sum(row_id), sum(created_in), count(DISTINCT updated_in)
  FROM "Catalog"."Product"};
my $attribute_rows = q{SELECT count(*), sum(row_id), sum(value) FROM "Catalog"."Product Decimal"};
my $constraints = q{
SELECT conrelid::regclass, conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid IN ('"Catalog"."Product"'::regclass, '"Catalog"."Product Decimal"'::regclass,
                    '"Catalog"."sequence_Product"'::regclass, 'public.category_product'::regclass)
 ORDER BY 1::text, 2};
my $access_methods = q{
SELECT string_agg(format('%s=%s', c.oid::regclass, a.amname), ',' ORDER BY c.oid::regclass::text)
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relnamespace IN ('"Catalog"'::regnamespace, 'public'::regnamespace) AND c.relkind = 'r'};
my %checks = (
	'access methods' => $access_methods,
	'registrations' => $registry,
	'main table rows' => $rows,
	'attribute table rows' => $attribute_rows,
	'constraints' => $constraints);
my %before = map { $_ => $node->safe_psql('shop', $checks{$_}) } keys %checks;
is($before{'access methods'},
	'"Catalog"."Product Decimal"=staging,"Catalog"."Product"=staging,"Catalog"."sequence_Product"=heap,category_product=heap',
	'versioned and attribute tables use the access method staging');

# A live-only table, and a preview token signed before the dump.
$node->safe_psql('shop', q{CREATE SCHEMA sales; CREATE TABLE sales.orders (id int); SELECT staging.live_only('sales.orders')});
my $token = $node->safe_psql('shop', q{SELECT staging.sign_preview(2000000000, '1 day')});

my $dump = $node->basedir . '/shop.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, 'shop' ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE shop_restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'shop_restored', $dump ],
	'pg_restore into a new database, without errors');

for my $name (sort keys %checks)
{
	is($node->safe_psql('shop_restored', $checks{$name}), $before{$name},
		"restored as dumped: $name");
}
is($node->safe_psql('shop_restored', q{
SELECT staging.versioned_kind('"Catalog"."Product"'), staging.versioned_kind('"Catalog"."Product Decimal"'),
       staging.versioned_kind('public.category_product')}),
	'main|attribute|', 'versioned_kind after restore');
is($node->safe_psql('shop_restored', q{SELECT count(*) FROM staging.verify('"Catalog"."Product"')}),
	'0', 'every invariant holds after restore');
is($node->safe_psql('shop_restored', q{
SELECT table_name, attribute_tables, entities, rows FROM staging.versioned_tables}),
	'"Catalog"."Product"|{"\"Catalog\".\"Product Decimal\""}|100|101', 'versioned_tables after restore');

# The live-only mark is restored; the preview secret is not dumped, so a
# token signed before the dump is refused and a new one works.
is($node->safe_psql('shop_restored', q{SELECT table_name FROM staging.live_only_tables}), 'sales.orders',
	'live-only tables after restore');
my ($ret, $stdout, $stderr) = $node->psql('shop_restored',
	q{SET staging.version = 2000000000; INSERT INTO sales.orders VALUES (1)});
like($stderr, qr/cannot INSERT into live-only table "orders"/, 'a live-only table refuses writes in a preview after restore');
($ret, $stdout, $stderr) = $node->psql('shop_restored', "SELECT staging.preview('$token')");
like($stderr, qr/invalid preview token/, 'a preview token signed before the dump is refused after restore');
is($node->safe_psql('shop_restored', q{SELECT staging.preview(staging.sign_preview(2000000000))}), '2000000000',
	'a token signed after restore works');

# A parallel restore as the README describes it: the extension's data
# alone first, then the rest with -j.
$node->safe_psql('postgres', 'CREATE DATABASE shop_parallel');
for my $step ([ '--section=pre-data' ], [ '--section=data', '-n', 'staging' ],
	[ '-j', '4', '--section=data', '-N', 'staging' ], [ '-j', '4', '--section=post-data' ])
{
	$node->command_ok([ 'pg_restore', '--exit-on-error', @$step, '-d', 'shop_parallel', $dump ],
		"parallel restore: pg_restore @$step");
}
for my $name (sort keys %checks)
{
	is($node->safe_psql('shop_parallel', $checks{$name}), $before{$name},
		"restored in parallel as dumped: $name");
}

# The restored table behaves as a versioned one.
is($node->safe_psql('shop_restored', q{
INSERT INTO "Catalog"."Product" (sku) VALUES ('new') RETURNING entity_id, row_id}),
	'101|102', 'a new entity takes the next id of the restored sequence table');
($ret, $stdout, $stderr) = $node->psql('shop_restored',
	q{INSERT INTO "Catalog"."Product" (entity_id, sku, created_in) VALUES (3, 'overlap', 2100000000)});
like($stderr, qr/violates exclusion constraint/, 'overlapping versions refused after restore');
($ret, $stdout, $stderr) = $node->psql('shop_restored',
	q{ALTER TABLE "Catalog"."Product" DROP COLUMN created_in});
like($stderr, qr/cannot drop column "created_in" of versioned table "Product"/,
	'DDL guard active after restore');
$node->safe_psql('shop_restored', q{SELECT staging.disable_versioning('"Catalog"."Product"')});
is($node->safe_psql('shop_restored', q{
SELECT count(*), count(*) FILTER (WHERE sku = 'sku-3') FROM "Catalog"."Product"}),
	'101|1', 'disable_versioning after restore keeps the live version');
is($node->safe_psql('shop_restored', $access_methods),
	'"Catalog"."Product Decimal"=heap,"Catalog"."Product"=heap,category_product=heap',
	'disable_versioning gives the tables back to heap');

# A dump without access methods (pg_dump --no-table-access-method):
# restoring the registrations gives the tables the access method staging.
$node->command_ok([ 'pg_dump', '-Fc', '--no-table-access-method', '-f', "$dump.noam", 'shop' ],
	'pg_dump --no-table-access-method');
$node->safe_psql('postgres', 'CREATE DATABASE shop_noam');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'shop_noam', "$dump.noam" ],
	'pg_restore of it');
is($node->safe_psql('shop_noam', $access_methods), $before{'access methods'},
	'restored registrations give the tables the access method staging');

$node->stop;
done_testing();
