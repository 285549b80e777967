# Logical replication, the two supported topologies (README, "Logical
# replication"):
#   A, a read replica: the publisher publishes the versioned tables, their
#      sequence tables, staging.updates and staging.live_state; the
#      subscriber follows the publisher's go-lives;
#   B, own schedule: the same without staging.live_state; the subscriber
#      runs its own advance() (scheduler or pg_cron).
# On each subscriber the rows, the reads at several versions, the live
# version seen by an open session and what the changelog logs match the
# publisher.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $schema = q{
CREATE EXTENSION staging;
CREATE SCHEMA shop;
CREATE TABLE shop.product (entity_id int PRIMARY KEY, name text NOT NULL, price numeric NOT NULL);
SELECT staging.enable_versioning('shop.product');
SELECT staging.create_changelog('prod', 'shop.product');
SELECT staging.add_consumer('prod', 'indexer');
};
my $pub = PostgreSQL::Test::Cluster->new('pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'\n");
$pub->start;
$pub->safe_psql('postgres', $schema);
$pub->safe_psql('postgres', q{
INSERT INTO shop.product VALUES (1, 'one', 10), (2, 'two', 20), (3, 'three', 30);
CREATE PUBLICATION shop_a FOR TABLE shop.product, shop.sequence_product,
    staging.updates, staging.live_state;
CREATE PUBLICATION shop_b FOR TABLE shop.product, shop.sequence_product, staging.updates;
});
my $connstr = $pub->connstr . ' dbname=postgres';

my %sub;
for my $t ('a', 'b')
{
	my $node = PostgreSQL::Test::Cluster->new("sub_$t");
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'\n");
	$node->start;
	$node->safe_psql('postgres', $schema);
	$node->safe_psql('postgres',
		"CREATE SUBSCRIPTION sub_$t CONNECTION '$connstr' PUBLICATION shop_$t");
	$sub{$t} = $node;
}

# Wait until both subscribers have applied everything the publisher did.
sub sync
{
	for my $t ('a', 'b')
	{
		$sub{$t}->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")
		  or die "sub_$t: the initial copy did not finish";
		$pub->wait_for_catchup("sub_$t");
	}
}
sync();
is($sub{a}->safe_psql('postgres', 'SELECT count(*) FROM shop.product'), '3',
	'A: the initial copy, staging.live_state included, succeeded');
ok(!$sub{a}->log_contains(qr/duplicate key value violates unique constraint "live_state_pkey"/),
	'A: no duplicate key on live_state_pkey');

# What the changelog logged since the last call, as sorted entity ids.
sub logged
{
	my ($node) = @_;
	my $ids = $node->safe_psql('postgres', q{
		SELECT coalesce(string_agg(entity_id::text, ',' ORDER BY entity_id), '')
		  FROM (SELECT DISTINCT entity_id FROM staging.next_batch('prod', 'indexer')) b});
	$node->safe_psql('postgres', q{
		SELECT staging.finish_batch('prod', 'indexer', batch_id)
		  FROM (SELECT DISTINCT batch_id FROM staging.next_batch('prod', 'indexer')) b});
	return $ids;
}
logged($_) for ($pub, $sub{a}, $sub{b});	# the initial copy

# Future writes: an update with a changed and a new product.
my $u1 = $pub->safe_psql('postgres', q{
	SELECT staging.create_update('Sale', now() + interval '1 hour')});
$pub->safe_psql('postgres', qq{
	SET staging.version = $u1;
	UPDATE shop.product SET price = 5 WHERE entity_id = 1;
	INSERT INTO shop.product VALUES (4, 'four', 40);
});
sync();
for my $n ([ 'publisher', $pub ], [ 'A', $sub{a} ], [ 'B', $sub{b} ])
{
	is(logged($n->[1]), '', "$n->[0]: future writes are not logged");
}

# Open sessions on the subscribers, before the go-live.
my %session;
for my $t ('a', 'b')
{
	$session{$t} = $sub{$t}->background_psql('postgres');
	like($session{$t}->query_safe(
			'SELECT staging.live_version(), (SELECT price FROM shop.product WHERE entity_id = 1)'),
		qr/^1\|10\b/, "$t: an open session reads version 1 before the go-live");
}

# The go-live: on the publisher (replicated to A), by B itself.
$pub->safe_psql('postgres', "SELECT staging.advance(now() + interval '2 hours')");
sync();
$sub{b}->safe_psql('postgres', "SELECT staging.advance(now() + interval '2 hours')");
for my $t ('a', 'b')
{
	like($session{$t}->query_safe(
			'SELECT staging.live_version(), (SELECT price FROM shop.product WHERE entity_id = 1),
			        (SELECT count(*) FROM shop.product)'),
		qr/^$u1\|5\|4\b/, "$t: the open session reads the new live version and its rows");
	$session{$t}->quit;
}
is(logged($pub), '1,4', 'publisher: the go-live logs the entities that changed');
is(logged($sub{a}), '1,4', 'A: the replicated go-live logs the same entities');
is(logged($sub{b}), '1,4', 'B: its own go-live logs the same entities');
is($sub{a}->safe_psql('postgres',
		"SELECT detail->>'to_version' FROM staging.invalidations WHERE kind = 'go_live'"),
	$u1, 'A: the replicated go-live is published as a go_live invalidation');

# A live edit after the go-live.
$pub->safe_psql('postgres', "UPDATE shop.product SET name = 'TWO' WHERE entity_id = 2");
sync();
for my $n ([ 'publisher', $pub ], [ 'A', $sub{a} ], [ 'B', $sub{b} ])
{
	is(logged($n->[1]), '2', "$n->[0]: a live edit is logged");
}

# Rows and reads at several versions.
my $u2 = $pub->safe_psql('postgres', q{
	SELECT staging.create_update('Later', now() + interval '3 hours')});
$pub->safe_psql('postgres', qq{
	SET staging.version = $u2;
	UPDATE shop.product SET name = 'FOUR' WHERE entity_id = 4;
});
sync();
for my $version ('all', '1', $u1 - 1, 'live', $u2)
{
	my $q = qq{SET staging.version = '$version';
		SELECT string_agg(concat_ws(':', row_id, entity_id, created_in, updated_in, name, price), ' '
		                  ORDER BY row_id) FROM shop.product};
	my $expected = $pub->safe_psql('postgres', $q);
	for my $t ('a', 'b')
	{
		is($sub{$t}->safe_psql('postgres', $q), $expected, "$t: the same rows at version $version");
	}
}
is($sub{a}->safe_psql('postgres', 'SELECT staging.live_version()'), $u1, 'A: the live version');
is($sub{b}->safe_psql('postgres', 'SELECT staging.live_version()'), $u1, 'B: the live version');

$_->stop for ($sub{a}, $sub{b}, $pub);
done_testing();
