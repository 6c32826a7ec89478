/*
 * coord_sql.h - the SQL of the PostgreSQL coordination store (internal; docs/coordination.md
 * describes the schema). hexrun owns the schema "hexrun" and touches nothing outside it.
 *
 * One statement installs or checks version 1 under a transaction-scoped advisory lock, so
 * processes starting together do not race. Each later call is one statement: a budget
 * operation is one call of hexrun.budget_op (row lock on the token's group), a journal
 * claim one call of hexrun.journal_begin (the key's primary key decides who claims it).
 */
#ifndef HEXRUN_COORD_SQL_H
#define HEXRUN_COORD_SQL_H

#define HEXRUN__COORD_SCHEMA_VERSION 2

/* The advisory lock class of hexrun's session locks ('hexr'): a client holds
 * (class, its id) for as long as its session lives; journal intents name that id. */
#define HEXRUN__COORD_LOCK_CLASS 1751480434

/* The lease step (version 2's board_step, as mended in 2.1; the same signature). It read
 * the clock before waiting for the lease row's lock: a holder whose put renewed the lease
 * while this statement waited had stamped it after that reading, and the stamp "from the
 * future" (meant for a server clock set back) handed the lease to the reader. Both then
 * swept, and a reader whose runs then ended through the other's news held a lease it
 * never swept, until it lapsed (a few runs seen 300 ms late at x60). */
#define HEXRUN__COORD_SQL_BOARD_STEP_FN \
"  CREATE OR REPLACE FUNCTION hexrun.board_step(p_token text, p_project text, p_holder integer,\n" \
"    p_period bigint, p_runs text[]) RETURNS TABLE (kind text, run jsonb, age_ms bigint)\n" \
"  LANGUAGE plpgsql AS $f$\n" \
"  DECLARE\n" \
"    now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n" \
"    l hexrun.board_lease%ROWTYPE;\n" \
"  BEGIN\n" \
"    INSERT INTO hexrun.board_lease VALUES (p_token, p_project, p_holder, now_ms)\n" \
"      ON CONFLICT DO NOTHING;\n" \
"    IF FOUND THEN kind := 'lease'; RETURN NEXT; RETURN; END IF;\n" \
"    SELECT * INTO l FROM hexrun.board_lease AS b\n" \
"      WHERE b.token_hash = p_token AND b.project = p_project FOR UPDATE;\n" \
"    -- board_step 2.1: the time after the row lock. A holder's renewal that committed\n" \
"    -- while this waited for the row is then older than now, not a stamp from the future.\n" \
"    now_ms := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n" \
"    IF l.holder = p_holder OR l.swept_at <= now_ms - p_period OR l.swept_at > now_ms THEN\n" \
"      UPDATE hexrun.board_lease AS b SET holder = p_holder, swept_at = now_ms\n" \
"        WHERE b.token_hash = p_token AND b.project = p_project;\n" \
"      kind := CASE WHEN l.holder = p_holder THEN 'sweep' ELSE 'lease' END;\n" \
"      RETURN NEXT; RETURN;\n" \
"    END IF;\n" \
"    kind := 'read'; RETURN NEXT;\n" \
"    RETURN QUERY SELECT 'run'::text, b.run, now_ms - b.seen_at FROM hexrun.board AS b\n" \
"      WHERE b.token_hash = p_token AND b.run_id = ANY (p_runs);\n" \
"  END $f$;\n"

/* Version 2: the status board. One client at a time holds a project's lease (it expires
 * one sweep period after its last sweep) and reads Hex's pages for everyone; the runs it
 * sees go to hexrun.board, which the other clients read instead of asking Hex. */
#define HEXRUN__COORD_SQL_V2 \
"  CREATE TABLE hexrun.board_lease (\n" \
"    token_hash text NOT NULL,\n" \
"    project text NOT NULL,\n" \
"    holder integer NOT NULL,\n" \
"    swept_at bigint NOT NULL,\n" \
"    PRIMARY KEY (token_hash, project));\n" \
"  CREATE TABLE hexrun.board (\n" \
"    token_hash text NOT NULL,\n" \
"    run_id text NOT NULL,\n" \
"    project text NOT NULL,\n" \
"    run jsonb NOT NULL,\n" \
"    seen_at bigint NOT NULL,\n" \
"    PRIMARY KEY (token_hash, run_id));\n" \
HEXRUN__COORD_SQL_BOARD_STEP_FN

#define HEXRUN__COORD_SQL_INSTALL \
"DO $hexrun$\n" \
"DECLARE v integer;\n" \
"BEGIN\n" \
"  PERFORM pg_advisory_xact_lock(1751480434, 0);\n" \
"  CREATE SCHEMA IF NOT EXISTS hexrun;\n" \
"  CREATE TABLE IF NOT EXISTS hexrun.schema_version (\n" \
"    version integer PRIMARY KEY,\n" \
"    installed_at timestamptz NOT NULL DEFAULT now());\n" \
"  SELECT max(version) INTO v FROM hexrun.schema_version;\n" \
"  IF v > 2 THEN\n" \
"    RAISE EXCEPTION 'the hexrun schema is version %, newer than this hexrun (2)', v;\n" \
"  END IF;\n" \
"  IF v = 2 THEN\n" \
"    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = 'hexrun.board_step(text, text, " \
"integer, bigint, text[])'::regprocedure AND prosrc LIKE '%board_step 2.1%') THEN\n" \
HEXRUN__COORD_SQL_BOARD_STEP_FN \
"    END IF;\n" \
"    RETURN;\n" \
"  END IF;\n" \
"  IF v IS NULL THEN\n" \
"  CREATE TABLE hexrun.budget (\n" \
"    token_hash text NOT NULL,\n" \
"    grp smallint NOT NULL CHECK (grp IN (0, 1)),\n" \
"    settings bigint[] NOT NULL,\n" \
"    minute_log bigint[] NOT NULL,\n" \
"    hour_log bigint[] NOT NULL,\n" \
"    poll_tokens double precision[] NOT NULL,\n" \
"    poll_last bigint NOT NULL,\n" \
"    paused_until bigint NOT NULL,\n" \
"    PRIMARY KEY (token_hash, grp));\n" \
"  CREATE TABLE hexrun.journal (\n" \
"    key text PRIMARY KEY,\n" \
"    project text NOT NULL,\n" \
"    state char(1) NOT NULL CHECK (state IN ('I', 'R', 'U')),\n" \
"    run_id text,\n" \
"    t_ms bigint NOT NULL,\n" \
"    owner integer,\n" \
"    updated_at timestamptz NOT NULL DEFAULT now());\n" \
"  CREATE INDEX journal_run_id ON hexrun.journal (run_id) WHERE run_id IS NOT NULL;\n" \
"  CREATE FUNCTION hexrun.log_wait(log bigint[], n bigint, len bigint, now_ms bigint)\n" \
"  RETURNS bigint LANGUAGE sql IMMUTABLE AS $f$\n" \
"    SELECT CASE WHEN n <= 0 OR cardinality(log) < n THEN 0\n" \
"                ELSE greatest(log[cardinality(log) - n + 1] + len - now_ms, 0) END\n" \
"  $f$;\n" \
"  CREATE FUNCTION hexrun.budget_op(p_token text, p_grp integer, p_op text,\n" \
"                                   p_settings bigint[], p_ms bigint)\n" \
"  RETURNS bigint LANGUAGE plpgsql AS $f$\n" \
"  DECLARE\n" \
"    b hexrun.budget%ROWTYPE;\n" \
"    now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n" \
"    scale bigint := greatest(p_settings[3], 1);\n" \
"    reserve bigint := least(greatest(p_settings[4], 0), 90);\n" \
"    lim bigint; len bigint; span bigint; share bigint; w bigint := 0;\n" \
"    lg bigint[]; tok double precision; rate double precision;\n" \
"  BEGIN\n" \
"    INSERT INTO hexrun.budget VALUES (p_token, p_grp, p_settings, '{}', '{}',\n" \
"      '{1,1}', now_ms, 0) ON CONFLICT DO NOTHING;\n" \
"    SELECT * INTO b FROM hexrun.budget WHERE token_hash = p_token AND grp = p_grp\n" \
"      FOR UPDATE;\n" \
"    IF b.settings IS DISTINCT FROM p_settings THEN\n" \
"      b.settings := p_settings; b.minute_log := '{}'; b.hour_log := '{}';\n" \
"      b.poll_tokens := '{1,1}'; b.poll_last := now_ms; b.paused_until := 0;\n" \
"    END IF;\n" \
"    IF p_op = 'pause' THEN\n" \
"      b.paused_until := greatest(b.paused_until, now_ms + p_ms);\n" \
"    ELSIF p_op = 'paused' THEN\n" \
"      RETURN greatest(b.paused_until - now_ms, 0);\n" \
"    ELSIF p_op = 'refund' THEN\n" \
"      b.minute_log := b.minute_log[1:cardinality(b.minute_log) - 1];\n" \
"      b.hour_log := b.hour_log[1:cardinality(b.hour_log) - 1];\n" \
"    ELSIF now_ms < b.paused_until THEN\n" \
"      RETURN b.paused_until - now_ms;\n" \
"    ELSE\n" \
"      FOR i IN 1..2 LOOP\n" \
"        lim := p_settings[i];\n" \
"        CONTINUE WHEN lim <= 0;\n" \
"        len := greatest(CASE i WHEN 1 THEN 60000 ELSE 3600000 END / scale, 1);\n" \
"        span := len + greatest(len / 20, 250);\n" \
"        share := greatest(lim * (100 - reserve) / 100, 1);\n" \
"        lg := CASE i WHEN 1 THEN b.minute_log ELSE b.hour_log END;\n" \
"        lg := ARRAY(SELECT x FROM unnest(lg) AS x WHERE x > now_ms - span ORDER BY x);\n" \
"        w := greatest(w, hexrun.log_wait(lg, lim, span, now_ms));\n" \
"        IF p_op = 'poll' THEN\n" \
"          w := greatest(w, hexrun.log_wait(lg, share, len, now_ms));\n" \
"          rate := share::double precision / len;\n" \
"          tok := least(1.0, b.poll_tokens[i] + greatest(now_ms - b.poll_last, 0) * rate);\n" \
"          b.poll_tokens[i] := tok;\n" \
"          IF tok < 1.0 THEN w := greatest(w, ceil((1.0 - tok) / rate)::bigint); END IF;\n" \
"        END IF;\n" \
"        IF i = 1 THEN b.minute_log := lg; ELSE b.hour_log := lg; END IF;\n" \
"      END LOOP;\n" \
"      IF p_op = 'poll' THEN b.poll_last := greatest(b.poll_last, now_ms); END IF;\n" \
"      IF w = 0 THEN\n" \
"        IF p_settings[1] > 0 THEN b.minute_log := b.minute_log || now_ms; END IF;\n" \
"        IF p_settings[2] > 0 THEN b.hour_log := b.hour_log || now_ms; END IF;\n" \
"        IF p_op = 'poll' THEN\n" \
"          b.poll_tokens := ARRAY[b.poll_tokens[1] - 1, b.poll_tokens[2] - 1];\n" \
"        END IF;\n" \
"      END IF;\n" \
"    END IF;\n" \
"    UPDATE hexrun.budget SET settings = b.settings, minute_log = b.minute_log,\n" \
"      hour_log = b.hour_log, poll_tokens = b.poll_tokens, poll_last = b.poll_last,\n" \
"      paused_until = b.paused_until WHERE token_hash = p_token AND grp = p_grp;\n" \
"    RETURN w;\n" \
"  END $f$;\n" \
"  CREATE FUNCTION hexrun.owner_alive(p_owner integer) RETURNS boolean\n" \
"  LANGUAGE sql STABLE AS $f$\n" \
"    SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'\n" \
"      AND classid = 1751480434::oid AND objid = p_owner::oid AND objsubid = 2\n" \
"      AND granted)\n" \
"  $f$;\n" \
"  CREATE FUNCTION hexrun.journal_begin(p_key text, p_project text, p_now bigint,\n" \
"    p_stale bigint, p_owner integer, OUT verdict text, OUT detail text, OUT since bigint)\n" \
"  LANGUAGE plpgsql AS $f$\n" \
"  DECLARE j hexrun.journal%ROWTYPE;\n" \
"  BEGIN\n" \
"    INSERT INTO hexrun.journal (key, project, state, t_ms, owner)\n" \
"      VALUES (p_key, p_project, 'I', p_now, p_owner) ON CONFLICT (key) DO NOTHING;\n" \
"    IF FOUND THEN verdict := 'go'; RETURN; END IF;\n" \
"    SELECT * INTO j FROM hexrun.journal WHERE key = p_key FOR UPDATE;\n" \
"    IF NOT FOUND THEN verdict := 'wait'; RETURN; END IF;\n" \
"    IF j.project <> p_project THEN\n" \
"      verdict := 'conflict'; detail := j.project; RETURN;\n" \
"    END IF;\n" \
"    IF j.state = 'R' THEN verdict := 'attach'; detail := j.run_id; RETURN; END IF;\n" \
"    IF j.state = 'I' AND j.t_ms <= p_now AND p_now - j.t_ms < p_stale\n" \
"       AND (j.owner = p_owner OR hexrun.owner_alive(j.owner)) THEN\n" \
"      verdict := 'wait'; RETURN;\n" \
"    END IF;\n" \
"    verdict := 'adopt'; since := least(j.t_ms, p_now);\n" \
"  END $f$;\n" \
"  INSERT INTO hexrun.schema_version (version) VALUES (1);\n" \
"  END IF;\n" \
HEXRUN__COORD_SQL_V2 \
"  INSERT INTO hexrun.schema_version (version) VALUES (2);\n" \
"END $hexrun$"

/* $1 token hash, $2 group, $3 op (take, poll, refund, pause, paused), $4 settings, $5 ms */
#define HEXRUN__COORD_SQL_BUDGET "SELECT hexrun.budget_op($1, $2::integer, $3, $4::bigint[], $5::bigint)"

/* As HEXRUN__COORD_SQL_BUDGET for take and poll, with what the group's windows held
 * before: the sends in its minute log and in its hour log, and the newest one's age (ms).
 * The join reads the row as the statement found it (its snapshot), before budget_op's
 * update. A client that loses the store starts its fallback windows from these. */
#define HEXRUN__COORD_SQL_BUDGET_TAKE \
    "SELECT t.w, coalesce(cardinality(b.minute_log), 0), coalesce(cardinality(b.hour_log), 0), " \
    "t.now_ms - coalesce(greatest(b.minute_log[cardinality(b.minute_log)], " \
    "b.hour_log[cardinality(b.hour_log)]), t.now_ms) " \
    "FROM (SELECT hexrun.budget_op($1, $2::integer, $3, $4::bigint[], $5::bigint) AS w, " \
    "(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) AS t " \
    "LEFT JOIN hexrun.budget AS b ON b.token_hash = $1 AND b.grp = $2::smallint"

/* $1 token hash, $2 group, $3 ages (ms, bigint[]) of the requests a client sent on its
 * fallback budget while the store was away: they join the group's windows, so that the
 * shared budget counts them until they leave (no 429 after the store returns). */
#define HEXRUN__COORD_SQL_BUDGET_MERGE \
    "UPDATE hexrun.budget AS b SET " \
    "minute_log = (SELECT array_agg(x ORDER BY x) FROM unnest(b.minute_log || s.sent) AS x), " \
    "hour_log = (SELECT array_agg(x ORDER BY x) FROM unnest(b.hour_log || s.sent) AS x) " \
    "FROM (SELECT array_agg((extract(epoch FROM clock_timestamp()) * 1000)::bigint - a) AS sent " \
    "FROM unnest($3::bigint[]) AS a) AS s " \
    "WHERE b.token_hash = $1 AND b.grp = $2::smallint AND s.sent IS NOT NULL"

/* A client's session commits without waiting for the WAL flush (pg_connect): its budget
 * and board statements count requests and keep Hex's answers, which a server crash may
 * lose the last moments of at the cost of a few 429s (handled) and a board read. The
 * journal's writes may not be lost (a claim lost in a crash would let a retry start a
 * second run): each carries this, which sets its transaction back to the server's own
 * setting (the session's reset value, as configured for the server, database or role). */
#define HEXRUN__COORD_SQL_DURABLE \
    "set_config('synchronous_commit', (SELECT reset_val FROM pg_settings WHERE name = " \
    "'synchronous_commit'), true)"

/* $1 key, $2 project, $3 unix ms, $4 stale ms, $5 owner */
#define HEXRUN__COORD_SQL_BEGIN \
    "SELECT j.verdict, j.detail, j.since FROM hexrun.journal_begin($1, $2, $3::bigint, " \
    "$4::bigint, $5::integer) AS j, " HEXRUN__COORD_SQL_DURABLE " AS durable"

/* $1 key, $2 project, $3 state R or U, $4 run id or NULL, $5 unix ms */
#define HEXRUN__COORD_SQL_NOTE \
    "INSERT INTO hexrun.journal AS j (key, project, state, run_id, t_ms) " \
    "SELECT $1, $2, $3, $4, $5::bigint FROM " HEXRUN__COORD_SQL_DURABLE " AS durable " \
    "ON CONFLICT (key) DO UPDATE SET " \
    "state = EXCLUDED.state, run_id = EXCLUDED.run_id, t_ms = EXCLUDED.t_ms, owner = NULL, " \
    "updated_at = now() WHERE j.project = EXCLUDED.project"

/* $1 key, $2 project: no run was made, the key is free again */
#define HEXRUN__COORD_SQL_FREE \
    "DELETE FROM hexrun.journal USING " HEXRUN__COORD_SQL_DURABLE " AS durable " \
    "WHERE key = $1 AND project = $2"

#define HEXRUN__COORD_SQL_KNOWS "SELECT 1 FROM hexrun.journal WHERE run_id = $1 AND state = 'R'"

/* Runs recorded more than 30 days ago are forgotten (as the file journal's compaction). */
#define HEXRUN__COORD_SQL_RETENTION \
    "DELETE FROM hexrun.journal WHERE state = 'R' AND updated_at < now() - interval '30 days'"

/* $1 client id: this session holds it until it ends (1 when it was free). */
#define HEXRUN__COORD_SQL_LOCK "SELECT pg_try_advisory_lock(1751480434, $1::integer)::integer"

/* The hexrun clients connected to this database now (the fallback share's divisor). */
#define HEXRUN__COORD_SQL_PEERS \
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = " \
    "1751480434::oid AND objsubid = 2 AND granted AND database = " \
    "(SELECT oid FROM pg_database WHERE datname = current_database())"

/* $1 token hash, $2 project, $3 holder, $4 sweep period ms, $5 run ids (text[]) */
#define HEXRUN__COORD_SQL_BOARD_STEP \
    "SELECT kind, run::text, age_ms FROM hexrun.board_step($1, $2, $3::integer, " \
    "$4::bigint, $5::text[])"

/* $1 token hash, $2 run ids (text[]): the board's rows of those runs, as board_step's
 * read answer (for a client that has just taken a lease over). */
#define HEXRUN__COORD_SQL_BOARD_READ \
    "SELECT 'run', b.run::text, (extract(epoch FROM clock_timestamp()) * 1000)::bigint - " \
    "b.seen_at FROM hexrun.board AS b WHERE b.token_hash = $1 AND b.run_id = ANY ($2::text[])"

/* $1 token hash, $2 project, $3 holder, $4 channel: the lease lapses now (its holder is
 * done), and the token's other clients hear of it (one of them takes the lease over). */
#define HEXRUN__COORD_SQL_BOARD_RELEASE \
    "WITH gave AS (UPDATE hexrun.board_lease SET swept_at = 0 WHERE token_hash = $1 " \
    "AND project = $2 AND holder = $3::integer RETURNING project) " \
    "SELECT pg_notify($4, $3 || ' ' || project) FROM gave"

/* $1 token hash, $2 the runs of a sweep whose status changed since this client's last put
 * (or that it never put) as a JSON array of Hex's run objects, $3 channel, $4 this client's
 * id.
 * Each project one of whose runs is new on the board or changed status is announced on
 * the channel, delivered when the statement commits: "<id> <project> {"runs":[the changed
 * runs]}", or without the runs when they would not fit in a notification (8000 bytes):
 * readers learn at once. The sweep's other runs follow in HEXRUN__COORD_SQL_BOARD_SEEN,
 * after the news; the server's comparison with the board keeps a new holder (which put
 * nothing yet) from announcing every run of the page. */
#define HEXRUN__COORD_SQL_BOARD_PUT \
    "WITH page AS (SELECT r->>'runId' AS run_id, r FROM jsonb_array_elements($2::jsonb) AS r), " \
    "old AS (SELECT b.run_id, b.run->>'status' AS status FROM hexrun.board AS b " \
    "WHERE b.token_hash = $1 AND b.run_id IN (SELECT run_id FROM page)), " \
    "put AS (INSERT INTO hexrun.board AS b (token_hash, run_id, project, run, seen_at) " \
    "SELECT $1, run_id, r->>'projectId', r, (extract(epoch FROM clock_timestamp()) * 1000)::bigint " \
    "FROM page WHERE run_id IS NOT NULL AND r ? 'projectId' ON CONFLICT (token_hash, run_id) DO UPDATE SET " \
    "run = EXCLUDED.run, seen_at = EXCLUDED.seen_at " \
    "RETURNING b.run_id, b.project, b.run) " \
    "SELECT pg_notify($3, $4 || ' ' || c.project || CASE WHEN length(c.runs) < 7800 " \
    "THEN ' {\"runs\":' || c.runs || '}' ELSE '' END) FROM (SELECT put.project, " \
    "jsonb_agg(put.run)::text AS runs FROM put LEFT JOIN old USING (run_id) " \
    "WHERE old.status IS DISTINCT FROM put.run->>'status' GROUP BY put.project) AS c"

/* $1 token hash, $2 the ids (text[]) of a sweep's runs that this client put as they are:
 * seen now; $3 the sweep's other runs that this client put with the same status (a JSON
 * array): written, without news; $4 the projects (text[]) whose lease this client holds
 * among the sweep's, $5 this client's id: their leases renewed, and returned (a project
 * missing from the answer is no longer this client's). Runs not seen for a day are
 * forgotten, except these: PostgreSQL leaves it unspecified which of two changes of one
 * row in one statement wins (the documentation of WITH), so the delete keeps off them
 * (and $2 and $3 are disjoint). */
#define HEXRUN__COORD_SQL_BOARD_SEEN \
    "WITH page AS (SELECT r->>'runId' AS run_id, r FROM jsonb_array_elements($3::jsonb) AS r), " \
    "gone AS (DELETE FROM hexrun.board WHERE token_hash = $1 AND seen_at < " \
    "(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 86400000 AND " \
    "run_id <> ALL ($2::text[]) AND run_id NOT IN (SELECT run_id FROM page " \
    "WHERE run_id IS NOT NULL)), " \
    "put AS (INSERT INTO hexrun.board AS b (token_hash, run_id, project, run, seen_at) " \
    "SELECT $1, run_id, r->>'projectId', r, (extract(epoch FROM clock_timestamp()) * 1000)::bigint " \
    "FROM page WHERE run_id IS NOT NULL AND r ? 'projectId' ON CONFLICT (token_hash, run_id) " \
    "DO UPDATE SET run = EXCLUDED.run, seen_at = EXCLUDED.seen_at), " \
    "seen AS (UPDATE hexrun.board SET seen_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint " \
    "WHERE token_hash = $1 AND run_id = ANY ($2::text[])), " \
    "renewed AS (UPDATE hexrun.board_lease SET swept_at = " \
    "(extract(epoch FROM clock_timestamp()) * 1000)::bigint WHERE token_hash = $1 AND " \
    "project = ANY ($4::text[]) AND holder = $5::integer RETURNING project) " \
    "SELECT project FROM renewed"

#endif
