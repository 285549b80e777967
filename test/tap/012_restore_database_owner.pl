# A dump restored by the owner of the target database, who is not a
# superuser (a superuser created the database for it and ran CREATE
# EXTENSION staging in it; pg_restore --no-owner as the owner), comes back
# whole: the live version, the updates, the write record, the
# registrations, every version row and the changelogs, in every format
# (custom, directory, tar, plain through psql).  The restored
# tables are versioned again: writes at the live version and at an
# update, a go-live and the changelogs give what they give in the source.
# What cannot be restored that way fails loudly, with a hint, and leaves
# nothing behind in a single transaction: a second restore into the same
# database, a dump made with --inserts, the dump's grants on the
# extension's objects.  And the database owner cannot use the restore's
# privileges outside a restore, nor any other role at all.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('restore_owner');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->start;
my $dir = $node->basedir;

$node->safe_psql('postgres', q{
CREATE ROLE shopowner LOGIN;
CREATE ROLE mallory LOGIN;
CREATE ROLE alice LOGIN;
CREATE ROLE editor;
CREATE DATABASE shop;
});

# -- The source shop --------------------------------------------------------
# A versioned catalog with an attribute table, and a second versioned table
# in a schema that sorts after "staging" (pg_dump then loads its rows after
# the registrations); a changelog on both; grants on the extension's
# objects to an editor.
$node->safe_psql('shop', q{
SET client_min_messages = warning;
CREATE EXTENSION staging;
CREATE SCHEMA catalog;
CREATE TABLE catalog.product (entity_id serial PRIMARY KEY, sku text NOT NULL UNIQUE, price numeric);
CREATE TABLE catalog.product_decimal (
    value_id serial PRIMARY KEY, attribute_id int NOT NULL, store_id int NOT NULL DEFAULT 0,
    entity_id int NOT NULL REFERENCES catalog.product ON DELETE CASCADE, value numeric(12,2),
    UNIQUE (entity_id, attribute_id, store_id));
CREATE SCHEMA web;
CREATE TABLE web.banner (banner_id serial PRIMARY KEY, title text);
INSERT INTO catalog.product (sku, price) SELECT 'sku-' || g, g FROM generate_series(1, 20) g;
INSERT INTO catalog.product_decimal (attribute_id, entity_id, value)
SELECT 77, g, g + 0.5 FROM generate_series(1, 20) g;
INSERT INTO web.banner (title) SELECT 'banner ' || g FROM generate_series(1, 3) g;
SELECT staging.enable_versioning('catalog.product');
SELECT staging.add_attribute_table('catalog.product_decimal', 'catalog.product');
SELECT staging.enable_versioning('web.banner', 'banner_id');
SELECT staging.create_changelog('search', 'catalog.product');
SELECT staging.subscribe('search', 'catalog.product_decimal', ARRAY['value']);
SELECT staging.create_changelog('banners', 'web.banner');
GRANT EXECUTE ON FUNCTION staging.create_update(text, timestamptz, timestamptz, text) TO editor;
GRANT SELECT ON staging.updates TO editor;
});

# A sale that goes live (and is still running), a permanent update and a
# temporary one in the future, each with writes at its version; live
# edits after the go-live.
sub create_update
{
	my ($args) = @_;
	my $id = $node->safe_psql('shop', "SELECT staging.create_update($args)");
	return ($id, $node->safe_psql('shop', "SELECT rollback_id FROM staging.updates WHERE id = $id"));
}
my ($sale, $sale_end) = create_update(q{'sale', now() + interval '3 seconds', now() + interval '1 hour'});
my ($range) = create_update(q{'new range', now() + interval '1 day'});
my ($summer, $summer_end) = create_update(q{'summer', now() + interval '2 days', now() + interval '3 days'});
$node->safe_psql('shop', qq{
SET staging.version = $sale;
UPDATE catalog.product SET price = price / 2 WHERE entity_id <= 5;
UPDATE catalog.product_decimal d SET value = 1.11
  FROM catalog.product p WHERE d.row_id = p.row_id AND p.entity_id = 6;
SET staging.version = $range;
INSERT INTO catalog.product (sku, price) VALUES ('new-range', 99);
DELETE FROM catalog.product WHERE entity_id = 7;
UPDATE web.banner SET title = 'new range' WHERE banner_id = 1;
SET staging.version = $summer;
UPDATE catalog.product SET price = 0.99 WHERE entity_id IN (3, 8);
UPDATE web.banner SET title = 'summer' WHERE banner_id = 2;
});
$node->poll_query_until('shop', "SELECT now() > staging.to_timestamp($sale)")
  or die 'the sale did not start';
is($node->safe_psql('shop', 'SELECT staging.advance()'), $sale, 'the sale went live');
$node->safe_psql('shop', q{
UPDATE catalog.product SET price = 1000 WHERE entity_id IN (1, 8);
UPDATE catalog.product SET sku = 'sku-10 renamed' WHERE entity_id = 10;
INSERT INTO catalog.product (sku, price) VALUES ('live', 7);
UPDATE web.banner SET title = 'live' WHERE banner_id = 3;
});

# What must come back, read as a superuser (who may read every version).
my @versions = ('live', $sale_end, $range, $summer, $summer_end, 'all');
my %checks = (
	'live version' => 'SELECT staging.live_version()',
	'updates' => q{SELECT string_agg(format('%s %s %s %s %s %s', id, name, description, start_time,
                                 end_time, rollback_id), E'\n' ORDER BY id) FROM staging.updates},
	'registrations' => q{
SELECT string_agg(format('%s %s %s %s', relid, entity_column, sequence_table, saved), E'\n' ORDER BY relid::text)
  FROM staging.versioned_table
UNION ALL
SELECT string_agg(format('%s %s %s %s', relid, main_table, entity_column, saved), E'\n' ORDER BY relid::text)
  FROM staging.attribute_table},
	'write record' => q{
SELECT count(*), string_agg(format('%s %s %s %s %s %s %s', main_table, entity_id, owner, position,
                            attribute_table, field, value), E'\n' ORDER BY seq)
  FROM staging.field_writes},
	'changelogs' => q{
SELECT string_agg(format('%s %s %s %s', name, main_table, entity_column, log_table), E'\n' ORDER BY name)
  FROM staging.changelog
UNION ALL
SELECT string_agg(format('%s %s %s', changelog, tbl, columns), E'\n' ORDER BY changelog, tbl::text)
  FROM staging.changelog_subscription},
	'changelog rows' => q{
SELECT (SELECT string_agg(format('%s %s', version_id, entity_id), ',' ORDER BY version_id) FROM catalog.search_cl),
       (SELECT string_agg(format('%s %s', version_id, entity_id), ',' ORDER BY version_id) FROM web.banners_cl)},
	'invariants' => q{SELECT (SELECT count(*) FROM staging.verify('catalog.product')),
                                (SELECT count(*) FROM staging.verify('web.banner'))});
for my $v (@versions)
{
	$checks{"rows at $v"} = qq{
SET staging.version = '$v';
SELECT string_agg(format('%s %s %s %s %s %s', row_id, entity_id, sku, price, created_in, updated_in), E'\\n'
                  ORDER BY row_id) FROM catalog.product;
SELECT string_agg(format('%s %s %s %s', d.row_id, p.entity_id, d.attribute_id, d.value), E'\\n'
                  ORDER BY d.row_id, d.attribute_id)
  FROM catalog.product_decimal d JOIN catalog.product p ON p.row_id = d.row_id;
SELECT string_agg(format('%s %s %s %s %s', row_id, banner_id, title, created_in, updated_in), E'\\n'
                  ORDER BY row_id) FROM web.banner};
}
sub state_of
{
	my ($db) = @_;
	return { map { $_ => $node->safe_psql($db, $checks{$_}) } keys %checks };
}
my $source = state_of('shop');
like($source->{'write record'}, qr/^\d{2,}\|/, 'the source has a write record');
like($source->{'changelog rows'}, qr/\d/, 'the source has changelog rows');

# -- The dumps ---------------------------------------------------------------
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/shop.dump", $node->connstr('shop') ], 'pg_dump -Fc');
$node->command_ok([ 'pg_dump', '-Fd', '-f', "$dir/shop.dir", $node->connstr('shop') ], 'pg_dump -Fd');
$node->command_ok([ 'pg_dump', '-Ft', '-f', "$dir/shop.tar", $node->connstr('shop') ], 'pg_dump -Ft');
$node->command_ok([ 'pg_dump', '-Fp', '--no-owner', '--no-privileges', '-f', "$dir/shop.sql",
		$node->connstr('shop') ], 'pg_dump -Fp --no-owner --no-privileges');
$node->command_ok([ 'pg_dump', '-Fc', '--inserts', '-f', "$dir/inserts.dump", $node->connstr('shop') ],
	'pg_dump --inserts');

# A new database for the shop owner, with the extension a superuser made.
sub new_database
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db OWNER shopowner");
	$node->safe_psql($db, 'CREATE EXTENSION staging');
}

# Runs a command; returns its success and its stderr.
sub run_as
{
	my @cmd = @_;
	my ($stdout, $stderr) = ('', '');
	my $ok = IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr);
	return ($ok, $stderr);
}

# The dump's grants on the extension's objects are the superuser's to
# restore: the owner leaves them out (pg_restore -L without the "ACL
# staging" lines, or --no-privileges); with them, the restore stops at the
# first one and says so.
new_database('with_grants');
my ($ok, $stderr) = run_as('pg_restore', '--no-owner', '--single-transaction', '--exit-on-error',
	'-U', 'shopowner', '-d', $node->connstr('with_grants'), "$dir/shop.dump");
ok(!$ok, 'a restore of grants on the extension\'s objects by the database owner fails');
like($stderr, qr/permission denied for function create_update.*\n.*HINT: .*ACL staging.*--no-privileges/,
	'... saying how to restore without them');
is($node->safe_psql('with_grants',
		q{SELECT staging.live_version(), (SELECT count(*) FROM staging.updates),
                 to_regnamespace('catalog') IS NULL}),
	'1|0|t', '... and, in a single transaction, leaves nothing behind');

my $list = '';
IPC::Run::run([ 'pg_restore', '-l', "$dir/shop.dump" ], '>', \$list) or die 'pg_restore -l';
like($list, qr/^\d+; \d+ \d+ ACL staging FUNCTION create_update/m, 'the grant is an "ACL staging" entry');
open(my $fh, '>', "$dir/shop.list") or die;
print $fh join("\n", grep { !/ ACL staging / } split /\n/, $list), "\n";
close $fh;

# -- The restores by the database owner --------------------------------------
my %restores = (
	custom => [ 'pg_restore', '--no-owner', '--single-transaction', '--exit-on-error',
		'-L', "$dir/shop.list", "$dir/shop.dump" ],
	directory => [ 'pg_restore', '--no-owner', '--no-privileges', '--single-transaction',
		'--exit-on-error', "$dir/shop.dir" ],
	tar => [ 'pg_restore', '--no-owner', '--no-privileges', '--single-transaction',
		'--exit-on-error', "$dir/shop.tar" ],
	plain => [ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction',
		'-f', "$dir/shop.sql" ]);
for my $format (sort keys %restores)
{
	my $db = "shop_$format";
	new_database($db);
	($ok, $stderr) = run_as(@{ $restores{$format} }, '-U', 'shopowner', '-d', $node->connstr($db));
	ok($ok, "$format: the database owner restores the dump");
	is($stderr, '', "$format: without an error or a warning");
	my $restored = state_of($db);
	for my $name (sort keys %checks)
	{
		is($restored->{$name}, $source->{$name}, "$format: restored as dumped: $name");
	}
	is($node->safe_psql($db, q{
SELECT count(*) FROM pg_class c
 WHERE c.relnamespace IN ('catalog'::regnamespace, 'web'::regnamespace)
   AND c.relkind IN ('r', 'S') AND c.relowner <> 'shopowner'::regrole}),
		'0', "$format: the restored tables belong to the database owner");
	is($node->safe_psql($db, q{
SELECT (SELECT last_value FROM staging.field_writes_seq) >= (SELECT max(seq) FROM staging.field_writes)}),
		't', "$format: the write record's sequence is past the restored rows");
}

# -- The restored shop works as the source does --------------------------------
# The same writes (by each table's owner), consumers, a go-live and a
# reschedule in the source and in a restored database give the same rows,
# write record and changelog batches.
sub work
{
	my ($db, $owner) = @_;
	my %owner = $owner ? (extra_params => [ '-U', $owner ]) : ();
	my $out = $node->safe_psql($db, qq{
SELECT staging.add_consumer('search', 'indexer');
SELECT staging.add_consumer('banners', 'indexer');
SET staging.version = $range;
UPDATE catalog.product SET price = price + 1 WHERE entity_id IN (2, 8);
UPDATE catalog.product_decimal d SET value = 2.22
  FROM catalog.product p WHERE d.row_id = p.row_id AND p.entity_id = 2;
SET staging.version = $summer;
INSERT INTO catalog.product (sku, price) VALUES ('summer-only', 3) RETURNING entity_id, row_id;
RESET staging.version;
UPDATE catalog.product SET price = 5 WHERE entity_id IN (4, 9);
UPDATE web.banner SET title = 'live again' WHERE banner_id = 1;
INSERT INTO catalog.product (sku, price) VALUES ('after the restore', 1) RETURNING entity_id, row_id;
}, %owner);
	$out .= "\n" . $node->safe_psql($db, qq{
SELECT string_agg(entity_id::text, ',' ORDER BY entity_id) FROM staging.next_batch('search', 'indexer');
SELECT string_agg(entity_id::text, ',' ORDER BY entity_id) FROM staging.next_batch('banners', 'indexer');
}, %owner);
	# as a superuser: the campaign functions are not granted to the owner
	$out .= "\n" . $node->safe_psql($db, qq{
SELECT staging.advance(staging.to_timestamp($range));
SELECT staging.reschedule_update($summer, staging.to_timestamp($summer) + interval '1 hour',
                                 staging.to_timestamp($summer_end) + interval '1 hour');
});
	$out .= "\n" . $node->safe_psql($db, q{
SELECT staging.finish_batch('search', 'indexer',
                            (SELECT max(batch_id) FROM staging.next_batch('search', 'indexer')));
SELECT string_agg(entity_id::text, ',' ORDER BY entity_id) FROM staging.next_batch('search', 'indexer');
SELECT staging.finish_batch('banners', 'indexer',
                            (SELECT max(batch_id) FROM staging.next_batch('banners', 'indexer')));
SELECT string_agg(entity_id::text, ',' ORDER BY entity_id) FROM staging.next_batch('banners', 'indexer');
}, %owner);
	return $out;
}
my $worked = work('shop');
note $worked;
my $after = state_of('shop');
is(work('shop_custom', 'shopowner'), $worked,
	'the restored shop: writes by the owner, a go-live, a reschedule and the changelogs as in the source');
my $restored_after = state_of('shop_custom');
is($restored_after->{$_}, $after->{$_}, "after the same work: $_") for sort keys %checks;

# -- What fails, loudly and whole ---------------------------------------------
# A second restore into a database that has the state.
my $before = $node->safe_psql('shop_tar', $checks{'updates'} . ';' . $checks{'live version'});
($ok, $stderr) = run_as('pg_restore', '--no-owner', '--no-privileges', '--data-only',
	'--single-transaction', '--exit-on-error', '-U', 'shopowner', '-d', $node->connstr('shop_tar'),
	'-t', 'updates', '-t', 'live_state', "$dir/shop.tar");
ok(!$ok, 'a restore into a database that has the state fails');
like($stderr, qr/cannot restore staging\.\w+: the database already has the extension's state.*HINT: [^\n]*new database/s,
	'... saying to restore into a new database');
is($node->safe_psql('shop_tar', $checks{'updates'} . ';' . $checks{'live version'}), $before,
	'... and changes nothing');

# A dump made with --inserts: its INSERTs are refused.
new_database('shop_inserts');
($ok, $stderr) = run_as('pg_restore', '--no-owner', '--no-privileges', '--single-transaction',
	'--exit-on-error', '-U', 'shopowner', '-d', $node->connstr('shop_inserts'), "$dir/inserts.dump");
ok(!$ok, 'a dump made with --inserts cannot be restored by the database owner');
like($stderr, qr/permission denied to insert into staging\.\w+ outside a restore.*\n.*\n.*HINT: .*--inserts/,
	'... and the error says to dump without --inserts');
is($node->safe_psql('shop_inserts',
		q{SELECT staging.live_version(), (SELECT count(*) FROM staging.updates),
                 to_regnamespace('catalog') IS NULL}),
	'1|0|t', '... leaving nothing behind');
# A superuser restores it.
$node->safe_psql('postgres', 'CREATE DATABASE shop_inserts_su');
$node->safe_psql('shop_inserts_su', 'CREATE EXTENSION staging');
($ok, $stderr) = run_as('pg_restore', '--single-transaction', '--exit-on-error',
	'-d', $node->connstr('shop_inserts_su'), "$dir/inserts.dump");
ok($ok, 'a superuser restores the --inserts dump') or diag $stderr;
my $inserts = state_of('shop_inserts_su');
is($inserts->{$_}, $source->{$_}, "--inserts, by a superuser: $_") for sort keys %checks;

# -- Attacks -------------------------------------------------------------------
# The database owner, outside a restore, in a database that has state.
my %psql_as_owner = (extra_params => [ '-U', 'shopowner' ]);
my @attacks = (
	[ 'INSERT into updates',
	  "INSERT INTO staging.updates VALUES (4000000000, 'x', NULL, staging.to_timestamp(4000000000), NULL, NULL)",
	  qr/permission denied to insert into staging\.updates outside a restore/ ],
	[ 'INSERT into live_state', 'INSERT INTO staging.live_state VALUES (true, 4000000000)',
	  qr/permission denied to insert into staging\.live_state outside a restore/ ],
	[ 'COPY into updates', "COPY staging.updates FROM STDIN;\n4000000000\tx\t\\N\t2096-10-02 07:06:40+00\t\\N\t\\N\n\\.",
	  qr/cannot restore staging\.updates: the database already has/ ],
	[ 'COPY into live_state', "COPY staging.live_state FROM STDIN;\nt\t4000000000\n\\.",
	  qr/cannot restore staging\.live_state: the database already has/ ],
	[ 'COPY into field_writes',
	  "COPY staging.field_writes FROM STDIN;\n999999\tcatalog.product\t1\t0\t1\t\\N\tprice\t\"1\"\n\\.",
	  qr/cannot restore staging\.field_writes: the database already has/ ],
	[ 'UPDATE of live_state', 'UPDATE staging.live_state SET version = 4000000000',
	  qr/permission denied for table live_state/ ],
	[ 'DELETE from updates', 'DELETE FROM staging.updates', qr/permission denied for table updates/ ],
	[ 'reading the schedule', 'SELECT count(*) FROM staging.updates', qr/permission denied for table updates/ ],
	[ 'setval of the write record\'s sequence', "SELECT setval('staging.field_writes_seq', 1)",
	  qr/permission denied for sequence field_writes_seq/ ],
	[ 'the guard\'s helper', "SELECT staging._restore_target('staging.updates')",
	  qr/is for the restore guard of a COPY into that table/ ]);
for my $attack (@attacks)
{
	my ($name, $sql, $error) = @$attack;
	my ($ret, $out, $err) = $node->psql('shop_tar', $sql, %psql_as_owner);
	like($err, $error, "the database owner outside a restore: $name is refused");
}
my ($ret, $out, $err) = $node->psql('shop_tar', q{
DO $$ BEGIN
  INSERT INTO staging.updates VALUES (4000000000, 'x', NULL, staging.to_timestamp(4000000000), NULL, NULL);
EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'sqlstate %', SQLSTATE;
END $$}, %psql_as_owner);
like($err, qr/sqlstate 42501/, 'the guard\'s SQLSTATE is 42501');
is($node->safe_psql('shop_tar', $checks{'updates'} . ';' . $checks{'live version'}), $before,
	'the attacks changed nothing');

# A role that is not the database owner may not write the state at all,
# nor put the changelog triggers on its tables.
for my $sql ("COPY staging.updates FROM STDIN;\n4000000000\tx\t\\N\t2096-10-02 07:06:40+00\t\\N\t\\N\n\\.",
	"INSERT INTO staging.live_state VALUES (true, 4000000000)",
	"COPY staging.changelog_subscription FROM STDIN;\nsearch\tcatalog.product\t\\N\n\\.")
{
	($ret, $out, $err) = $node->psql('shop_tar', $sql, extra_params => [ '-U', 'mallory' ]);
	like($err, qr/permission denied for table/, 'another role: ' . (split /\n/, $sql)[0]);
}
($ret, $out, $err) = $node->psql('shop_tar', q{
CREATE TEMP TABLE t (entity_id int);
CREATE TRIGGER search_cl AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION staging._changelog_trigger('search')},
	extra_params => [ '-U', 'mallory' ]);
like($err, qr/permission denied for function (staging\.)?_changelog_trigger/,
	'another role cannot use the changelog trigger');

# The database owner, in a new database where a table of another role is
# versioned: the schedule and the live version apply to it, and rows of
# the write record and changelogs naming it belong to that role.
new_database('shared');
$node->safe_psql('shared', q{
CREATE SCHEMA alice AUTHORIZATION alice;
GRANT USAGE ON SCHEMA alice TO PUBLIC;
SET ROLE alice;
CREATE TABLE alice.item (entity_id serial PRIMARY KEY, name text);
SELECT staging.enable_versioning('alice.item');
CREATE TABLE alice.item_log (version_id bigint, entity_id bigint, txid xid8, changed_at timestamptz);
});
my @foreign = (
	[ 'the schedule', "COPY staging.updates FROM STDIN;\n4000000000\tx\t\\N\t2096-10-02 07:06:40+00\t\\N\t\\N\n\\.",
	  qr/cannot restore staging\.updates: versioned table alice\.item belongs to role alice/ ],
	[ 'the live version', "COPY staging.live_state FROM STDIN;\nt\t4000000000\n\\.",
	  qr/cannot restore staging\.live_state: versioned table alice\.item belongs to role alice/ ],
	[ 'the write record', "COPY staging.field_writes FROM STDIN;\n1\talice.item\t1\t0\t1\t\\N\tname\t\"x\"\n\\.",
	  qr/cannot restore a row of staging\.field_writes naming table alice\.item: it belongs to role alice/ ],
	[ 'a changelog', "COPY staging.changelog FROM STDIN;\nsteal\talice.item\tentity_id\talice.item_log\n\\.",
	  qr/cannot restore a row of staging\.changelog naming table alice\.item: it belongs to role alice/ ]);
for my $attack (@foreign)
{
	my ($name, $sql, $error) = @$attack;
	($ret, $out, $err) = $node->psql('shared', $sql, %psql_as_owner);
	like($err, $error, "the database owner cannot restore $name over another role's table");
}
is($node->safe_psql('shared', q{
SELECT staging.live_version(), (SELECT count(*) FROM staging.updates), (SELECT count(*) FROM staging.field_writes),
       (SELECT count(*) FROM staging.changelog)}),
	'1|0|0|0', 'nothing was written');

# The extension's comment: the owner's unchanged one is skipped, another
# is refused with a hint.
($ret, $out, $err) = $node->psql('shop_tar', q{
DO $$ BEGIN
  EXECUTE format('COMMENT ON EXTENSION staging IS %L', obj_description((SELECT oid FROM pg_extension WHERE extname = 'staging'), 'pg_extension'));
END $$}, %psql_as_owner);
is($err, '', 'the database owner\'s COMMENT ON EXTENSION staging with its comment does nothing');
($ret, $out, $err) = $node->psql('shop_tar', q{COMMENT ON EXTENSION staging IS 'mine'}, %psql_as_owner);
like($err, qr/must be owner of extension staging.*\n.*HINT: .*COMMENT - EXTENSION staging/,
	'another comment is refused, with a hint');

# Scheduled updates that have not gone live are state too: the live
# version cannot be restored over them.
new_database('scheduled');
$node->safe_psql('scheduled', q{SELECT staging.create_update('planned', now() + interval '1 day')});
($ret, $out, $err) = $node->psql('scheduled', "COPY staging.live_state FROM STDIN;\nt\t4000000000\n\\.",
	%psql_as_owner);
like($err, qr/cannot restore staging\.live_state: the database already has/,
	'the database owner cannot move the live version over scheduled updates');
is($node->safe_psql('scheduled', 'SELECT staging.live_version()'), '1', '... which stays');

# The extension's owner (a superuser) and roles granted INSERT still write
# the state directly.
$node->safe_psql('shared', q{GRANT INSERT, SELECT ON staging.updates TO editor; GRANT editor TO mallory});
is($node->safe_psql('shared',
		q{INSERT INTO staging.updates VALUES (4000000000, 'x', NULL, staging.to_timestamp(4000000000), NULL, NULL)
          RETURNING id}, extra_params => [ '-U', 'mallory' ]),
	'4000000000', 'a role granted INSERT on staging.updates inserts');
is($node->safe_psql('shared',
		q{INSERT INTO staging.updates VALUES (4000000100, 'y', NULL, staging.to_timestamp(4000000100), NULL, NULL)
          RETURNING id}),
	'4000000100', 'a superuser inserts into a table that has rows');

$node->stop;
done_testing();
