-- schema.sql -- the Lighthouse event store, schema version 1.
--
-- This file is documentation; store/store.c creates the same tables (and
-- migrates older versions) and is the authority. PRAGMA user_version holds
-- the schema version; PRAGMA application_id holds 0x4C484F55 ("LHOU") so a
-- foreign database is recognized and refused.

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,  -- sequence number: 1, 2, 3... in commit order, never reused
    time_ns    INTEGER NOT NULL,     -- wall-clock time of the event, nanoseconds since 1970 UTC
    type       TEXT    NOT NULL,     -- event type: request, verdict, daemon.start, daemon.stop,
                                     -- policy.load, policy.reject (more with later versions)
    uid        INTEGER,              -- caller's user id, as the kernel told the daemon (NULL: none)
    gid        INTEGER,              -- caller's group id (NULL: none)
    pid        INTEGER,              -- caller's process id (NULL: none)
    agent      TEXT,                 -- agent name the request declared (agent_id), if any
    session    TEXT,                 -- session the request declared (session_id), if any
    request_id INTEGER,              -- request the event belongs to (NULL: none)
    path       TEXT,                 -- request name (requests/NAME) or file path, if any
    payload    TEXT    NOT NULL      -- JSON object with the type's details:
                                     --   request: name, form (json|tool|shell), bytes, tool, input,
                                     --            content, old, cwd, event, and for JSON or invalid
                                     --            requests the request as written: raw, or
                                     --            raw_base64 when it is not valid UTF-8
                                     --   verdict: decision, reason, rule, tier, cached, judge_us
                                     --   daemon.*: version, mount, project, pid
                                     --   policy.*: source, rules, generation | errors
);

-- a request's events, for results and for `lighthousectl events --request`
CREATE INDEX events_request ON events(request_id) WHERE request_id IS NOT NULL;
-- events of one type in order, for --type and for the verdict counts
CREATE INDEX events_type ON events(type, seq);
