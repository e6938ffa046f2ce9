/* store_branch.c - the tree of a session's turns (store.h, schema 4): forks,
 * the current branch, and what each branch holds.
 *
 * A fork copies the shared tokens of the reply it forks from into the new
 * branch's first turn rather than pointing into the old one: every turn then
 * stays a whole reply on its own, so reading, replaying and exporting a
 * branch is reading its turns, as for a session that never forked, at the
 * cost of one copy of the tokens before the fork (a reply's worth). */
#include "store.h"
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs sql (one statement) with session and an int bound as ?1 ?2 and
 * returns its first column as an integer, def when no row; -1 and err on
 * failure (*out untouched). */
static int store_int_query(store_t *s, const char *sql, int64_t a, int64_t b, int64_t def,
                           int64_t *out, char *err, size_t errlen) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "reading branches");
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_type(q, 0) == SQLITE_NULL ? def : sqlite3_column_int64(q, 0);
    else if (rc == SQLITE_DONE)
        *out = def;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return store_fail(s, err, errlen, "reading branches");
    return 0;
}

int store_branch_info(store_t *s, int64_t session, int *current, int *n_branches, char *err,
                      size_t errlen) {
    *current = 0;
    *n_branches = 1;
    if (s->version < 4) return 0;
    int64_t cur = 0, top = 0;
    if (store_int_query(s, "SELECT branch FROM sessions WHERE id = ?1", session, 0, 0, &cur, err,
                        errlen) != 0 ||
        store_int_query(s, "SELECT MAX(branch) FROM turns WHERE session_id = ?1", session, 0, 0,
                        &top, err, errlen) != 0)
        return -1;
    /* a damaged file may say anything: the numbers stay in range */
    if (top < 0 || top > 1000000) top = 0;
    if (cur < 0 || cur > top) cur = 0;
    *current = (int)cur;
    *n_branches = (int)top + 1;
    return 0;
}

int store_session_set_branch(store_t *s, int64_t session, int branch, char *err, size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    int64_t there = 0;
    if (store_int_query(s, "SELECT count(*) FROM turns WHERE session_id = ?1 AND branch = ?2",
                        session, branch, 0, &there, err, errlen) != 0)
        return -1;
    if (there == 0 && branch != 0) {
        snprintf(err, errlen, "%s: session %lld has no branch %d", s->path, (long long)session,
                 branch);
        return -1;
    }
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "UPDATE sessions SET branch = ?2 WHERE id = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return store_fail(s, err, errlen, "changing branch");
    sqlite3_bind_int64(q, 1, session);
    sqlite3_bind_int(q, 2, branch);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return store_fail(s, err, errlen, "changing branch");
    if (sqlite3_changes(s->db) == 0) {
        snprintf(err, errlen, "%s: no session %lld", s->path, (long long)session);
        return -1;
    }
    return 0;
}

/* The statements of a fork, in order; ?1 the turn forked from, ?2 the new
 * turn, ?3 the tokens shared. */
static const char *const store_fork_sql[] = {
    /* its tokens before the fork, with their candidates */
    "INSERT INTO tokens (turn_id, idx, token_id, text, t_ms, has_sample, chosen_prob,"
    " chosen_raw_logprob, entropy_raw, entropy_final, n_kept, chosen_rank, settings,"
    " window_start) SELECT ?2, idx, token_id, text, t_ms, has_sample, chosen_prob,"
    " chosen_raw_logprob, entropy_raw, entropy_final, n_kept, chosen_rank, settings,"
    " window_start FROM tokens WHERE turn_id = ?1 AND idx < ?3 ORDER BY idx",
    "INSERT INTO candidates (token_row, rank, token_id, text, logit, raw_prob, prob, kept)"
    " SELECT nt.id, c.rank, c.token_id, c.text, c.logit, c.raw_prob, c.prob, c.kept"
    " FROM candidates c JOIN tokens ot ON c.token_row = ot.id"
    " JOIN tokens nt ON nt.turn_id = ?2 AND nt.idx = ot.idx"
    " WHERE ot.turn_id = ?1 AND ot.idx < ?3",
    /* the text is the tokens' bytes in order: the old text's first bytes */
    "UPDATE turns SET text = CAST(substr((SELECT text FROM turns WHERE id = ?1), 1,"
    " (SELECT CAST(total(length(text)) AS INTEGER) FROM tokens WHERE turn_id = ?1 AND idx < ?3))"
    " AS BLOB) WHERE id = ?2",
};

int64_t store_fork(store_t *s, int64_t turn, int n_shared, const char *settings_json, int *branch,
                   char *err, size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    if (n_shared < 0) {
        snprintf(err, errlen, "%s: a fork shares %d tokens?", s->path, n_shared);
        return -1;
    }
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "storing a fork");
    int rc = -1;
    int64_t id = -1, session = 0, n_have = 0, top = 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT session_id, role FROM turns WHERE id = ?1", -1, &q,
                           NULL) != SQLITE_OK) {
        store_fail(s, err, errlen, "storing a fork");
        goto done;
    }
    sqlite3_bind_int64(q, 1, turn);
    if (sqlite3_step(q) != SQLITE_ROW) {
        snprintf(err, errlen, "%s: no turn %lld to fork from", s->path, (long long)turn);
        goto done;
    }
    session = sqlite3_column_int64(q, 0);
    if (strcmp((const char *)sqlite3_column_text(q, 1), "model") != 0) {
        snprintf(err, errlen, "%s: turn %lld is a prompt; only a reply forks", s->path,
                 (long long)turn);
        goto done;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (store_int_query(s, "SELECT count(*) FROM tokens WHERE turn_id = ?1 AND idx < ?2", turn,
                        n_shared, 0, &n_have, err, errlen) != 0 ||
        store_int_query(s, "SELECT MAX(branch) FROM turns WHERE session_id = ?1", session, 0, 0,
                        &top, err, errlen) != 0)
        goto done;
    if (n_have != n_shared) {
        snprintf(err, errlen, "%s: turn %lld has %lld of the %d tokens before the fork stored",
                 s->path, (long long)turn, (long long)n_have, n_shared);
        goto done;
    }
    char now[32];
    store_now(now);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO turns (session_id, idx, role, text, created, settings,"
                           " branch, parent_id, pos, fork_of, fork_at) SELECT session_id,"
                           " (SELECT MAX(idx) + 1 FROM turns WHERE session_id = ?2), 'model', x'',"
                           " ?3, ?4, ?5, parent_id, pos, id, ?6 FROM turns WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK) {
        store_fail(s, err, errlen, "storing a fork");
        goto done;
    }
    sqlite3_bind_int64(q, 1, turn);
    sqlite3_bind_int64(q, 2, session);
    sqlite3_bind_text(q, 3, now, -1, SQLITE_TRANSIENT);
    if (settings_json) sqlite3_bind_text(q, 4, settings_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, top + 1);
    sqlite3_bind_int(q, 6, n_shared);
    if (sqlite3_step(q) != SQLITE_DONE) {
        store_fail(s, err, errlen, "storing a fork");
        goto done;
    }
    id = sqlite3_last_insert_rowid(s->db);
    for (size_t k = 0; k < sizeof store_fork_sql / sizeof *store_fork_sql; k++) {
        sqlite3_finalize(q);
        q = NULL;
        if (sqlite3_prepare_v2(s->db, store_fork_sql[k], -1, &q, NULL) != SQLITE_OK) {
            store_fail(s, err, errlen, "storing a fork");
            goto done;
        }
        sqlite3_bind_int64(q, 1, turn);
        sqlite3_bind_int64(q, 2, id);
        sqlite3_bind_int(q, 3, n_shared);
        if (sqlite3_step(q) != SQLITE_DONE) {
            store_fail(s, err, errlen, "storing a fork");
            goto done;
        }
    }
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(s->db, "UPDATE sessions SET branch = ?2, updated = ?3 WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK) {
        store_fail(s, err, errlen, "storing a fork");
        goto done;
    }
    sqlite3_bind_int64(q, 1, session);
    sqlite3_bind_int64(q, 2, top + 1);
    sqlite3_bind_text(q, 3, now, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE) {
        store_fail(s, err, errlen, "storing a fork");
        goto done;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        store_fail(s, err, errlen, "storing a fork");
        goto done;
    }
    rc = 0;
    if (branch) *branch = (int)(top + 1);
done:
    sqlite3_finalize(q);
    if (rc != 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc == 0 ? id : -1;
}

/* Fills b (b->branch set) from the store; the caller holds a read transaction. */
static int store_branch_fill(store_t *s, int64_t session, store_branch_t *b, char *err,
                             size_t errlen) {
    int rc = -1;
    sqlite3_stmt *q = NULL;
    b->parent = -1;
    b->token_id = b->other_id = b->rank = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, COALESCE(pos, idx), fork_of, COALESCE(fork_at, 0), created,"
                           " (SELECT branch FROM turns p WHERE p.id = t.fork_of) FROM turns t"
                           " WHERE session_id = ?1 AND branch = ?2 ORDER BY idx LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(q, 1, session);
    sqlite3_bind_int(q, 2, b->branch);
    if (sqlite3_step(q) == SQLITE_ROW) {
        b->first_turn = sqlite3_column_int64(q, 0);
        b->fork_pos = sqlite3_column_int(q, 1);
        b->fork_of = sqlite3_column_int64(q, 2);
        b->fork_at = sqlite3_column_int(q, 3);
        store_col_copy(q, 4, b->created, sizeof b->created);
        if (b->fork_of > 0 && sqlite3_column_type(q, 5) != SQLITE_NULL)
            b->parent = sqlite3_column_int(q, 5);
    }
    sqlite3_finalize(q);
    q = NULL;
    if (b->fork_of > 0) {
        /* the first token it chose, and what its parent has there */
        if (sqlite3_prepare_v2(s->db,
                               "SELECT token_id, text, chosen_rank FROM tokens WHERE turn_id = ?1"
                               " AND idx = ?2",
                               -1, &q, NULL) != SQLITE_OK)
            goto fail;
        for (int which = 0; which < 2; which++) {
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, which == 0 ? b->first_turn : b->fork_of);
            sqlite3_bind_int(q, 2, b->fork_at);
            if (sqlite3_step(q) != SQLITE_ROW) continue;
            if (which == 0) {
                b->token_id = sqlite3_column_int(q, 0);
                store_col_copy_bytes(q, 1, b->token_text, sizeof b->token_text, &b->token_len);
                b->rank = sqlite3_column_int(q, 2);
            } else {
                b->other_id = sqlite3_column_int(q, 0);
                store_col_copy_bytes(q, 1, b->other_text, sizeof b->other_text, &b->other_len);
            }
        }
        sqlite3_finalize(q);
        q = NULL;
    }
    /* the path's sizes, its generated tokens' log-probability, and how many
       tokens come before the fork */
    if (sqlite3_prepare_v2(s->db,
                           STORE_PATH_CTE
                           "SELECT (SELECT count(*) FROM path),"
                           " count(k.id), COALESCE(SUM(k.has_sample), 0),"
                           " total(CASE WHEN k.has_sample THEN k.chosen_raw_logprob END),"
                           " COALESCE(SUM(COALESCE(t.pos, t.idx) < ?3), 0)"
                           " FROM tokens k JOIN turns t ON t.id = k.turn_id WHERE t.id IN path",
                           -1, &q, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(q, 1, session);
    sqlite3_bind_int(q, 2, b->branch);
    sqlite3_bind_int(q, 3, b->fork_pos);
    if (sqlite3_step(q) != SQLITE_ROW) goto fail;
    b->n_turns = sqlite3_column_int(q, 0);
    b->n_tokens = sqlite3_column_int(q, 1);
    b->n_sampled = sqlite3_column_int(q, 2);
    b->sum_logprob = sqlite3_column_double(q, 3);
    b->fork_index = b->fork_of > 0 ? sqlite3_column_int(q, 4) + b->fork_at : -1;
    rc = 0;
fail:
    if (rc != 0) store_fail(s, err, errlen, "reading branches");
    sqlite3_finalize(q);
    return rc;
}

/* Before schema 4 a session is one line, branch 0: its record from the
 * session itself. */
static int store_branch_line(store_t *s, int64_t session, store_branch_t *b, char *err,
                             size_t errlen) {
    store_session_data_t d;
    if (store_session_load(s, session, &d, err, errlen) != 0) return -1;
    memset(b, 0, sizeof *b);
    b->parent = b->fork_index = b->token_id = b->other_id = b->rank = -1;
    b->n_turns = d.n_turns;
    for (int i = 0; i < d.n_turns; i++) {
        b->n_tokens += d.turns[i].n_tokens;
        for (int j = 0; j < d.turns[i].n_tokens; j++)
            if (d.turns[i].tokens[j].has_sample) {
                b->n_sampled++;
                b->sum_logprob += d.turns[i].tokens[j].chosen_raw_logprob;
            }
    }
    store_session_data_free(&d);
    return 0;
}

int store_branches(store_t *s, int64_t session, store_branch_t **out, int *n, char *err,
                   size_t errlen) {
    *out = NULL;
    *n = 0;
    int cur, nb;
    if (store_branch_info(s, session, &cur, &nb, err, errlen) != 0) return -1;
    store_branch_t *v = calloc((size_t)nb, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "%s: out of memory reading branches", s->path);
        return -1;
    }
    if (s->version < 4) {
        if (store_branch_line(s, session, &v[0], err, errlen) != 0) {
            free(v);
            return -1;
        }
        *out = v;
        *n = 1;
        return 0;
    }
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        free(v);
        return store_fail(s, err, errlen, "reading branches");
    }
    int rc = 0, k = 0;
    for (int b = 0; rc == 0 && b < nb; b++) {
        v[k].branch = b;
        rc = store_branch_fill(s, session, &v[k], err, errlen);
        /* a number no turn has (a damaged file) is not a branch; 0 always is */
        if (rc == 0 && (v[k].first_turn > 0 || b == 0)) k++;
    }
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != 0) {
        free(v);
        return -1;
    }
    *out = v;
    *n = k;
    return 0;
}

int store_branch_turns(store_t *s, int64_t session, int branch, store_turn_data_t **turns,
                       int *n, char *err, size_t errlen) {
    *turns = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    const char *sql = s->version >= 4
                          ? "SELECT " STORE_TURN_COLS ", COALESCE(pos, idx) FROM turns"
                            " WHERE session_id = ?1 AND branch = ?2 ORDER BY idx"
                          : "SELECT " STORE_TURN_COLS ", idx FROM turns"
                            " WHERE session_id = ?1 AND ?2 = 0 ORDER BY idx";
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "reading a branch");
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        store_fail(s, err, errlen, "reading a branch");
    } else {
        sqlite3_bind_int64(q, 1, session);
        sqlite3_bind_int(q, 2, branch);
        rc = store_read_turns(s, q, turns, n, err, errlen);
    }
    sqlite3_finalize(q);
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != 0) {
        store_turns_free(*turns, *n);
        *turns = NULL;
        *n = 0;
    }
    return rc;
}

int store_session_load_all(store_t *s, int64_t id, int branch, store_session_data_t *out,
                           char *err, size_t errlen) {
    if (store_session_load_branch(s, id, branch, out, err, errlen) != 0) return -1;
    store_branch_t *v = NULL;
    int n = 0;
    if (store_branches(s, id, &v, &n, err, errlen) != 0) goto fail;
    out->all = calloc((size_t)(n > 0 ? n : 1), sizeof *out->all);
    if (!out->all) {
        snprintf(err, errlen, "%s: out of memory reading branches", s->path);
        goto fail;
    }
    out->n_all = n;
    for (int b = 0; b < n; b++) {
        out->all[b].info = v[b];
        if (store_branch_turns(s, id, v[b].branch, &out->all[b].turns, &out->all[b].n_turns, err,
                               errlen) != 0)
            goto fail;
    }
    free(v);
    return 0;
fail:
    free(v);
    store_session_data_free(out);
    return -1;
}
