# ALTER EXTENSION staging UPDATE from 1.0 gives what a fresh install of the
# current version gives (the model is pg_stat_statements' oldextversions
# test), and the data written under 1.0 reads the same at every version:
# database "old" is created at 1.0 with a versioned catalog, scheduled
# updates, one of them live, and a changelog with a consumer holding an
# unfinished batch, then updated; database "fresh" gets CREATE EXTENSION
# and the same catalog, whose tables must be defined as the updated ones.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->start;

my $default = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'staging'");

# -- 1.0, with data -------------------------------------------------------
# The catalog, versioned under 1.0 here and under 1.1 in a fresh install
# below.
my $catalog_ddl = q{
CREATE SCHEMA catalog;
CREATE TABLE catalog.product (entity_id serial PRIMARY KEY, sku text NOT NULL UNIQUE);
CREATE TABLE catalog.product_varchar (
    value_id serial PRIMARY KEY, attribute_id int NOT NULL, store_id int NOT NULL DEFAULT 0,
    entity_id int NOT NULL REFERENCES catalog.product ON DELETE CASCADE, value text,
    UNIQUE (entity_id, attribute_id, store_id));
INSERT INTO catalog.product (sku) SELECT 'sku-' || g FROM generate_series(1, 12) g;
INSERT INTO catalog.product_varchar (attribute_id, entity_id, value)
SELECT 73, g, 'name ' || g FROM generate_series(1, 12) g;
SET client_min_messages = warning;
SELECT staging.enable_versioning('catalog.product');
SELECT staging.add_attribute_table('catalog.product_varchar', 'catalog.product');
-- An exclusion constraint of the table's owner, which the update leaves alone.
ALTER TABLE catalog.product ADD CONSTRAINT product_row_excl EXCLUDE USING btree (row_id WITH =);
SELECT staging.create_changelog('product_idx', 'catalog.product');
SELECT staging.subscribe('product_idx', 'catalog.product_varchar');
SELECT staging.add_consumer('product_idx', 'search');
};
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION staging VERSION '1.0'; $catalog_ddl");
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'staging'"),
	'1.0', 'database old starts at 1.0');

# A permanent update and a temporary one (a sale), each with edits at its
# version: updates, an insert, a delete, an attribute change.  Writing at
# an update's version with 1.0's SQL objects is refused (55000, run ALTER
# EXTENSION staging UPDATE).
my $permanent = $node->safe_psql('old',
	"SELECT staging.create_update('new range', now() + interval '1 day')");
my $sale = $node->safe_psql('old',
	"SELECT staging.create_update('sale', now() + interval '2 days', now() + interval '3 days')");
my $sale_end = $node->safe_psql('old', "SELECT rollback_id FROM staging.updates WHERE id = $sale");
# The version rows 1.0's write triggers made for those writes, laid out
# by hand: the 1.1 library (which this test runs with) records writes at
# future versions in a table 1.0 does not have, and refuses them until
# the update.
$node->safe_psql('old', qq{
SET staging.version = 'all';
CREATE FUNCTION pg_temp.add_version(e int, c bigint, u bigint, suffix text, new_value text)
RETURNS void LANGUAGE plpgsql AS \$f\$
DECLARE
    src catalog.product;
    r bigint;
BEGIN
    SELECT * INTO src FROM catalog.product
     WHERE entity_id = e AND created_in < c AND updated_in > c;
    UPDATE catalog.product SET updated_in = c WHERE row_id = src.row_id;
    INSERT INTO catalog.product (entity_id, sku, created_in, updated_in)
    VALUES (e, src.sku || suffix, c, u) RETURNING row_id INTO r;
    INSERT INTO catalog.product_varchar (row_id, attribute_id, store_id, value)
    SELECT r, attribute_id, store_id, coalesce(new_value, value)
      FROM catalog.product_varchar WHERE row_id = src.row_id;
    IF u < src.updated_in THEN
        INSERT INTO catalog.product (entity_id, sku, created_in, updated_in)
        VALUES (e, src.sku, u, src.updated_in) RETURNING row_id INTO r;
        INSERT INTO catalog.product_varchar (row_id, attribute_id, store_id, value)
        SELECT r, attribute_id, store_id, value
          FROM catalog.product_varchar WHERE row_id = src.row_id;
    END IF;
END
\$f\$;
SELECT pg_temp.add_version(e, $permanent, staging.max_version(), '-v2', NULL)
  FROM generate_series(1, 3) e;
INSERT INTO catalog.product (sku, created_in) VALUES ('sku-new', $permanent);
UPDATE catalog.product SET updated_in = $permanent WHERE entity_id = 4;
SELECT pg_temp.add_version(5, $permanent, staging.max_version(), '', 'renamed 5');
SELECT pg_temp.add_version(2, $sale, $sale_end, '-sale', NULL);
SELECT pg_temp.add_version(6, $sale, $sale_end, '-sale', 'on sale');
});
my ($rc, $stdout, $stderr) = $node->psql('old', qq{SET staging.version = '$permanent';
UPDATE catalog.product SET sku = 'sku-7 early' WHERE entity_id = 7});
like($stderr, qr/older than its library.*ALTER EXTENSION staging UPDATE/s,
	'before the update, writes at a future version are refused with what to do');
# A live edit, logged at once; the permanent update goes live (logged by
# advance); the consumer takes a batch and does not finish it.
$node->safe_psql('old', "UPDATE catalog.product SET sku = 'sku-10 live' WHERE entity_id = 10");
is($node->safe_psql('old', "SELECT staging.advance(staging.to_timestamp($permanent))"),
	$permanent, 'the permanent update went live');
my $batch = q{SELECT string_agg(batch_id || ':' || entity_id, ',' ORDER BY entity_id)
  FROM staging.next_batch('product_idx', 'search')};
my $pending_batch = $node->safe_psql('old', $batch);
like($pending_batch, qr/^\d+:1,\d+:2,\d+:3,\d+:4,\d+:5,\d+:10,\d+:13$/,
	'the consumer was given a batch (live edit and the update that went live)');

# What readers see at every version of interest.
my $catalog = q{
SELECT string_agg(format('%s:%s:%s', p.entity_id, p.sku, coalesce(v.value, '-')), ', '
                  ORDER BY p.entity_id, v.value)
  FROM catalog.product p LEFT JOIN catalog.product_varchar v ON v.row_id = p.row_id};
my @versions = ('live', 1, $permanent - 1, $permanent, $sale - 1, $sale, $sale_end - 1, $sale_end);
my %seen;
my %state_rows;
sub read_versions
{
	my ($db) = @_;
	my %r;
	for my $v (@versions)
	{
		$r{$v} = $node->safe_psql($db, "SET staging.version = '$v'; $catalog");
	}
	$r{all} = $node->safe_psql($db, q{SET staging.version = 'all';
SELECT (SELECT count(*) FROM catalog.product), (SELECT count(*) FROM catalog.product_varchar),
       (SELECT count(*) FROM catalog.sequence_product)});
	$r{registry} = $node->safe_psql($db, q{
SELECT table_name, attribute_tables, entities, rows FROM staging.versioned_tables});
	$r{verify} = $node->safe_psql($db, q{SELECT count(*) FROM staging.verify('catalog.product')});
	$r{schedule} = $node->safe_psql($db, q{
SELECT id, name, rollback_id, id <= staging.live_version() FROM staging.updates ORDER BY id});
	$r{status} = $node->safe_psql($db, q{
SELECT changelog, consumer, pending_entities, current_batch IS NOT NULL FROM staging.changelog_status});
	return \%r;
}
my $before = read_versions('old');
isnt($before->{$permanent}, $before->{ $permanent - 1 }, 'the permanent update changes what is seen');
isnt($before->{$sale}, $before->{$sale_end}, 'the sale ends');

# -- the update ------------------------------------------------------------
my $access_methods = q{
SELECT string_agg(format('%s=%s', c.relname, a.amname), ',' ORDER BY c.relname)
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relnamespace = 'catalog'::regnamespace AND c.relkind = 'r'};
my $filenodes = q{
SELECT string_agg(format('%s=%s', c.relname, pg_relation_filenode(c.oid)), ',' ORDER BY c.relname)
  FROM pg_class c WHERE c.relnamespace = 'catalog'::regnamespace AND c.relkind = 'r'};
is($node->safe_psql('old', $access_methods),
	'product=heap,product_idx_cl=heap,product_varchar=heap,sequence_product=heap', 'under 1.0 the tables are heap tables');
my $filenodes_before = $node->safe_psql('old', $filenodes);

# A dump of the 1.0 database, restored as the README says: the extension
# at 1.0 first, then the dump, then the update.
my $dump10 = $node->basedir . '/old10.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump10, 'old' ], 'pg_dump of the database at 1.0');
$node->safe_psql('postgres', 'CREATE DATABASE restored10');
$node->safe_psql('restored10', "CREATE EXTENSION staging VERSION '1.0'");
$node->command_ok([ 'pg_restore', '--single-transaction', '--exit-on-error', '-d', 'restored10', $dump10 ],
	'pg_restore of it into a database with the extension at 1.0');
$node->safe_psql('restored10', 'ALTER EXTENSION staging UPDATE');

$node->safe_psql('old', 'ALTER EXTENSION staging UPDATE');
is($node->safe_psql('old', $access_methods),
	'product=staging,product_idx_cl=heap,product_varchar=staging,sequence_product=heap',
	'the update gives the versioned and attribute tables the access method staging');
is($node->safe_psql('old', $filenodes), $filenodes_before, 'without rewriting them');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'staging'"),
	$default, "ALTER EXTENSION staging UPDATE goes to $default");

my $after = read_versions('old');
for my $k (sort keys %$before)
{
	is($after->{$k}, $before->{$k}, "after the update, the same at version $k");
}
is($node->safe_psql('old', $batch), $pending_batch,
	'the consumer gets its unfinished batch again after the update');
my ($batch_id) = $pending_batch =~ /^(\d+):/;
$node->safe_psql('old', "SELECT staging.finish_batch('product_idx', 'search', $batch_id)");

# Writes still work, at the live version and in the future.
$node->safe_psql('old', qq{
UPDATE catalog.product SET sku = 'sku-11 after' WHERE entity_id = 11;
SET staging.version = '$sale';
UPDATE catalog.product SET sku = sku || '-more' WHERE entity_id = 7;
INSERT INTO catalog.product (sku) VALUES ('sku-sale-only');
});
like($node->safe_psql('old', $batch), qr/^\d+:11$/, 'a live write after the update is logged');
is($node->safe_psql('old', q{SELECT sku FROM catalog.product WHERE entity_id = 11}),
	'sku-11 after', 'a live write after the update is read');
is($node->safe_psql('old', qq{SET staging.version = '$sale';
SELECT string_agg(sku, ',' ORDER BY entity_id) FROM catalog.product WHERE entity_id IN (7, 14)}),
	'sku-7-more,sku-sale-only', 'writes at a future version after the update');
is($node->safe_psql('old', qq{SET staging.version = '$sale_end';
SELECT string_agg(sku, ',' ORDER BY entity_id) FROM catalog.product WHERE entity_id IN (7, 14)}),
	'sku-7', 'the sale still ends for them');
is($node->safe_psql('old', q{SELECT count(*) FROM staging.verify('catalog.product')}), '0',
	'every invariant holds after the writes');

# The sale, scheduled and written under 1.0 and after the update, goes
# live and ends: each go-live logs the entities it changes and is
# published as an invalidation.
$node->safe_psql('old', qq{SELECT staging.finish_batch('product_idx', 'search', max(batch_id))
  FROM staging.next_batch('product_idx', 'search')});
is($node->safe_psql('old', "SELECT staging.advance(staging.to_timestamp($sale))"), $sale,
	'the sale goes live after the update');
like($node->safe_psql('old', $batch), qr/^\d+:2,\d+:6,\d+:7,\d+:14$/, 'its go-live is logged');
is($node->safe_psql('old', q{SELECT kind, detail->>'to_version' FROM staging.invalidations
 WHERE kind = 'go_live' ORDER BY id DESC LIMIT 1}), "go_live|$sale", 'and published');
is($node->safe_psql('old', q{SELECT string_agg(format('%s:%s', entity_id, sku), ',' ORDER BY entity_id)
  FROM catalog.product WHERE entity_id IN (2, 7, 14)}), '2:sku-2-v2-sale,7:sku-7-more,14:sku-sale-only',
	'the live version shows the sale');
$node->safe_psql('old', qq{SELECT staging.finish_batch('product_idx', 'search', max(batch_id))
  FROM staging.next_batch('product_idx', 'search')});
is($node->safe_psql('old', "SELECT staging.advance(staging.to_timestamp($sale_end))"), $sale_end,
	'the sale ends after the update');
like($node->safe_psql('old', $batch), qr/^\d+:2,\d+:6,\d+:7,\d+:14$/, 'its end is logged');
is($node->safe_psql('old', q{SELECT string_agg(format('%s:%s', entity_id, sku), ',' ORDER BY entity_id)
  FROM catalog.product WHERE entity_id IN (2, 7, 14)}), '2:sku-2-v2,7:sku-7',
	'the live version is back to the values before the sale');
is($node->safe_psql('old', q{SELECT count(*) FROM staging.verify('catalog.product')}), '0',
	'every invariant holds after the go-lives');

# -- a fresh install -------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION staging');

# Everything the extension consists of, one line per object and property
# (line breaks escaped), so that differences show as lines.
my %catalog_queries = (
	'member objects' => q{
SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'staging')},
	'functions' => q{
SELECT format('%s: %s acl=%s volatile=%s parallel=%s secdef=%s config=%s strict=%s comment=%s',
              p.oid::regprocedure, pg_get_functiondef(p.oid), p.proacl, p.provolatile,
              p.proparallel, p.prosecdef, p.proconfig, p.proisstrict,
              obj_description(p.oid, 'pg_proc'))
  FROM pg_proc p WHERE p.pronamespace = 'staging'::regnamespace},
	'relations' => q{
SELECT format('%s kind=%s acl=%s rls=%s/%s comment=%s', c.oid::regclass, c.relkind, c.relacl,
              c.relrowsecurity, c.relforcerowsecurity, obj_description(c.oid, 'pg_class'))
  FROM pg_class c WHERE c.relnamespace = 'staging'::regnamespace},
	'columns' => q{
SELECT format('%s.%s #%s %s notnull=%s default=%s identity=%s acl=%s comment=%s', a.attrelid::regclass,
              a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attacl,
              col_description(a.attrelid, a.attnum))
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'staging'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped},
	'constraints' => q{
SELECT format('%s %s %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid))
  FROM pg_constraint k WHERE k.connamespace = 'staging'::regnamespace},
	'indexes' => q{SELECT indexdef FROM pg_indexes WHERE schemaname = 'staging'},
	'triggers' => q{
SELECT format('%s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'staging'::regnamespace AND NOT t.tgisinternal},
	'policies' => q{
SELECT format('%s %s %s %s %s %s comment=%s', p.tablename, p.policyname, p.permissive, p.roles, p.cmd,
              p.qual, obj_description(o.oid, 'pg_policy'))
  FROM pg_policies p JOIN pg_policy o ON o.polname = p.policyname
   AND o.polrelid = format('%I.%I', p.schemaname, p.tablename)::regclass
 WHERE p.schemaname = 'staging'},
	'views' => q{
SELECT format('%s: %s', c.oid::regclass, pg_get_viewdef(c.oid))
  FROM pg_class c WHERE c.relnamespace = 'staging'::regnamespace AND c.relkind = 'v'},
	'sequences' => q{
SELECT format('%s %s %s %s %s %s', s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart,
              s.seqincrement, s.seqmin, s.seqmax)
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
 WHERE c.relnamespace = 'staging'::regnamespace},
	'event triggers' => q{
SELECT format('%s %s %s %s %s comment=%s', e.evtname, e.evtevent, e.evtfoid::regprocedure,
              e.evtenabled, e.evttags, obj_description(e.oid, 'pg_event_trigger'))
  FROM pg_event_trigger e},
	'extension' => q{
SELECT format('%s %s relocatable=%s schema=%s config=%s condition=%s', e.extname, e.extversion,
              e.extrelocatable, e.extnamespace::regnamespace,
              (SELECT array_agg(c::regclass ORDER BY c::regclass::text) FROM unnest(e.extconfig) c),
              e.extcondition)
  FROM pg_extension e WHERE e.extname = 'staging'},
	'schema' => q{
SELECT format('%s acl=%s comment=%s', n.nspname, n.nspacl, obj_description(n.oid, 'pg_namespace'))
  FROM pg_namespace n WHERE n.nspname = 'staging'},
	# Of every member function, in any schema: what 'functions' leaves out.
	'function attributes' => q{
SELECT format('%s kind=%s leakproof=%s cost=%s rows=%s support=%s retset=%s owner=%s language=%s acl=%s config=%s',
              p.oid::regprocedure, p.prokind, p.proleakproof, p.procost, p.prorows, p.prosupport,
              p.proretset, p.proowner::regrole, l.lanname, p.proacl, p.proconfig)
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'staging')},
	# The privileges the extension's script gave: pg_dump dumps only the
	# differences from them, so an update must record the same ones.
	'initial privileges' => q{
SELECT format('%s %s %s', pg_describe_object(i.classoid, i.objoid, i.objsubid), i.privtype, i.initprivs)
  FROM pg_init_privs i
 WHERE EXISTS (SELECT FROM pg_depend d
                WHERE d.classid = i.classoid AND d.objid = i.objoid AND d.deptype = 'e'
                  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'staging'))
    OR (i.classoid = 'pg_class'::regclass
        AND i.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'staging'::regnamespace))},
	'relation properties' => q{
SELECT format('%s owner=%s am=%s options=%s persistence=%s replica_identity=%s', c.oid::regclass,
              c.relowner::regrole, c.relam, c.reloptions, c.relpersistence, c.relreplident)
  FROM pg_class c WHERE c.relnamespace = 'staging'::regnamespace},
	'types' => q{
SELECT format('%s type=%s acl=%s comment=%s', t.oid::regtype, t.typtype, t.typacl, obj_description(t.oid, 'pg_type'))
  FROM pg_type t WHERE t.typnamespace = 'staging'::regnamespace},
	'operator classes' => q{
SELECT format('%s %s %s default=%s operators=%s procedures=%s', c.opcname, a.amname, c.opcintype::regtype,
              c.opcdefault,
              (SELECT string_agg(format('%s:%s', o.amopstrategy, o.amopopr::regoperator), ',' ORDER BY o.amopstrategy)
                 FROM pg_amop o WHERE o.amopfamily = c.opcfamily),
              (SELECT string_agg(format('%s:%s', o.amprocnum, o.amproc::regprocedure), ',' ORDER BY o.amprocnum)
                 FROM pg_amproc o WHERE o.amprocfamily = c.opcfamily))
  FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod WHERE c.opcnamespace = 'staging'::regnamespace},
	'access methods' => q{
SELECT format('%s handler=%s type=%s comment=%s', a.amname, a.amhandler::regprocedure, a.amtype,
              obj_description(a.oid, 'pg_am'))
  FROM pg_am a WHERE a.amname = 'staging'},
	'event trigger owners' => q{
SELECT format('%s owner=%s', e.evtname, e.evtowner::regrole) FROM pg_event_trigger e});

for my $what (sort keys %catalog_queries)
{
	my $q = "SELECT replace(l, E'\\n', '\\n') FROM ($catalog_queries{$what}) s(l) ORDER BY 1";
	my @old = split /\n/, $node->safe_psql('old', $q);
	my @fresh = split /\n/, $node->safe_psql('fresh', $q);
	my %in_fresh = map { $_ => 1 } @fresh;
	my %in_old = map { $_ => 1 } @old;
	my @only_old = grep { !$in_fresh{$_} } @old;
	my @only_fresh = grep { !$in_old{$_} } @fresh;
	ok(@old > 0, "$what: some found");
	ok(!@only_old && !@only_fresh, "$what: the updated extension equals a fresh install")
	  or diag(join("\n", 'only after the update:', @only_old, 'only in a fresh install:', @only_fresh));
}

# A database at 1.0 without a catalog, updated: the extension's tables
# hold what a fresh install puts in them (but the preview secret, which is
# random), and the grants and revokes a DBA made on the extension's objects
# and a preview token signed under 1.0 survive the update.
$node->safe_psql('postgres', 'CREATE DATABASE empty10; CREATE ROLE editor');
my $token = $node->safe_psql('empty10', q{
CREATE EXTENSION staging VERSION '1.0';
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO editor;
GRANT SELECT ON staging.updates TO editor;
REVOKE EXECUTE ON FUNCTION staging.verify(regclass) FROM PUBLIC;
SELECT staging.sign_preview(2000000000, '1 day');
});
$node->safe_psql('empty10', 'ALTER EXTENSION staging UPDATE');
my $state_rows = q{
SELECT format('SELECT %L, count(*), %s FROM %s t', c.oid::regclass,
              CASE WHEN c.oid = 'staging.preview_secret'::regclass THEN $$'-'$$
                   ELSE $$md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))$$ END,
              c.oid::regclass)
  FROM pg_class c WHERE c.relnamespace = 'staging'::regnamespace AND c.relkind = 'r' ORDER BY 1};
for my $db ('empty10', 'fresh')
{
	my $union = join(' UNION ALL ', split /\n/, $node->safe_psql($db, $state_rows));
	$state_rows{$db} = $node->safe_psql($db, "$union ORDER BY 1");
}
is($state_rows{empty10}, $state_rows{fresh}, 'the extension\'s tables hold what a fresh install puts in them');
like($state_rows{fresh}, qr/^staging\.live_state\|1\|/m, 'a fresh install has its live_state row');
is($node->safe_psql('empty10', q{
SELECT has_function_privilege('editor', 'staging.sign_preview(bigint, interval)', 'EXECUTE'),
       has_table_privilege('editor', 'staging.updates', 'SELECT'),
       EXISTS (SELECT FROM pg_proc p, aclexplode(p.proacl) a
                WHERE p.oid = 'staging.verify(regclass)'::regprocedure AND a.grantee = 0)}),
	't|t|f',
	'the grants and revokes made under 1.0 survive the update');
is($node->safe_psql('empty10', "SELECT staging.preview('$token')"), '2000000000',
	'a preview token signed under 1.0 is valid after the update');

# The tables versioned under 1.0 are defined as enable_versioning defines
# them under 1.1 (columns, constraints and their operator classes,
# indexes, triggers).
$node->safe_psql('fresh', $catalog_ddl);
my $tables = q{
SELECT format('%s.%s #%s %s notnull=%s default=%s identity=%s', a.attrelid::regclass, a.attname,
              a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid), a.attidentity)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'catalog'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('%s %s %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid))
  FROM pg_constraint k WHERE k.connamespace = 'catalog'::regnamespace
UNION ALL
SELECT indexdef FROM pg_indexes WHERE schemaname = 'catalog'
UNION ALL
SELECT format('%s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'catalog'::regnamespace AND NOT t.tgisinternal
ORDER BY 1};
my @old = split /\n/, $node->safe_psql('old', $tables);
my @fresh = split /\n/, $node->safe_psql('fresh', $tables);
my %in_fresh = map { $_ => 1 } @fresh;
my %in_old = map { $_ => 1 } @old;
my @only_old = grep { !$in_fresh{$_} } @old;
my @only_fresh = grep { !$in_old{$_} } @fresh;
ok(@old > 0 && !@only_old && !@only_fresh,
	'tables versioned under 1.0 are defined as a fresh install versions them')
  or diag(join("\n", 'only after the update:', @only_old, 'only in a fresh install:', @only_fresh));
is($node->safe_psql('restored10', $tables), $node->safe_psql('old', $tables),
	'a 1.0 dump restored at 1.0 and updated has the same tables as the updated database');
my $restored = read_versions('restored10');
for my $k (qw(1 live all registry verify schedule))
{
	is($restored->{$k}, $before->{$k}, "the restored and updated 1.0 dump reads the same: $k");
}

$node->stop;
done_testing();
