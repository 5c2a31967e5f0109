-- The SQLite store's SQL, one named block per statement (read by capataz.queue.backends.sqlfile).
-- A block starts at a "-- name: <name>" line and runs to the next one. Migration blocks
-- may hold several statements separated by ";" at the end of a line; they run in one
-- transaction together with the schema_version update.

-- name: migration_1
-- The first schema: waiting and running jobs, failed jobs, worker markers.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'running')),
    attempts INTEGER NOT NULL DEFAULT 0,
    exceptions INTEGER NOT NULL DEFAULT 0,
    available_at REAL NOT NULL,
    created_at REAL NOT NULL,
    reserved_at REAL,
    lease_token TEXT,
    lease_expires_at REAL,
    worker TEXT,
    unique_key TEXT,
    unique_until REAL
);
CREATE INDEX jobs_ready ON jobs (queue, available_at, id) WHERE state = 'ready';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_lease_token ON jobs (lease_token) WHERE lease_token IS NOT NULL;
CREATE TABLE failed_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    connection TEXT NOT NULL,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    exception TEXT NOT NULL,
    failed_at REAL NOT NULL
);
CREATE INDEX failed_jobs_queue ON failed_jobs (connection, queue, failed_at);
CREATE TABLE markers (
    name TEXT PRIMARY KEY,
    value REAL NOT NULL
) WITHOUT ROWID;

-- name: create_schema_version
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);

-- name: get_schema_version
SELECT COALESCE(MAX(version), 0) FROM schema_version;

-- name: set_schema_version
DELETE FROM schema_version;
INSERT INTO schema_version (version) VALUES (:version);

-- name: expire_unique_key
-- A unique key whose time ran out stops blocking new dispatches.
UPDATE jobs SET unique_key = NULL
WHERE unique_key = :unique_key AND unique_until IS NOT NULL AND unique_until <= :now;

-- name: insert_job
INSERT INTO jobs (uuid, queue, payload, available_at, created_at, unique_key, unique_until)
VALUES (:uuid, :queue, :payload, :available_at, :now, :unique_key, :unique_until)
ON CONFLICT DO NOTHING
RETURNING uuid;

-- name: unique_key_holder
SELECT uuid FROM jobs WHERE unique_key = :unique_key;

-- name: rescue_expired_leases
-- Jobs whose worker stopped renewing (killed, frozen) become available again.
UPDATE jobs SET state = 'ready', lease_token = NULL, lease_expires_at = NULL, worker = NULL
WHERE state = 'running' AND lease_expires_at <= :now;

-- name: ready_in_queue
-- A read-only look before taking the write lock (see SqliteBackend.claim).
SELECT EXISTS (
    SELECT 1 FROM jobs WHERE state = 'ready' AND queue = :queue AND available_at <= :now
);

-- name: expired_lease_exists
SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'running' AND lease_expires_at <= :now);

-- name: claim_from_queue
UPDATE jobs
SET state = 'running', attempts = attempts + 1, reserved_at = :now,
    lease_token = :lease_token, lease_expires_at = :lease_expires_at, worker = :worker
WHERE id = (
    SELECT id FROM jobs
    WHERE state = 'ready' AND queue = :queue AND available_at <= :now
    ORDER BY available_at, id
    LIMIT 1
)
RETURNING id, uuid, queue, payload, attempts, exceptions, created_at, lease_token;

-- name: renew_lease
UPDATE jobs SET lease_expires_at = :lease_expires_at
WHERE lease_token = :lease_token AND state = 'running';

-- name: complete_job
DELETE FROM jobs WHERE lease_token = :lease_token AND state = 'running';

-- name: release_job
UPDATE jobs
SET state = 'ready', available_at = :available_at, exceptions = exceptions + :exceptions,
    reserved_at = NULL, lease_token = NULL, lease_expires_at = NULL, worker = NULL
WHERE lease_token = :lease_token AND state = 'running';

-- name: copy_to_failed
INSERT OR REPLACE INTO failed_jobs (uuid, connection, queue, payload, exception, failed_at)
SELECT uuid, :connection, queue, payload, :exception, :now FROM jobs
WHERE lease_token = :lease_token AND state = 'running';

-- name: list_failed
SELECT id, uuid, connection, queue, payload, exception, failed_at FROM failed_jobs
WHERE id > :after_id ORDER BY id LIMIT :limit;

-- name: get_failed
SELECT id, uuid, connection, queue, payload, exception, failed_at FROM failed_jobs
WHERE id = :id OR uuid = :uuid;

-- name: retry_failed
-- Back onto its queue with a fresh row: attempts and exceptions start again at 0.
INSERT INTO jobs (uuid, queue, payload, available_at, created_at)
SELECT uuid, queue, payload, :now, :now FROM failed_jobs WHERE id = :id
ON CONFLICT DO NOTHING
RETURNING uuid;

-- name: forget_failed
DELETE FROM failed_jobs WHERE id = :id;

-- name: flush_failed
DELETE FROM failed_jobs WHERE failed_at <= :failed_before;

-- name: clear_queue
DELETE FROM jobs WHERE queue = :queue AND state = 'ready';

-- name: job_stats
SELECT queue,
       SUM(state = 'ready' AND available_at <= :now),
       SUM(state = 'ready' AND available_at > :now),
       SUM(state = 'running'),
       MIN(CASE WHEN state = 'ready' AND available_at <= :now THEN available_at END)
FROM jobs GROUP BY queue;

-- name: failed_stats
SELECT queue, COUNT(*) FROM failed_jobs GROUP BY queue;

-- name: list_markers
SELECT name, value FROM markers;

-- name: set_marker
INSERT INTO markers (name, value) VALUES (:name, :value)
ON CONFLICT (name) DO UPDATE SET value = excluded.value;

-- name: delete_marker
DELETE FROM markers WHERE name = :name;
