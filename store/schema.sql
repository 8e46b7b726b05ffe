-- schema.sql -- the Lighthouse event store, schema version 3.
--
-- This file is documentation; store/schema.c creates the same tables,
-- migrates version 1 stores (rebuilding events with their chain
-- checksums and recording a store.migrate event) and version 2 stores
-- (adding the journal table) and is the authority.
-- PRAGMA user_version holds the schema version; PRAGMA application_id holds
-- 0x4C484F55 ("LHOU") so a foreign database is recognized and refused. The
-- state directory also holds events.lock (flock'd by the one process that
-- writes the store, holding its pid), journal (the write-ahead journal
-- of verdicts, store/journal.c) and, in WAL mode, events.db-wal and
-- events.db-shm.

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,  -- sequence number: 1, 2, 3... in commit order, never reused;
                                     -- a hole is a gap that vacuum recorded (see gaps)
    time_ns    INTEGER NOT NULL,     -- wall-clock time of the event, nanoseconds since 1970 UTC
    type       TEXT    NOT NULL,     -- event type (store/events.c, lighthouse(7)):
                                     --   request, verdict, escalation, decision,
                                     --   file.created, file.modified, file.deleted, file.renamed,
                                     --   file.mode, annotation, policy.load, policy.reject,
                                     --   daemon.start, daemon.stop, store.migrate, store.vacuum
    uid        INTEGER,              -- caller's user id, as the kernel told the daemon (NULL: none)
    gid        INTEGER,              -- caller's group id (NULL: none)
    pid        INTEGER,              -- caller's process id (NULL: none)
    agent      TEXT,                 -- agent name the request declared (agent_id), if any
    session    TEXT,                 -- session the request declared (session_id), if any
    request_id INTEGER,              -- request the event belongs to (NULL: none): request, verdict,
                                     -- escalation and decision events of one request share it
    path       TEXT,                 -- request name (requests/NAME), or for file.* and annotation
                                     -- the path relative to the project, if any
    blob       BLOB,                 -- file.*: id of the content after the change (blobs.id), 16 bytes
    payload    TEXT    NOT NULL,     -- JSON object with the type's details:
                                     --   request:  name, form (json|tool|shell), bytes, tool, input,
                                     --             content, old, cwd, event, and for JSON or invalid
                                     --             requests the request as written: raw, or
                                     --             raw_base64 when it is not valid UTF-8
                                     --   verdict:  decision, reason, rule, tier, cached, judge_us
                                     --   escalation: to (experts|human), reason, tier, score, timeout_s
                                     --   decision: decision (allow|ask|deny), by (expert|human|timeout),
                                     --             who, reason, learned_rule
                                     --   file.*:   kind (file|dir|symlink), size, mode ("0644"),
                                     --             target (symlinks), from (file.renamed),
                                     --             prev_mode (file.mode); every file.* event but
                                     --             file.deleted carries the whole state of the path
                                     --   annotation: text, author
                                     --   daemon.*: version, pid, mount, project, policy, rules
                                     --   policy.*: source, rules, generation | errors
                                     --   store.migrate: from, to, events, gaps, gaps_hash
                                     --   store.vacuum: cutoff, cutoff_ns, dropped, first, last, gaps,
                                     --             gaps_hash | blobs, chunks
    hash       BLOB    NOT NULL      -- chain checksum, 16 bytes: xxh3-128(hash of the previous row ||
                                     -- this row's canonical bytes); store/chain.c gives the bytes
);

-- a request's events, for results and for `lighthousectl events --request`
CREATE INDEX events_request ON events(request_id) WHERE request_id IS NOT NULL;
-- events of one type (or family, by GLOB 'file.*') in order: --type, streams/,
-- and --decision (verdicts and decisions, their decision read from the payload)
CREATE INDEX events_type ON events(type, seq);
-- --since TIME and --until TIME, vacuum's cutoff
CREATE INDEX events_time ON events(time_ns);
-- --agent, --session
CREATE INDEX events_agent ON events(agent, seq) WHERE agent IS NOT NULL;
CREATE INDEX events_session ON events(session, seq) WHERE session IS NOT NULL;
-- --path: one path, or a folder's range (path >= 'src/' AND path < 'src0'), of the
-- events about files. Requests and verdicts are left out: request names are often
-- unique, every row would land at a random place of the index, and each commit
-- would rewrite hundreds of its pages (it halved the writer's rate); --path finds
-- request names by scanning the requests (events_type) instead.
CREATE INDEX events_path ON events(path, seq) WHERE path IS NOT NULL AND type NOT IN ('request','verdict');
-- which events name a blob: vacuum drops contents nothing names
CREATE INDEX events_blob ON events(blob) WHERE blob IS NOT NULL;

-- Holes that vacuum made in events on purpose, so the chain still verifies.
CREATE TABLE gaps (
    first_seq  INTEGER PRIMARY KEY,  -- first dropped seq of a run of consecutive dropped rows
    last_seq   INTEGER NOT NULL,     -- last dropped seq of the run
    hash       BLOB    NOT NULL,     -- the chain checksum of last_seq when it was dropped: the chain
                                     -- continues from it at last_seq + 1
    vacuum_seq INTEGER NOT NULL      -- the store.vacuum (or store.migrate) event that made the gap; its
                                     -- payload's gaps_hash is the digest of all its gaps
);

-- Content-defined chunks of file contents (store/cdc.c: 4 to 64 KiB, ~16 KiB).
CREATE TABLE chunks (
    id         BLOB PRIMARY KEY,     -- xxh3-128 of data, 16 bytes: a chunk is stored once
    size       INTEGER NOT NULL,     -- bytes in data
    data       BLOB    NOT NULL      -- the bytes
);

-- File contents: content-addressed, deduplicated.
CREATE TABLE blobs (
    id         BLOB PRIMARY KEY,     -- xxh3-128 of the whole content, 16 bytes
    size       INTEGER NOT NULL,     -- bytes of content
    chunks     INTEGER NOT NULL,     -- rows in blob_chunks
    time_ns    INTEGER NOT NULL      -- when it was first stored (vacuum keeps newer ones)
) WITHOUT ROWID;

-- A blob is the ordered list of its chunks.
CREATE TABLE blob_chunks (
    blob       BLOB    NOT NULL,     -- blobs.id
    off        INTEGER NOT NULL,     -- offset of the chunk in the blob: 0, then each the sum of the
                                     -- sizes before it
    chunk      BLOB    NOT NULL,     -- chunks.id
    PRIMARY KEY (blob, off)          -- in order, and seekable to an offset (history/ reads)
) WITHOUT ROWID;

-- which blobs use a chunk: vacuum drops chunks no blob lists
CREATE INDEX blob_chunks_chunk ON blob_chunks(chunk);

-- Version 3. How much of STATE/journal (store/journal.c) the database holds: verdicts are released
-- once their events are in the journal, and the writer thread brings the database up to date. This
-- row is updated in the same transaction as the events it covers, so at open the records after
-- `offset` are exactly the ones to replay.
CREATE TABLE journal (
    id         INTEGER PRIMARY KEY CHECK (id = 1),  -- one row
    generation INTEGER NOT NULL,     -- the journal file's generation (its header); the store empties
                                     -- the file when the database holds all of it, after raising this
    offset     INTEGER NOT NULL      -- bytes of that generation's file ingested (0: none)
);
