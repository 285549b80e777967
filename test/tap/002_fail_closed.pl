# Fail closed: a server restarted without shared_preload_libraries =
# 'staging' never lets a session read a versioned table unfiltered.
# Versioned and attribute tables use the access method "staging", whose
# handler refuses client sessions of non-superusers (55000, saying what to
# do); superusers and autovacuum keep working, and a superuser session
# that opened the tables loaded the library and reads them filtered.
# Restarted with the preload, everyone reads filtered again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('fail_closed');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->append_conf('postgresql.conf', "autovacuum_naptime = 1");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
CREATE EXTENSION staging;
CREATE ROLE merchant LOGIN;
CREATE ROLE shopper LOGIN;
GRANT CREATE ON SCHEMA public TO merchant;
SET ROLE merchant;
CREATE TABLE product (entity_id int PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE product_text (value_id serial PRIMARY KEY, entity_id int NOT NULL REFERENCES product, value text);
INSERT INTO product SELECT g, 10 FROM generate_series(1, 3) g;
INSERT INTO product_text (entity_id, value) SELECT g, 'name ' || g FROM generate_series(1, 3) g;
SELECT staging.enable_versioning('product');
SELECT staging.add_attribute_table('product_text', 'product');
CREATE TABLE category (id int);
INSERT INTO category VALUES (1), (2);
GRANT SELECT ON product, product_text, category TO shopper;
RESET ROLE;
});
# A second database, whose extension is dropped without the preload.
$node->safe_psql('postgres', 'CREATE DATABASE outlet');
$node->safe_psql('outlet', q{
CREATE EXTENSION staging;
CREATE TABLE product (entity_id int PRIMARY KEY, price numeric NOT NULL);
INSERT INTO product SELECT g, 10 FROM generate_series(1, 3) g;
SELECT staging.enable_versioning('product');
});
my $update = $node->safe_psql('shop',
	"SELECT staging.create_update('black friday', now() + interval '1 day')");
$node->safe_psql('shop', qq{
SET staging.version = '$update';
UPDATE product SET price = 1 WHERE entity_id = 2;
UPDATE product_text SET value = 'secret name' WHERE value = 'name 2';
});
is($node->safe_psql('shop', q{
SELECT string_agg(c.relname || '=' || a.amname, ',' ORDER BY c.relname)
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('product', 'product_text', 'sequence_product')}),
	'product=staging,product_text=staging,sequence_product=heap',
	'versioned and attribute tables use the access method staging');

my $read = q{SELECT string_agg(price::text, ',' ORDER BY entity_id) FROM product};
my $read_attributes = q{SELECT string_agg(value, ',' ORDER BY value) FROM product_text};
is($node->safe_psql('shop', "SET ROLE shopper; $read"), '10,10,10',
	'preloaded: the shopper reads the live prices');

# Restarted without the preload.
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->restart;

for my $role ('shopper', 'merchant')
{
	for my $sql ($read, $read_attributes, 'COPY product TO STDOUT',
		'SELECT count(*) FROM product_text')
	{
		my ($ret, $stdout, $stderr) = $node->psql('shop',
			"\\set VERBOSITY verbose\n$sql", extra_params => [ '-U', $role ]);
		isnt($ret, 0, "not preloaded: $role is refused: $sql");
		is($stdout, '', "not preloaded: $role reads nothing: $sql");
		like($stderr,
			qr/55000: versioned tables cannot be read or changed: library "staging" was not loaded by shared_preload_libraries/,
			"not preloaded: $role gets 55000 and the reason: $sql");
	}
}
my ($ret, $stdout, $stderr) = $node->psql('shop', $read, extra_params => [ '-U', 'shopper' ]);
like($stderr, qr/HINT:  Add 'staging' to shared_preload_libraries in postgresql.conf and restart the server/,
	'the hint says what to do');

# A superuser's SECURITY DEFINER function does not open them for others.
$node->safe_psql('shop', qq{
CREATE FUNCTION read_prices() RETURNS text LANGUAGE sql SECURITY DEFINER AS \$\$ $read \$\$;
GRANT EXECUTE ON FUNCTION read_prices() TO shopper;
});
($ret, $stdout, $stderr) = $node->psql('shop', 'SELECT read_prices()',
	extra_params => [ '-U', 'shopper' ]);
like($stderr, qr/versioned tables cannot be read or changed/,
	'not preloaded: a superuser SECURITY DEFINER function is refused to a shopper');

# A superuser works (that session loaded the library: it reads filtered,
# also after SET ROLE; other tables are not concerned).
is($node->safe_psql('shop', "$read; SET ROLE shopper; $read; RESET ROLE; SET staging.version = 'all';
SELECT count(*) FROM product"),
	"10,10,10\n10,10,10\n4", 'not preloaded: a superuser reads, filtered');
is($node->safe_psql('shop', qq{SET staging.version = '$update'; $read_attributes}),
	'name 1,name 3,secret name', 'not preloaded: a superuser previews');
($ret, $stdout, $stderr) = $node->psql('shop', "$read; SET ROLE shopper; SET staging.version = '$update'; $read");
like($stderr, qr/permission denied to read future version/,
	'not preloaded: in a superuser session, a shopper still may not preview');
is($node->safe_psql('shop', 'SELECT count(*) FROM category', extra_params => [ '-U', 'shopper' ]),
	'2', 'not preloaded: non-versioned tables are not concerned');

# Autovacuum still vacuums and analyzes them.
$node->safe_psql('shop', q{
UPDATE product SET price = price WHERE entity_id = 1;
UPDATE product_text SET value = value WHERE value_id = 1;
UPDATE product SET price = price WHERE entity_id = 1;
UPDATE product_text SET value = value WHERE value_id = 1;
ALTER TABLE product SET (autovacuum_vacuum_threshold = 1, autovacuum_analyze_threshold = 1,
                         autovacuum_vacuum_scale_factor = 0, autovacuum_analyze_scale_factor = 0);
ALTER TABLE product_text SET (autovacuum_vacuum_threshold = 1, autovacuum_analyze_threshold = 1,
                              autovacuum_vacuum_scale_factor = 0, autovacuum_analyze_scale_factor = 0);
});
ok( $node->poll_query_until('shop', q{
SELECT count(*) = 2 FROM pg_stat_user_tables
 WHERE relname IN ('product', 'product_text') AND autovacuum_count > 0 AND autoanalyze_count > 0}),
	'not preloaded: autovacuum vacuums and analyzes the versioned tables');

# DROP EXTENSION (by the event trigger here: the hook is not there) keeps
# the tables, as heap tables.
$node->safe_psql('outlet', 'DROP EXTENSION staging CASCADE');
is($node->safe_psql('outlet', q{
SELECT a.amname, count(*) FROM product p, pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.oid = 'product'::regclass GROUP BY 1}),
	'heap|3', 'not preloaded: DROP EXTENSION CASCADE keeps the versioned table, as a heap table');

# Restarted with the preload: filtered again, for everyone.
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "'staging'");
$node->restart;
is($node->safe_psql('shop', $read, extra_params => [ '-U', 'shopper' ]), '10,10,10',
	'preloaded again: the shopper reads the live prices');
is($node->safe_psql('shop', $read_attributes, extra_params => [ '-U', 'shopper' ]), 'name 1,name 2,name 3',
	'preloaded again: the shopper reads the live attribute rows');
($ret, $stdout, $stderr) = $node->psql('shop', 'COPY product TO STDOUT', extra_params => [ '-U', 'shopper' ]);
like($stderr, qr/permission denied to copy every version/, 'preloaded again: COPY of every version refused');
is($node->safe_psql('shop', qq{SET staging.version = '$update'; $read}, extra_params => [ '-U', 'merchant' ]),
	'10,1,10', 'preloaded again: the owner previews');

# DROP EXTENSION with the preload (by the ProcessUtility hook).
$node->safe_psql('shop', 'DROP EXTENSION staging CASCADE');
is($node->safe_psql('shop', q{
SELECT string_agg(c.relname || '=' || a.amname, ',' ORDER BY c.relname)
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('product', 'product_text', 'sequence_product')}),
	'product=heap,product_text=heap,sequence_product=heap',
	'DROP EXTENSION CASCADE keeps the tables, as heap tables');
is($node->safe_psql('shop', 'SELECT count(*) FROM product', extra_params => [ '-U', 'shopper' ]),
	'4', 'and they are readable (unversioned)');

# CREATE EXTENSION again starts empty and does not adopt the tables left
# behind.
$node->safe_psql('shop', 'CREATE EXTENSION staging');
is($node->safe_psql('shop', q{
SELECT staging.live_version(), (SELECT count(*) FROM staging.updates), (SELECT count(*) FROM staging.versioned_tables)}),
	'1|0|0', 'CREATE EXTENSION after DROP EXTENSION CASCADE starts empty');
($ret, $stdout, $stderr) = $node->psql('shop', "\\set VERBOSITY verbose\nSELECT staging.enable_versioning('product');");
like($stderr, qr/22023: table (public\.)?product already has a column created_in/,
	'and enable_versioning refuses a table left behind with its version columns');

$node->stop;
done_testing();
