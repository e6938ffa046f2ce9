/* store.c - the session history in SQLite (store.h).
 *
 * Texts are stored as BLOBs: a token is a byte sequence that may be half a
 * UTF-8 character, and a turn's text is the concatenation of its tokens'
 * bytes, so nothing may be re-encoded on the way in or out. Candidates live
 * in their own table (one row per candidate) for the same reason and so that
 * they can be queried. Schema changes are migrations: migration i takes the
 * database from user_version i to i + 1. */
#include "store.h"
#include "store_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const store_migrations[STORE_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY,"
    "  created TEXT NOT NULL, updated TEXT NOT NULL,"
    "  model_path TEXT, model_checksum TEXT, settings TEXT, title TEXT);"
    "CREATE TABLE turns ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('user', 'model')),"
    "  text BLOB NOT NULL DEFAULT x'',"
    "  created TEXT NOT NULL, settings TEXT, stop TEXT, elapsed_ms REAL,"
    "  UNIQUE (session_id, idx));"
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL, token_id INTEGER NOT NULL, text BLOB NOT NULL, t_ms REAL,"
    "  has_sample INTEGER NOT NULL, chosen_prob REAL, chosen_raw_logprob REAL,"
    "  entropy_raw REAL, entropy_final REAL, n_kept INTEGER, chosen_rank INTEGER,"
    "  settings TEXT,"
    "  UNIQUE (turn_id, idx));"
    "CREATE TABLE candidates ("
    "  token_row INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,"
    "  rank INTEGER NOT NULL, token_id INTEGER NOT NULL, text BLOB NOT NULL,"
    "  logit REAL, raw_prob REAL, prob REAL, kept INTEGER NOT NULL,"
    "  PRIMARY KEY (token_row, rank)) WITHOUT ROWID;",
    /* 1 -> 2: the window each token was run in, so a replay recomputes
     * attention over exactly what the model saw */
    "ALTER TABLE tokens ADD COLUMN window_start INTEGER;",
    /* 2 -> 3: a beam-search reply's hypotheses, so the probability pane can
     * show where the others went; ids as space-separated decimals */
    "CREATE TABLE beam_hyps ("
    "  turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,"
    "  rank INTEGER NOT NULL, score REAL, sum_logprob REAL, ids TEXT NOT NULL,"
    "  PRIMARY KEY (turn_id, rank)) WITHOUT ROWID;",
    /* 3 -> 4: sessions become trees (store.h): every turn its parent and
     * branch; a line of turns so far, so each turn's parent is the one
     * before it and its position is its idx */
    "ALTER TABLE sessions ADD COLUMN branch INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE turns ADD COLUMN parent_id INTEGER;"
    "ALTER TABLE turns ADD COLUMN branch INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE turns ADD COLUMN pos INTEGER;"
    "ALTER TABLE turns ADD COLUMN fork_of INTEGER;"
    "ALTER TABLE turns ADD COLUMN fork_at INTEGER;"
    "UPDATE turns SET pos = idx, parent_id = (SELECT p.id FROM turns p"
    "  WHERE p.session_id = turns.session_id AND p.idx = turns.idx - 1);"
    "CREATE INDEX turns_branch ON turns (session_id, branch, idx);"
    "CREATE INDEX turns_parent ON turns (parent_id);",
};


static const char *const store_sql[ST_COUNT] = {
    "INSERT INTO sessions (created, updated, model_path, model_checksum, settings) "
    "VALUES (?1, ?1, ?2, ?3, ?4)",
    "UPDATE sessions SET settings = ?2, updated = ?3 WHERE id = ?1",
    /* at the end of the session's current branch: after its newest turn */
    "WITH cur(b) AS (SELECT branch FROM sessions WHERE id = ?1),"
    " leaf(id, pos) AS (SELECT t.id, t.pos FROM turns t, cur WHERE t.session_id = ?1"
    "  AND t.branch = cur.b ORDER BY t.idx DESC LIMIT 1) "
    "INSERT INTO turns (session_id, idx, role, text, created, settings, branch, parent_id, pos) "
    "SELECT ?1, (SELECT COALESCE(MAX(idx) + 1, 0) FROM turns WHERE session_id = ?1), ?2, ?3, ?4,"
    " ?5, cur.b, (SELECT id FROM leaf), COALESCE((SELECT pos FROM leaf) + 1, 0) FROM cur",
    "INSERT INTO tokens (turn_id, idx, token_id, text, t_ms, has_sample, chosen_prob,"
    " chosen_raw_logprob, entropy_raw, entropy_final, n_kept, chosen_rank, settings,"
    " window_start) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    "INSERT INTO candidates (token_row, rank, token_id, text, logit, raw_prob, prob, kept) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "UPDATE turns SET text = CAST(text || ?2 AS BLOB) WHERE id = ?1",
    "UPDATE turns SET stop = ?2, elapsed_ms = ?3 WHERE id = ?1",
    /* the session's title: the start of its first user turn */
    "UPDATE sessions SET title = (SELECT substr(CAST(text AS TEXT), 1, 80) FROM turns "
    "WHERE id = ?1) WHERE id = (SELECT session_id FROM turns WHERE id = ?1 AND role = 'user') "
    "AND title IS NULL",
    "UPDATE sessions SET updated = ?2 WHERE id = (SELECT session_id FROM turns WHERE id = ?1)",
    "UPDATE tokens SET window_start = ?3 WHERE turn_id = ?1 AND idx = ?2",
    "INSERT OR REPLACE INTO beam_hyps (turn_id, rank, score, sum_logprob, ids) "
    "VALUES (?1, ?2, ?3, ?4, ?5)",
};


/* ---- helpers --------------------------------------------------------------- */

int store_fail(const store_t *s, char *err, size_t errlen, const char *what) {
    snprintf(err, errlen, "%s: %s%s%s", s->path, what ? what : "", what ? ": " : "",
             s->db ? sqlite3_errmsg(s->db) : "cannot open");
    return -1;
}

void store_now(char out[32]) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

int store_exec(store_t *s, const char *sql, char *err, size_t errlen) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int store_mkdirs(const char *path, char *err, size_t errlen) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) break;
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int store_default_path(char *buf, size_t len, char *err, size_t errlen) {
    const char *env = getenv("GPTSCOPE_DB");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env) n = snprintf(buf, len, "%s", env);
    else if (xdg && *xdg) n = snprintf(buf, len, "%s/gptscope/sessions.db", xdg);
    else if (home && *home) n = snprintf(buf, len, "%s/.local/share/gptscope/sessions.db", home);
    else {
        snprintf(err, errlen, "no place for the session database: set GPTSCOPE_DB, XDG_DATA_HOME or HOME");
        return -1;
    }
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "the session database path is too long");
        return -1;
    }
    return 0;
}

/* ---- open / close ---------------------------------------------------------- */

/* Reads the schema version and refuses a database that is not ours or is
 * newer, changing nothing: this runs before any PRAGMA that writes (WAL
 * mode is recorded in the file). Returns the version, or -1 with err. */
static int store_check(store_t *s, char *err, size_t errlen) {
    sqlite3_stmt *q = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version < 0) {
        /* a file that is not SQLite fails here first */
        return store_fail(s, err, errlen, NULL);
    }
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "%s: made by a newer gptscope (schema version %d; this one knows up to %d)",
                 s->path, version, STORE_SCHEMA_VERSION);
        return -1;
    }
    if (version == STORE_SCHEMA_VERSION) return version;
    if (s->readonly) {
        /* an older schema is read as it is (reading needs no migration) */
        if (version >= 1) return version;
        snprintf(err, errlen, "%s: not a gptscope session database (no sessions stored yet?)",
                 s->path);
        return -1;
    }
    if (version == 0) {
        /* an existing file with tables of its own is not ours to change */
        int n_tables = -1;
        if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL) ==
                SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            n_tables = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
        if (n_tables < 0) return store_fail(s, err, errlen, NULL);
        if (n_tables > 0) {
            snprintf(err, errlen, "%s: an SQLite database, but not a gptscope session database",
                     s->path);
            return -1;
        }
    }
    return version;
}

/* Brings a checked database from version to the current schema. */
static int store_migrate(store_t *s, int version, char *err, size_t errlen) {
    if (version == STORE_SCHEMA_VERSION) return 0;
    if (store_exec(s, "BEGIN IMMEDIATE", err, errlen) != 0) return -1;
    for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (store_exec(s, store_migrations[v], err, errlen) != 0 ||
            store_exec(s, pragma, err, errlen) != 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return store_exec(s, "COMMIT", err, errlen);
}

/* Opens path read-only. A WAL database needs its -shm file; on read-only
 * media that cannot be created, and SQLite's answer is to open it as
 * immutable (nothing can change it there anyway). */
static int store_open_readonly(store_t *s, const char *path) {
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *q = NULL;
        int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_step(q);
        sqlite3_finalize(q);
        if (rc == SQLITE_ROW || rc == SQLITE_OK) return SQLITE_OK;
        int primary = rc & 0xff;
        if (primary != SQLITE_CANTOPEN && primary != SQLITE_READONLY) return SQLITE_OK;
    }
    char dir[sizeof s->path];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    /* a writable directory: the failure is real, and store_check reports it */
    if (access(slash ? (dir[0] ? dir : "/") : ".", W_OK) == 0) return SQLITE_OK;
    sqlite3_close(s->db);
    s->db = NULL;
    /* '?' and '#' in a path would end the URI's path part: encode them */
    char *enc = sqlite3_mprintf("%s", "");
    for (const char *p = path; enc && *p; p++) {
        char *next = (*p == '?' || *p == '#' || *p == '%')
                         ? sqlite3_mprintf("%s%%%02X", enc, (unsigned char)*p)
                         : sqlite3_mprintf("%s%c", enc, *p);
        sqlite3_free(enc);
        enc = next;
    }
    if (!enc) return SQLITE_NOMEM;
    char *uri = sqlite3_mprintf("file:%s?immutable=1", enc);
    sqlite3_free(enc);
    if (!uri) return SQLITE_NOMEM;
    int rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    sqlite3_free(uri);
    return rc;
}

store_t *store_open(const char *path, int readonly, char *err, size_t errlen) {
    store_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    s->readonly = readonly;
    struct stat sb;
    if (readonly && stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(s);
        return NULL;
    }
    if (!readonly && store_mkdirs(path, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    /* the history is private: a new database (and, after it, SQLite's -wal
       and -shm files, which copy its mode) is readable by its owner only */
    if (!readonly) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) close(fd);
    }
    int orc = readonly ? store_open_readonly(s, path)
                       : sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                         NULL);
    if (orc != SQLITE_OK || !s->db) {
        store_fail(s, err, errlen, "cannot open");
        store_close(s);
        return NULL;
    }
    /* SQLite opens a write-protected file read-only without a word; a writer
       would then start and fail at the first prompt (leaving -wal and -shm
       behind where the directory is writable). Refuse it before reading. */
    if (!readonly && sqlite3_db_readonly(s->db, "main") == 1) {
        snprintf(err, errlen, "%s: the database is read-only (cannot be written by this user)",
                 path);
        store_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_extended_result_codes(s->db, 1);
    /* Check first, then change: a refused database is left as it was.
       WAL: readers never block the writer and see whole transactions only;
       synchronous=NORMAL keeps every committed token across a killed process
       (only a power cut can lose the last transactions) */
    int version = store_check(s, err, errlen);
    /* read as it is when read-only; otherwise migrated below (or refused) */
    s->version = readonly ? version : STORE_SCHEMA_VERSION;
    if (version < 0 ||
        (!readonly && store_exec(s, "PRAGMA journal_mode = WAL", err, errlen) != 0) ||
        store_exec(s, "PRAGMA foreign_keys = ON", err, errlen) != 0 ||
        (!readonly && store_exec(s, "PRAGMA synchronous = NORMAL", err, errlen) != 0) ||
        (!readonly && store_migrate(s, version, err, errlen) != 0)) {
        store_close(s);
        return NULL;
    }
    if (!readonly) {
        for (int i = 0; i < ST_COUNT; i++) {
            if (sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                                   NULL) != SQLITE_OK) {
                store_fail(s, err, errlen, "preparing statements");
                store_close(s);
                return NULL;
            }
        }
    }
    return s;
}

void store_close(store_t *s) {
    if (!s) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

const char *store_path(const store_t *s) { return s->path; }

/* ---- writing --------------------------------------------------------------- */

sqlite3_stmt *store_stmt(store_t *s, int which) {
    sqlite3_stmt *q = s->st[which];
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return q;
}

int store_done(store_t *s, sqlite3_stmt *q, char *err, size_t errlen, const char *what) {
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) return store_fail(s, err, errlen, what);
    return 0;
}

int store_writable(store_t *s, char *err, size_t errlen) {
    if (!s->readonly) return 0;
    snprintf(err, errlen, "%s: opened read-only", s->path);
    return -1;
}

int64_t store_session_new(store_t *s, const char *model_path, const char *model_checksum,
                          const char *settings_json, char *err, size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    char now[32];
    store_now(now);
    sqlite3_stmt *q = store_stmt(s, ST_SESSION_NEW);
    sqlite3_bind_text(q, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, model_path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, model_checksum, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, settings_json ? settings_json : "{}", -1, SQLITE_TRANSIENT);
    if (store_done(s, q, err, errlen, "creating a session") != 0) return -1;
    return sqlite3_last_insert_rowid(s->db);
}

int store_session_set_settings(store_t *s, int64_t session, const char *settings_json,
                               char *err, size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    char now[32];
    store_now(now);
    sqlite3_stmt *q = store_stmt(s, ST_SESSION_SETTINGS);
    sqlite3_bind_int64(q, 1, session);
    sqlite3_bind_text(q, 2, settings_json ? settings_json : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, now, -1, SQLITE_TRANSIENT);
    return store_done(s, q, err, errlen, "storing settings");
}

int64_t store_turn_begin(store_t *s, int64_t session, const char *role, const char *text,
                         const char *settings_json, char *err, size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    if (strcmp(role, "user") != 0 && strcmp(role, "model") != 0) {
        snprintf(err, errlen, "%s: a turn's role is 'user' or 'model', not '%s'", s->path, role);
        return -1;
    }
    char now[32];
    store_now(now);
    /* the turn and the session's updated time in one transaction; IMMEDIATE
       takes the write lock first, so a second writer waits (busy timeout)
       rather than failing when a read lock would have to be upgraded */
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "storing a turn");
    sqlite3_stmt *q = store_stmt(s, ST_TURN_BEGIN);
    sqlite3_bind_int64(q, 1, session);
    sqlite3_bind_text(q, 2, role, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, text ? text : "", (int)(text ? strlen(text) : 0), SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, now, -1, SQLITE_TRANSIENT);
    if (settings_json) sqlite3_bind_text(q, 5, settings_json, -1, SQLITE_TRANSIENT);
    int rc = store_done(s, q, err, errlen, "storing a turn");
    if (rc == 0 && sqlite3_changes(s->db) != 1) {
        snprintf(err, errlen, "%s: no session %lld", s->path, (long long)session);
        rc = -1;
    }
    int64_t id = sqlite3_last_insert_rowid(s->db);
    if (rc == 0) {
        q = store_stmt(s, ST_TOUCH);
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_text(q, 2, now, -1, SQLITE_TRANSIENT);
        rc = store_done(s, q, err, errlen, "storing a turn");
    }
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_fail(s, err, errlen, "storing a turn");
    if (rc != 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc == 0 ? id : -1;
}

/* Inserts a token and its candidates, and appends its bytes to the turn's
 * text unless append_text is 0; the caller holds the transaction. */
static int store_token_insert(store_t *s, int64_t turn, const store_token_t *t, int append_text,
                              char *err, size_t errlen) {
    const char *text = t->text ? t->text : "";
    /* every byte, NUL included: a reply's text is the concatenation of them */
    int tlen = (int)(t->text_len ? t->text_len : strlen(text));
    sqlite3_stmt *q = store_stmt(s, ST_TOKEN_ADD);
    sqlite3_bind_int64(q, 1, turn);
    sqlite3_bind_int(q, 2, t->idx);
    sqlite3_bind_int(q, 3, t->id);
    sqlite3_bind_blob(q, 4, text, tlen, SQLITE_STATIC);
    sqlite3_bind_double(q, 5, t->t_ms);
    sqlite3_bind_int(q, 6, t->has_sample);
    if (t->has_sample) {
        sqlite3_bind_double(q, 7, t->chosen_prob);
        sqlite3_bind_double(q, 8, t->chosen_raw_logprob);
        sqlite3_bind_double(q, 9, t->entropy_raw);
        sqlite3_bind_double(q, 10, t->entropy_final);
        sqlite3_bind_int(q, 11, t->n_kept);
        sqlite3_bind_int(q, 12, t->chosen_rank);
    }
    if (t->settings_json) sqlite3_bind_text(q, 13, t->settings_json, -1, SQLITE_STATIC);
    if (t->window_start >= 0) sqlite3_bind_int(q, 14, t->window_start);
    int rc = store_done(s, q, err, errlen, "storing a token");
    int64_t row = sqlite3_last_insert_rowid(s->db);
    for (int k = 0; rc == 0 && k < t->n_cand; k++) {
        const store_cand_t *c = &t->cand[k];
        q = store_stmt(s, ST_CAND_ADD);
        sqlite3_bind_int64(q, 1, row);
        sqlite3_bind_int(q, 2, k);
        sqlite3_bind_int(q, 3, c->id);
        int clen = c->text_len > 0 && c->text_len <= (int)sizeof c->text
                       ? c->text_len
                       : (int)strnlen(c->text, sizeof c->text);
        sqlite3_bind_blob(q, 4, c->text, clen, SQLITE_STATIC);
        sqlite3_bind_double(q, 5, c->logit);
        sqlite3_bind_double(q, 6, c->raw_prob);
        sqlite3_bind_double(q, 7, c->prob);
        sqlite3_bind_int(q, 8, c->kept);
        rc = store_done(s, q, err, errlen, "storing a candidate");
    }
    if (rc == 0 && append_text) {
        q = store_stmt(s, ST_TURN_TEXT);
        sqlite3_bind_int64(q, 1, turn);
        sqlite3_bind_blob(q, 2, text, tlen, SQLITE_STATIC);
        rc = store_done(s, q, err, errlen, "storing a token");
    }
    return rc;
}

int store_token_add(store_t *s, int64_t turn, const store_token_t *t, char *err, size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "storing a token");
    int rc = store_token_insert(s, turn, t, 1, err, errlen);
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_fail(s, err, errlen, "storing a token");
    if (rc != 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_tokens_add(store_t *s, int64_t turn, const store_token_t *t, int n, char *err,
                     size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    if (n <= 0) return 0;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "storing tokens");
    /* the turn's text in one statement: appending token by token rewrites
       the whole text each time (quadratic in a long prompt) */
    size_t len = 0;
    for (int i = 0; i < n; i++) len += t[i].text_len ? t[i].text_len : strlen(t[i].text ? t[i].text : "");
    char *text = malloc(len + 1);
    int rc = 0;
    if (!text || len > INT_MAX) {
        snprintf(err, errlen, "%s: storing tokens: out of memory", s->path);
        rc = -1;
    }
    size_t at = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        size_t k = t[i].text_len ? t[i].text_len : strlen(t[i].text ? t[i].text : "");
        if (k) memcpy(text + at, t[i].text, k);
        at += k;
        rc = store_token_insert(s, turn, &t[i], 0, err, errlen);
    }
    if (rc == 0) {
        sqlite3_stmt *q = store_stmt(s, ST_TURN_TEXT);
        sqlite3_bind_int64(q, 1, turn);
        sqlite3_bind_blob(q, 2, text, (int)len, SQLITE_STATIC);
        rc = store_done(s, q, err, errlen, "storing tokens");
    }
    free(text);
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_fail(s, err, errlen, "storing tokens");
    if (rc != 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_turn_hyps(store_t *s, int64_t turn, const store_hyp_t *hyps, int n, char *err,
                    size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "storing beam hypotheses");
    int rc = 0;
    for (int k = 0; rc == 0 && k < n; k++) {
        size_t cap = (size_t)hyps[k].n * 12 + 1, o = 0;
        char *text = malloc(cap);
        if (!text) {
            snprintf(err, errlen, "%s: out of memory storing beam hypotheses", s->path);
            rc = -1;
            break;
        }
        text[0] = '\0';
        for (int i = 0; i < hyps[k].n; i++)
            o += (size_t)snprintf(text + o, cap - o, i ? " %d" : "%d", hyps[k].ids[i]);
        sqlite3_stmt *q = store_stmt(s, ST_HYP_ADD);
        sqlite3_bind_int64(q, 1, turn);
        sqlite3_bind_int(q, 2, k);
        sqlite3_bind_double(q, 3, hyps[k].score);
        sqlite3_bind_double(q, 4, hyps[k].sum_logprob);
        sqlite3_bind_text(q, 5, text, (int)o, SQLITE_TRANSIENT);
        free(text);
        rc = store_done(s, q, err, errlen, "storing beam hypotheses");
    }
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_fail(s, err, errlen, "storing beam hypotheses");
    if (rc != 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_turn_end(store_t *s, int64_t turn, const char *stop, double elapsed_ms, char *err,
                   size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    char now[32];
    store_now(now);
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "ending a turn");
    sqlite3_stmt *q = store_stmt(s, ST_TURN_END);
    sqlite3_bind_int64(q, 1, turn);
    if (stop) sqlite3_bind_text(q, 2, stop, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 3, elapsed_ms);
    int rc = store_done(s, q, err, errlen, "ending a turn");
    if (rc == 0) {
        q = store_stmt(s, ST_TITLE);
        sqlite3_bind_int64(q, 1, turn);
        rc = store_done(s, q, err, errlen, "ending a turn");
    }
    if (rc == 0) {
        q = store_stmt(s, ST_TOUCH);
        sqlite3_bind_int64(q, 1, turn);
        sqlite3_bind_text(q, 2, now, -1, SQLITE_TRANSIENT);
        rc = store_done(s, q, err, errlen, "ending a turn");
    }
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_fail(s, err, errlen, "ending a turn");
    if (rc != 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

