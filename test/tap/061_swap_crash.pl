# A crash (kill -9 of the server) during a swap leaves the old or the new
# state, never half of it; and listeners hear of a swap only once it has
# committed (NOTIFY staging_invalidation carries the invalidation row).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Cwd qw(realpath);
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('swap_crash');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'staging'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION staging');
$node->safe_psql('postgres', q{
CREATE SCHEMA cat;
CREATE TABLE cat.a (id int PRIMARY KEY, copy text NOT NULL);
CREATE TABLE cat.b (id int PRIMARY KEY REFERENCES cat.a, copy text NOT NULL);
INSERT INTO cat.a SELECT g, 'old' FROM generate_series(1, 10) g;
INSERT INTO cat.b SELECT g, 'old' FROM generate_series(1, 10) g;
SELECT staging.clone_schema('cat', 'cat_import', with_data => true);
UPDATE cat_import.a SET copy = 'new';
UPDATE cat_import.b SET copy = 'new';
-- Test-only: pause a swap between its renames when asked to.
CREATE FUNCTION public.pause_after_rename() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('test.pause_swap', true) = 'on' THEN
        PERFORM pg_sleep(300);
    END IF;
END
$$;
CREATE EVENT TRIGGER pause_after_rename ON ddl_command_end
    WHEN TAG IN ('ALTER SCHEMA') EXECUTE FUNCTION public.pause_after_rename();
});

# Start again after kill -9.  The killed server's processes exit once
# they notice the postmaster's death, except one that waits, on its way
# out, for a lock a backend killed with it held (a killed backend releases
# nothing): it never exits, and its shared memory keeps the server from
# starting.  So kill whatever is left of the old server first, as an
# operator would, then start.
sub restart_after_crash
{
	kill_old_server_processes();
	for (1 .. 150)
	{
		# A failed start reads the stale postmaster.pid: forget it.
		$node->{_pid} = undef;
		return if $node->start(fail_ok => 1);
		usleep(200_000);
	}
	die 'the server did not restart';
}

# The processes of the killed server: those working in its data directory.
sub kill_old_server_processes
{
	my $datadir = realpath($node->data_dir);
	opendir(my $dh, '/proc') or die "cannot read /proc: $!";
	my @pids = grep { /^\d+$/ && $_ != $$ } readdir($dh);
	closedir $dh;
	for my $pid (@pids)
	{
		my $cwd = readlink("/proc/$pid/cwd");
		kill_backend($pid) if defined $cwd && $cwd eq $datadir;
	}
}

# The server's backends outlive a kill -9 of the postmaster until they next
# wait: kill one of them too, and wait until it is gone (or a zombie).
sub kill_backend
{
	my ($pid) = @_;
	kill 'KILL', $pid;
	for (1 .. 600)
	{
		open(my $fh, '<', "/proc/$pid/stat") or return;
		my $stat = <$fh>;
		close $fh;
		return if !defined $stat || $stat =~ /^\d+ \(.*\) Z /s;
		usleep(50_000);
	}
	die "backend $pid did not go away";
}

# The backend of a background psql session.
sub backend_pid
{
	my ($session) = @_;
	my ($pid) = $session->query_safe('SELECT pg_backend_pid()') =~ /(\d+)/;
	return $pid;
}

# Where things stand: which copy each name shows, leftovers, invalidations.
sub state_of
{
	return $node->safe_psql('postgres', q{
SELECT (SELECT string_agg(DISTINCT a.copy || '/' || b.copy, ',')
          FROM cat.a a JOIN cat.b b USING (id)) || ' ' ||
       (SELECT string_agg(DISTINCT a.copy || '/' || b.copy, ',')
          FROM cat_import.a a JOIN cat_import.b b USING (id)) || ' ' ||
       (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'staging\_swap\_%') || ' ' ||
       (SELECT count(*) FROM staging.invalidations)});
}

is(state_of(), 'old/old new/new 0 0', 'before: live is old, the import is new');

# 1. Killed in the middle of the swap, after its first rename, while it
# holds every lock: after recovery the old state, whole.
my $swapper = $node->background_psql('postgres', on_error_stop => 0);
my $swap_pid = backend_pid($swapper);
$swapper->query_until(qr/paused/, q{
SET test.pause_swap = on;
\echo paused
SELECT staging.swap_schemas('cat', 'cat_import');
});
$node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep'
   AND query LIKE '%swap_schemas%'})
  or die 'the swap did not pause';
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE a.query LIKE '%swap_schemas%' AND l.mode = 'AccessExclusiveLock'
   AND l.locktype = 'relation'}),
	'4', 'the paused swap holds its locks on the four tables');
$node->kill9;
kill_backend($swap_pid);
$swapper->{run}->kill_kill;
restart_after_crash();
is(state_of(), 'old/old new/new 0 0', 'killed mid-swap: the old state, nothing half-renamed');

# 2. Killed right after the swap committed: the new state, with its
# invalidation row.
$node->safe_psql('postgres', "SELECT staging.swap_schemas('cat', 'cat_import')");
$node->kill9;
restart_after_crash();
is(state_of(), 'new/new old/old 0 1', 'killed after commit: the new state and its invalidation');

# 3. Killed while a swap waits for its locks behind a reader.  The reader
# keeps its lock until the swap's backend is certainly gone: had the reader
# gone first, the orphaned swap could take its locks and commit after the
# postmaster's death.
my $reader = $node->background_psql('postgres');
my $reader_pid = backend_pid($reader);
$reader->query_safe('BEGIN; SELECT count(*) FROM cat.a;');
$swapper = $node->background_psql('postgres', on_error_stop => 0);
$swap_pid = backend_pid($swapper);
$swapper->query_until(qr/waiting/, q{
\echo waiting
SELECT staging.swap_schemas('cat', 'cat_import', lock_timeout => '1s', max_wait => '5min');
});
$node->poll_query_until('postgres', qq{
SELECT $reader_pid = ANY (pg_blocking_pids($swap_pid))})
  or die 'the swap did not wait for the reader';
$node->kill9;
kill_backend($swap_pid);
$swapper->{run}->kill_kill;
$reader->{run}->kill_kill;
restart_after_crash();
is(state_of(), 'new/new old/old 0 1', 'killed while waiting for locks: unchanged');

# NOTIFY: a listener hears nothing while the swap is uncommitted, then the
# invalidation row as JSON once it commits.
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN staging_invalidation');
$swapper = $node->background_psql('postgres');
$swapper->query_safe('BEGIN');
$swapper->query_safe("SELECT staging.swap_schemas('cat', 'cat_import')");
my $heard = $listener->query_safe('SELECT 1');
unlike($heard, qr/Asynchronous notification/, 'no notification before the swap commits');
$swapper->query_safe('COMMIT');
$heard = $listener->query_safe('SELECT 1');
my $row = $node->safe_psql('postgres',
	'SELECT row_to_json(i) FROM staging.invalidations i ORDER BY id DESC LIMIT 1');
like($row, qr/"kind":"schema_swap","detail":\{"live": "cat", "candidate": "cat_import"\}/,
	'the invalidation row names the schemas');
like($heard,
	qr/Asynchronous notification "staging_invalidation" with payload "\Q$row\E" received/,
	'after commit the listener receives the invalidation row as JSON');
$swapper->query_safe('BEGIN');
$swapper->query_safe("SELECT staging.swap_schemas('cat', 'cat_import')");
$swapper->query_safe('ROLLBACK');
$heard = $listener->query_safe('SELECT 1');
unlike($heard, qr/Asynchronous notification/, 'a swap rolled back is never announced');
is(state_of(), 'old/old new/new 0 2', 'one invalidation per committed swap');
$listener->quit;
$swapper->quit;

$node->stop;
done_testing();
