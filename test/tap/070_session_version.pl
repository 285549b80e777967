# The session version outside pg_regress: databases without the extension
# are untouched by the filter (the no-op fast path), a connected session
# follows CREATE EXTENSION, registration and DROP EXTENSION made by others,
# pg_dump (COPY and --inserts) sees every row and the dump restores with
# its foreign keys, and preview tokens survive a restart but not a restore.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('session_version');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->start;

my $shape = q{
	CREATE TABLE products (row_id bigint PRIMARY KEY, entity_id int NOT NULL,
		sku text NOT NULL, created_in bigint NOT NULL, updated_in bigint NOT NULL);
	CREATE TABLE sequence_products (sequence_value int PRIMARY KEY);
	INSERT INTO products VALUES (1, 1, 'tee', 1, 1000),
		(2, 1, 'tee (new)', 1000, 4102444800),
		(3, 1, 'tee (2100)', 4102444800, 9223372036854775807);
};

# A database without the extension: a table shaped like a versioned one
# returns every row, whatever staging.version says.
$node->safe_psql('postgres', 'CREATE DATABASE plain');
$node->safe_psql('plain', $shape);
for my $v ('live', '1', '1000', '4102444800', 'all')
{
	is($node->safe_psql('plain',
			"SET staging.version = '$v'; SELECT count(*) FROM products"),
		'3', "no extension: every row at staging.version = '$v'");
}
is($node->safe_psql('plain', "SET staging.version = 1000; EXPLAIN (COSTS OFF) SELECT * FROM products"),
	'Seq Scan on products', 'no extension: no filter in the plan');

# A session connected before CREATE EXTENSION follows what others do.
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', $shape);
my $session = $node->background_psql('shop');
$session->query_safe('SET staging.version = 1000');
$session->query_safe('PREPARE n AS SELECT count(*) FROM products');
is($session->query_safe('EXECUTE n'), '3', 'before CREATE EXTENSION: every row');
$node->safe_psql('shop', 'CREATE EXTENSION staging');
is($session->query_safe('EXECUTE n'), '3', 'extension created, table not versioned: every row');
$node->safe_psql('shop',
	"INSERT INTO staging.versioned_table VALUES ('products', 'entity_id', 'sequence_products')");
is($session->query_safe('EXECUTE n'), '1',
	'registered by another session: the connected session filters at once');
is($session->query_safe('SELECT sku FROM products'), 'tee (new)',
	'and reads its session version');
$node->safe_psql('shop', 'DROP EXTENSION staging');
is($session->query_safe('EXECUTE n'), '3', 'after DROP EXTENSION: every row again');
$node->safe_psql('shop', 'CREATE EXTENSION staging');
$node->safe_psql('shop',
	"INSERT INTO staging.versioned_table VALUES ('products', 'entity_id', 'sequence_products')");
is($session->query_safe('EXECUTE n'), '1', 'created and registered again: filtered again');
$session->quit;

# pg_dump sees every row: COPY, and --inserts (row_security = off).
$node->safe_psql('shop', q{
	CREATE TABLE prices (row_id bigint NOT NULL REFERENCES products ON DELETE CASCADE,
		store int NOT NULL, price numeric NOT NULL, PRIMARY KEY (row_id, store));
	INSERT INTO prices VALUES (1, 0, 10), (2, 0, 12), (3, 0, 15);
	INSERT INTO staging.attribute_table VALUES ('prices', 'products', 'entity_id');
});
$node->safe_psql('shop', 'UPDATE staging.live_state SET version = 1000');
is($node->safe_psql('shop', 'SELECT sku FROM products'), 'tee (new)', 'live: one row');
my $dump = `pg_dump -p @{[$node->port]} -h @{[$node->host]} shop`;
like($dump, qr/COPY public\.products .*\n1\t1\ttee\t1\t1000\n2\t1\ttee \(new\)\t1000\t4102444800\n3\t1\ttee \(2100\)\t4102444800\t9223372036854775807\n\\\.\n/s,
	'pg_dump (COPY) has every version row');
my $inserts = `pg_dump --inserts -p @{[$node->port]} -h @{[$node->host]} -t products shop`;
my @rows = $inserts =~ /INSERT INTO public\.products VALUES/g;
is(scalar @rows, 3, 'pg_dump --inserts has every version row');
unlike($dump, qr/preview_secret/, 'the preview secret is not dumped');

# The dump restores: registrations, every row, and the foreign key from the
# attribute table to version rows the restoring session does not see.
my $token = $node->safe_psql('shop', 'SELECT staging.sign_preview(4102444800)');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
# (Loading the dump's live_state row may meet the restored extension's
# own row on its primary key; nothing else may fail.)
my ($ret, $out, $err) = $node->psql('restored', $dump, on_error_stop => 0);
my @errors = grep { !/live_state_pkey|COPY live_state|Key \(singleton\)/ } ($err =~ /^.*(?:ERROR|DETAIL|CONTEXT):.*$/mg);
is(scalar @errors, 0, 'the dump restores without other errors') or diag($err);
is($node->safe_psql('restored', "SET staging.version = 'all'; SELECT count(*) FROM products"),
	'3', 'restored: every row');
is($node->safe_psql('restored', 'SET staging.version = 1000; SELECT sku FROM products'),
	'tee (new)', 'restored: the registration filters');
is($node->safe_psql('restored',
		"SELECT count(*) FROM pg_constraint WHERE conrelid = 'prices'::regclass AND contype = 'f'"),
	'1', 'restored: the attribute table keeps its foreign key');
($ret, $out, $err) = $node->psql('restored', "SELECT staging.preview('$token')");
like($err, qr/invalid preview token/, 'a restored database has a new secret: old tokens fail');

# Tokens and the live version survive a restart.
$node->restart;
is($node->safe_psql('shop', "SELECT staging.preview('$token'); SELECT sku FROM products"),
	"4102444800\ntee (2100)", 'a token signed before a restart still opens its preview');
is($node->safe_psql('shop', 'SELECT staging.current_version(), sku FROM products'),
	'1000|tee (new)', 'the live version is read again after a restart');

$node->stop;
done_testing();
