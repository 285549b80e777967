# The library must be preloaded: CREATE EXTENSION refuses otherwise, with a
# hint.  With it preloaded, databases without the extension work as usual,
# and the extension can come and go while sessions are connected.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('preload');
$node->init;
$node->start;

# Not preloaded: refused, with SQLSTATE 55000 and a hint.
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nCREATE EXTENSION staging;");
isnt($ret, 0, 'CREATE EXTENSION fails without preload');
like($stderr, qr/55000: extension "staging" must be loaded via shared_preload_libraries/,
	'error names shared_preload_libraries with SQLSTATE 55000');
like($stderr, qr/HINT:  Add 'staging' to shared_preload_libraries/, 'hint says what to do');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_extension WHERE extname = 'staging'"),
	'0', 'nothing was installed');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_namespace WHERE nspname = 'staging'"),
	'0', 'no schema left behind');

# Preloaded: accepted.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->restart;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', 'CREATE EXTENSION staging');
is($node->safe_psql('shop', 'SELECT staging.live_version()'), '1',
	'extension created with the library preloaded');

# A database without the extension is untouched by the hooks.
$node->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY, v text)');
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g");
is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM t'), '100|5050',
	'queries in a database without the extension see every row');

# A session opened before CREATE EXTENSION sees the extension afterwards, and
# one opened before DROP EXTENSION keeps working after it.
my $session = $node->background_psql('shop');
$session->query_safe('CREATE TABLE products (entity_id int PRIMARY KEY)');
$session->query_safe('CREATE TABLE sequence_products (sequence_value int PRIMARY KEY)');
$node->safe_psql('shop', 'DROP EXTENSION staging');
is($session->query_safe('SELECT count(*) FROM products'), '0',
	'a session survives DROP EXTENSION under it');
$node->safe_psql('shop', 'CREATE EXTENSION staging');
$node->safe_psql('shop',
	"INSERT INTO staging.versioned_table VALUES ('products', 'entity_id', 'sequence_products')");
is($session->query_safe("SELECT staging.versioned_kind('products')"), 'main',
	'a session sees the extension and registrations created after it connected');
$session->quit;

# ALTER EXTENSION staging UPDATE is refused the same way, and says so.
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION staging VERSION '1.0'");
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->restart;
($ret, $stdout, $stderr) = $node->psql('old', "\\set VERBOSITY verbose\nALTER EXTENSION staging UPDATE;");
isnt($ret, 0, 'ALTER EXTENSION staging UPDATE fails without preload');
like($stderr, qr/55000: extension "staging" must be loaded via shared_preload_libraries/,
	'with the same error');
like($stderr, qr/HINT:  .*then run CREATE EXTENSION staging or ALTER EXTENSION staging UPDATE again/,
	'and a hint that fits the command');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'staging'"),
	'1.0', 'the extension stays at 1.0');

$node->stop;
done_testing();
