-- The PostgreSQL store's SQL, one named block per statement (read by capataz.queue.backends.sqlfile).
-- "{schema}" is replaced by the quoted schema name of the store (?schema= in the URL,
-- "capataz" by default), so the statements also run on a caller's own connection,
-- whatever its search_path. Every time is a parameter: the store never reads the
-- server's clock, so all hosts and the tests' fake clock agree on what "now" is.
-- Migration blocks run as one script, in the same transaction as the version update.

-- name: migration_1
-- The hot table holds only waiting and running jobs: a finished job is deleted, a
-- failed one moves to failed_jobs. Aggressive autovacuum keeps the dead rows of
-- that churn from piling up; fillfactor leaves room on each page for updates.
CREATE TABLE {schema}.jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid text NOT NULL UNIQUE,
    queue text NOT NULL,
    payload text NOT NULL,
    state text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'running')),
    attempts integer NOT NULL DEFAULT 0,
    exceptions integer NOT NULL DEFAULT 0,
    available_at double precision NOT NULL,
    created_at double precision NOT NULL,
    reserved_at double precision,
    lease_token text,
    lease_expires_at double precision,
    worker text,
    unique_key text,
    unique_until double precision
) WITH (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 500,
    autovacuum_analyze_scale_factor = 0.02
);
CREATE INDEX jobs_ready ON {schema}.jobs (queue, available_at, id) WHERE state = 'ready';
CREATE INDEX jobs_leases ON {schema}.jobs (lease_expires_at) WHERE state = 'running';
CREATE UNIQUE INDEX jobs_unique_key ON {schema}.jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_lease_token ON {schema}.jobs (lease_token) WHERE lease_token IS NOT NULL;
CREATE TABLE {schema}.failed_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid text NOT NULL UNIQUE,
    connection text NOT NULL,
    queue text NOT NULL,
    payload text NOT NULL,
    exception text NOT NULL,
    failed_at double precision NOT NULL
);
CREATE INDEX failed_jobs_failed_at ON {schema}.failed_jobs (failed_at);
CREATE TABLE {schema}.markers (
    name text PRIMARY KEY,
    value double precision NOT NULL
);
-- Wake-up: a job that becomes available (inserted, released, rescued) and a marker
-- change NOTIFY the schema's channel. NOTIFY is transactional, so a job dispatched
-- inside a caller's transaction wakes workers only when (and if) it commits.
CREATE FUNCTION {schema}.wake_workers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('capataz:' || TG_TABLE_SCHEMA, TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_inserted AFTER INSERT ON {schema}.jobs
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.wake_workers();
CREATE TRIGGER jobs_back_to_ready AFTER UPDATE OF state ON {schema}.jobs
    FOR EACH ROW WHEN (OLD.state = 'running' AND NEW.state = 'ready')
    EXECUTE FUNCTION {schema}.wake_workers();
CREATE TRIGGER markers_changed AFTER INSERT OR UPDATE OR DELETE ON {schema}.markers
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.wake_workers();

-- name: lock_for_migration
-- Workers starting together on an empty database: one migrates, the others wait.
SELECT pg_advisory_xact_lock(hashtext('capataz-migrate:' || %(schema)s));

-- name: create_schema
CREATE SCHEMA IF NOT EXISTS {schema};

-- name: create_schema_version
CREATE TABLE IF NOT EXISTS {schema}.schema_version (version integer NOT NULL);

-- name: schema_version_exists
SELECT to_regclass(%(table)s) IS NOT NULL;

-- name: get_schema_version
SELECT COALESCE(MAX(version), 0) FROM {schema}.schema_version;

-- name: clear_schema_version
DELETE FROM {schema}.schema_version;

-- name: insert_schema_version
INSERT INTO {schema}.schema_version (version) VALUES (%(version)s);

-- name: expire_unique_keys
-- A unique key whose time ran out stops blocking new dispatches.
UPDATE {schema}.jobs SET unique_key = NULL
WHERE unique_key = ANY(%(keys)s) AND unique_until IS NOT NULL AND unique_until <= %(now)s;

-- name: insert_jobs
-- One statement for a whole batch. ON CONFLICT DO NOTHING skips a uuid already stored
-- (dispatching twice is harmless) and a unique key held by a waiting or running job,
-- also between two jobs of the same batch. With %(relaxed)s, run as a statement of its
-- own, it commits without waiting for the disk (the caller then runs flush_to_disk);
-- on a caller's connection it is false and leaves the caller's transaction alone.
WITH commit_mode AS (
    SELECT CASE WHEN %(relaxed)s THEN set_config('synchronous_commit', 'off', true) END
)
INSERT INTO {schema}.jobs (uuid, queue, payload, available_at, created_at, unique_key, unique_until)
SELECT uuid, queue, payload, available_at, %(now)s, unique_key, unique_until
FROM commit_mode, unnest(
    %(uuids)s::text[], %(queues)s::text[], %(payloads)s::text[],
    %(available)s::double precision[], %(keys)s::text[], %(until)s::double precision[]
) WITH ORDINALITY AS batch (uuid, queue, payload, available_at, unique_key, unique_until, n)
ORDER BY n
ON CONFLICT DO NOTHING
RETURNING uuid;

-- name: unique_key_holders
SELECT unique_key, uuid FROM {schema}.jobs WHERE unique_key = ANY(%(keys)s);

-- name: claim_step
-- A worker's step in one statement: one round trip, one commit. It removes the job the
-- worker just finished (only while its lease token holds it), frees the jobs whose
-- worker stopped renewing (killed, frozen) when asked to, and reserves the next jobs of
-- one queue, oldest first, each with its own lease token. SKIP LOCKED: workers never
-- wait on each other's rows. The commit is relaxed (see relaxed_commit below):
-- set_config(..., true) is SET LOCAL for the statement's own transaction.
-- Given the markers the worker knows (names in code point order, values alike), it
-- reserves only if the store's markers are the same in this snapshot, and otherwise
-- returns the store's: a restart or pause is seen before another job is taken.
-- A job whose lease expired competes for this queue with the ready jobs in its own
-- place (available_at, id), so it is reserved before a younger job, as Laravel's pop
-- takes an expired reservation in id order. No row is changed twice in the statement:
-- the expired jobs it reserves are not among those it frees. The statement reads one
-- snapshot, so the expired jobs of other queues it frees can only be reserved by the
-- next statement. The first row carries the counts and the markers; its job columns
-- are NULL when no job was reserved.
WITH relaxed AS (
    SELECT set_config('synchronous_commit', 'off', true) AS setting
), finished AS (
    DELETE FROM {schema}.jobs WHERE lease_token = %(finished)s::text AND state = 'running'
    RETURNING id
), expired AS (
    SELECT id, queue, available_at FROM {schema}.jobs
    WHERE %(rescue)s AND state = 'running' AND lease_expires_at <= %(now)s
      AND lease_token IS DISTINCT FROM %(finished)s::text
    FOR UPDATE SKIP LOCKED
), store_markers AS (
    SELECT coalesce(array_agg(name ORDER BY name COLLATE "C"), ARRAY[]::text[]) AS names,
           coalesce(array_agg(value ORDER BY name COLLATE "C"), ARRAY[]::double precision[]) AS store_values
    FROM {schema}.markers
), unchanged AS (
    SELECT %(marker_names)s::text[] IS NULL
           OR (names = %(marker_names)s::text[]
               AND store_values = %(marker_values)s::double precision[]) AS same
    FROM store_markers
), open_queue AS (
    SELECT (SELECT same FROM unchanged)
           AND NOT EXISTS (SELECT 1 FROM {schema}.markers WHERE name = 'pause:' || %(queue)s)
           AS open
), ready AS (
    SELECT id, available_at FROM {schema}.jobs
    WHERE state = 'ready' AND queue = %(queue)s AND available_at <= %(now)s
      AND (SELECT open FROM open_queue)
    ORDER BY available_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), next AS (
    SELECT id FROM (
        SELECT id, available_at FROM ready
        UNION ALL
        SELECT id, available_at FROM expired
        WHERE queue = %(queue)s AND (SELECT open FROM open_queue)
    ) AS candidates
    ORDER BY available_at, id
    LIMIT %(limit)s
), rescued AS (
    UPDATE {schema}.jobs
    SET state = 'ready', lease_token = NULL, lease_expires_at = NULL, worker = NULL
    WHERE id IN (SELECT id FROM expired) AND id NOT IN (SELECT id FROM next)
    RETURNING id
), claimed AS (
    UPDATE {schema}.jobs AS j
    SET state = 'running', attempts = j.attempts + 1, reserved_at = %(now)s,
        lease_token = replace(gen_random_uuid()::text, '-', ''),
        lease_expires_at = %(lease_expires_at)s, worker = %(worker)s
    WHERE j.id IN (SELECT id FROM next)
    RETURNING j.id, j.uuid, j.queue, j.payload, j.attempts, j.exceptions, j.created_at,
              j.lease_token, j.available_at
)
SELECT (SELECT count(*) FROM finished), (SELECT count(*) FROM rescued),
       (SELECT setting FROM relaxed),
       CASE WHEN NOT (SELECT same FROM unchanged) THEN (SELECT names FROM store_markers) END,
       CASE WHEN NOT (SELECT same FROM unchanged) THEN (SELECT store_values FROM store_markers) END,
       c.id, c.uuid, c.queue, c.payload, c.attempts, c.exceptions, c.created_at,
       c.lease_token, c.available_at
FROM (VALUES (1)) AS step LEFT JOIN claimed AS c ON true;

-- name: renew_lease
UPDATE {schema}.jobs SET lease_expires_at = %(lease_expires_at)s
WHERE lease_token = %(lease_token)s AND state = 'running';

-- name: relaxed_commit
-- For a worker's own state changes (claim, complete, release, renew) only: the commit
-- returns before its WAL reaches the disk. A server crash may forget the last fraction
-- of a second of them; each forgotten change makes a job run again (its lease expires),
-- never lose it. Dispatches, failed jobs and markers always wait for the disk (a
-- dispatch on the store's own connection commits relaxed so workers see it sooner, then
-- waits for the disk with flush_to_disk before it returns).
SET LOCAL synchronous_commit TO off;

-- name: flush_to_disk
-- Run with synchronous_commit on, after a relaxed commit on the same connection: this
-- transaction's commit waits until the WAL is on disk up to its own record, so through
-- every earlier commit of the server. A transaction that writes no WAL would commit without waiting,
-- so it writes a transactional logical message (a few bytes of WAL, no table, no lock;
-- any role may emit one).
SELECT pg_logical_emit_message(true, 'capataz', '');

-- name: complete_job
DELETE FROM {schema}.jobs WHERE lease_token = %(lease_token)s AND state = 'running';

-- name: release_job
UPDATE {schema}.jobs
SET state = 'ready', available_at = %(available_at)s, exceptions = exceptions + %(exceptions)s,
    reserved_at = NULL, lease_token = NULL, lease_expires_at = NULL, worker = NULL
WHERE lease_token = %(lease_token)s AND state = 'running';

-- name: take_for_failure
DELETE FROM {schema}.jobs WHERE lease_token = %(lease_token)s AND state = 'running'
RETURNING uuid, queue, payload;

-- name: forget_failed_uuid
DELETE FROM {schema}.failed_jobs WHERE uuid = %(uuid)s;

-- name: insert_failed
INSERT INTO {schema}.failed_jobs (uuid, connection, queue, payload, exception, failed_at)
VALUES (%(uuid)s, %(connection)s, %(queue)s, %(payload)s, %(exception)s, %(now)s);

-- name: list_failed
SELECT id, uuid, connection, queue, payload, exception, failed_at FROM {schema}.failed_jobs
WHERE id > %(after_id)s ORDER BY id LIMIT %(limit)s;

-- name: get_failed
SELECT id, uuid, connection, queue, payload, exception, failed_at FROM {schema}.failed_jobs
WHERE id = %(id)s OR uuid = %(uuid)s;

-- name: retry_failed
-- Back onto their queues as fresh rows: attempts and exceptions start again at 0.
-- A failed job whose uuid is waiting or running again stays in the failed jobs.
WITH back AS (
    INSERT INTO {schema}.jobs (uuid, queue, payload, available_at, created_at)
    SELECT uuid, queue, payload, %(now)s, %(now)s FROM {schema}.failed_jobs
    WHERE id = ANY(%(ids)s)
    ORDER BY id
    ON CONFLICT DO NOTHING
    RETURNING uuid
)
DELETE FROM {schema}.failed_jobs f USING back WHERE f.uuid = back.uuid
RETURNING f.id, f.uuid;

-- name: forget_failed
DELETE FROM {schema}.failed_jobs WHERE id = ANY(%(ids)s);

-- name: flush_failed
DELETE FROM {schema}.failed_jobs WHERE %(failed_before)s::double precision IS NULL
    OR failed_at <= %(failed_before)s;

-- name: clear_queue
DELETE FROM {schema}.jobs WHERE queue = %(queue)s AND state = 'ready';

-- name: job_stats
SELECT queue,
       count(*) FILTER (WHERE state = 'ready' AND available_at <= %(now)s),
       count(*) FILTER (WHERE state = 'ready' AND available_at > %(now)s),
       count(*) FILTER (WHERE state = 'running'),
       min(available_at) FILTER (WHERE state = 'ready' AND available_at <= %(now)s)
FROM {schema}.jobs GROUP BY queue;

-- name: failed_stats
SELECT queue, count(*) FROM {schema}.failed_jobs GROUP BY queue;

-- name: list_markers
SELECT name, value FROM {schema}.markers;

-- name: set_marker
INSERT INTO {schema}.markers (name, value) VALUES (%(name)s, %(value)s)
ON CONFLICT (name) DO UPDATE SET value = excluded.value;

-- name: delete_marker
DELETE FROM {schema}.markers WHERE name = %(name)s;

-- name: try_vacuum_lock
-- One worker at a time vacuums the jobs table; the others go on without waiting.
SELECT pg_try_advisory_lock(hashtext('capataz vacuum ' || %(schema)s));

-- name: vacuum_jobs
-- Every job leaves two dead row versions (its claim and its removal) in a table whose
-- live rows are few: claims step over them until a vacuum removes them. Autovacuum runs
-- at most once a naptime (a minute by default) and may be off; a busy pool of workers
-- leaves a hundred thousand dead rows in that time, and each claim slows with them.
VACUUM (SKIP_LOCKED) {schema}.jobs;

-- name: vacuum_unlock
SELECT pg_advisory_unlock(hashtext('capataz vacuum ' || %(schema)s));
