/* store_read.c - reading sessions back from the store (store.h): the list,
 * one session's turns with every token and candidate, search. Reads take one
 * read transaction, so a writer adding tokens meanwhile is never seen half
 * way. */
#include "store.h"
#include "store_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading --------------------------------------------------------------- */

/* A NUL-terminated copy of a column; *len (when not NULL) gets its bytes,
 * which may include NULs. */
char *store_col_dup_len(sqlite3_stmt *q, int col, size_t *len) {
    if (sqlite3_column_type(q, col) == SQLITE_NULL) return NULL;
    const void *b = sqlite3_column_blob(q, col);
    int n = sqlite3_column_bytes(q, col);
    char *out = malloc((size_t)n + 1);
    if (!out) return NULL;
    if (n > 0) memcpy(out, b, (size_t)n);
    out[n] = '\0';
    if (len) *len = (size_t)n;
    return out;
}

char *store_col_dup(sqlite3_stmt *q, int col) { return store_col_dup_len(q, col, NULL); }

void store_col_copy(sqlite3_stmt *q, int col, char *out, size_t cap) {
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

void store_col_copy_bytes(sqlite3_stmt *q, int col, char *out, size_t cap, int *len) {
    int n = sqlite3_column_bytes(q, col);
    if (n > (int)cap - 1) n = (int)cap - 1;
    if (n > 0) memcpy(out, sqlite3_column_blob(q, col), (size_t)n);
    out[n > 0 ? n : 0] = '\0';
    *len = n > 0 ? n : 0;
}

#define STORE_INFO_SQL                                                                       \
    "SELECT s.id, s.created, s.updated, s.model_path, s.model_checksum, s.settings, s.title," \
    " (SELECT count(*) FROM turns t WHERE t.session_id = s.id),"                              \
    " (SELECT count(*) FROM tokens k JOIN turns t ON k.turn_id = t.id"                        \
    "   WHERE t.session_id = s.id AND t.role = 'model') FROM sessions s "

static void store_read_info(sqlite3_stmt *q, store_session_info_t *i) {
    memset(i, 0, sizeof *i);
    i->id = sqlite3_column_int64(q, 0);
    store_col_copy(q, 1, i->created, sizeof i->created);
    store_col_copy(q, 2, i->updated, sizeof i->updated);
    i->model_path = store_col_dup(q, 3);
    i->model_checksum = store_col_dup(q, 4);
    i->settings_json = store_col_dup(q, 5);
    i->title = store_col_dup(q, 6);
    i->n_turns = sqlite3_column_int(q, 7);
    i->n_tokens = sqlite3_column_int(q, 8);
}

static void store_info_free(store_session_info_t *i) {
    free(i->model_path);
    free(i->model_checksum);
    free(i->settings_json);
    free(i->title);
}

void store_session_infos_free(store_session_info_t *v, int n) {
    for (int i = 0; v && i < n; i++) store_info_free(&v[i]);
    free(v);
}

int store_session_list(store_t *s, store_session_info_t **out, int *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, STORE_INFO_SQL "ORDER BY s.updated DESC, s.id DESC", -1, &q,
                           NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "listing sessions");
    int cap = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            store_session_info_t *v = realloc(*out, (size_t)cap * sizeof *v);
            if (!v) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = v;
        }
        store_read_info(q, &(*out)[(*n)++]);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        store_session_infos_free(*out, *n);
        *out = NULL;
        *n = 0;
        return store_fail(s, err, errlen, "listing sessions");
    }
    return 0;
}

void store_token_free(store_token_t *t) {
    free((char *)t->text);
    free((char *)t->settings_json);
    free((store_cand_t *)t->cand);
}

void store_session_data_free(store_session_data_t *d) {
    if (!d) return;
    store_info_free(&d->info);
    store_turns_free(d->turns, d->n_turns);
    for (int b = 0; d->all && b < d->n_all; b++) store_turns_free(d->all[b].turns, d->all[b].n_turns);
    free(d->all);
    memset(d, 0, sizeof *d);
}

/* Tokens of one turn with their candidates. */
#define STORE_TOKENS_SQL(window_col)                                                          \
    "SELECT id, idx, token_id, text, t_ms, has_sample, chosen_prob, chosen_raw_logprob, "       \
    "entropy_raw, entropy_final, n_kept, chosen_rank, settings, " window_col                    \
    " FROM tokens WHERE turn_id = ?1 ORDER BY idx"

/* The hypotheses of turn t (qh: rank order). A stored ids text that is not
 * a list of integers is an error, not a shorter reply. 0, or -1 with err. */
int store_load_hyps(store_t *s, store_turn_data_t *t, sqlite3_stmt *qh, char *err,
                           size_t errlen) {
    sqlite3_reset(qh);
    sqlite3_bind_int64(qh, 1, t->id);
    int rc;
    while ((rc = sqlite3_step(qh)) == SQLITE_ROW) {
        store_hyp_t *v = realloc(t->hyps, ((size_t)t->n_hyps + 1) * sizeof *v);
        if (!v) goto nomem;
        t->hyps = v;
        store_hyp_t *h = &t->hyps[t->n_hyps++];
        memset(h, 0, sizeof *h);
        h->score = sqlite3_column_double(qh, 0);
        h->sum_logprob = sqlite3_column_double(qh, 1);
        const char *text = (const char *)sqlite3_column_text(qh, 2);
        size_t len = text ? strlen(text) : 0;
        h->ids = malloc((len / 2 + 1) * sizeof *h->ids); /* at most one id per 2 bytes */
        if (!h->ids) goto nomem;
        const char *p = text ? text : "";
        while (*p) {
            char *end;
            errno = 0;
            long id = strtol(p, &end, 10);
            if (end == p || errno || id < 0 || id > 0x7fffffff || (*end && *end != ' ')) {
                snprintf(err, errlen, "%s: turn %lld: beam hypothesis %d: bad ids text", s->path,
                         (long long)t->id, t->n_hyps);
                return -1;
            }
            h->ids[h->n++] = (int)id;
            p = *end ? end + 1 : end;
        }
    }
    if (rc == SQLITE_DONE) return 0;
    store_fail(s, err, errlen, "reading beam hypotheses");
    return -1;
nomem:
    snprintf(err, errlen, "%s: out of memory reading beam hypotheses", s->path);
    return -1;
}

int store_load_tokens(store_t *s, store_turn_data_t *t, sqlite3_stmt *qt, sqlite3_stmt *qc) {
    sqlite3_reset(qt);
    sqlite3_bind_int64(qt, 1, t->id);
    int cap = 0, rc;
    while ((rc = sqlite3_step(qt)) == SQLITE_ROW) {
        if (t->n_tokens == cap) {
            cap = cap ? 2 * cap : 64;
            store_token_t *v = realloc(t->tokens, (size_t)cap * sizeof *v);
            if (!v) return -1;
            t->tokens = v;
        }
        store_token_t *k = &t->tokens[t->n_tokens++];
        memset(k, 0, sizeof *k);
        int64_t row = sqlite3_column_int64(qt, 0);
        k->idx = sqlite3_column_int(qt, 1);
        k->id = sqlite3_column_int(qt, 2);
        k->text = store_col_dup_len(qt, 3, &k->text_len);
        k->t_ms = sqlite3_column_double(qt, 4);
        k->has_sample = sqlite3_column_int(qt, 5);
        k->chosen_prob = (float)sqlite3_column_double(qt, 6);
        k->chosen_raw_logprob = (float)sqlite3_column_double(qt, 7);
        k->entropy_raw = (float)sqlite3_column_double(qt, 8);
        k->entropy_final = (float)sqlite3_column_double(qt, 9);
        k->n_kept = sqlite3_column_int(qt, 10);
        k->chosen_rank = sqlite3_column_int(qt, 11);
        k->settings_json = store_col_dup(qt, 12);
        k->window_start =
            sqlite3_column_type(qt, 13) == SQLITE_NULL ? -1 : sqlite3_column_int(qt, 13);
        if (!k->text) return -1;
        if (!k->has_sample) continue;
        sqlite3_reset(qc);
        sqlite3_bind_int64(qc, 1, row);
        store_cand_t *cand = NULL;
        int nc = 0, ccap = 0;
        while (sqlite3_step(qc) == SQLITE_ROW) {
            if (nc == ccap) {
                ccap = ccap ? 2 * ccap : 16;
                store_cand_t *v = realloc(cand, (size_t)ccap * sizeof *v);
                if (!v) {
                    free(cand);
                    return -1;
                }
                cand = v;
            }
            store_cand_t *c = &cand[nc++];
            memset(c, 0, sizeof *c);
            c->id = sqlite3_column_int(qc, 0);
            store_col_copy_bytes(qc, 1, c->text, sizeof c->text, &c->text_len);
            c->logit = (float)sqlite3_column_double(qc, 2);
            c->raw_prob = (float)sqlite3_column_double(qc, 3);
            c->prob = (float)sqlite3_column_double(qc, 4);
            c->kept = sqlite3_column_int(qc, 5);
        }
        k->cand = cand;
        k->n_cand = nc;
    }
    (void)s;
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The statements store_read_turns needs besides the turns' own. */
typedef struct store_turn_reader {
    sqlite3_stmt *qt, *qc, *qh;
} store_turn_reader_t;

static int store_reader_open(store_t *s, store_turn_reader_t *r) {
    memset(r, 0, sizeof *r);
    if (sqlite3_prepare_v2(s->db,
                           s->version >= 2 ? STORE_TOKENS_SQL("window_start")
                                           : STORE_TOKENS_SQL("NULL"), /* before schema 2 */
                           -1, &r->qt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT token_id, text, logit, raw_prob, prob, kept FROM candidates "
                           "WHERE token_row = ?1 ORDER BY rank",
                           -1, &r->qc, NULL) != SQLITE_OK ||
        (s->version >= 3 && /* before schema 3 there were none */
         sqlite3_prepare_v2(s->db,
                            "SELECT score, sum_logprob, ids FROM beam_hyps WHERE turn_id = ?1 "
                            "ORDER BY rank",
                            -1, &r->qh, NULL) != SQLITE_OK))
        return -1;
    return 0;
}

static void store_reader_close(store_turn_reader_t *r) {
    sqlite3_finalize(r->qt);
    sqlite3_finalize(r->qc);
    sqlite3_finalize(r->qh);
}

void store_turns_free(store_turn_data_t *turns, int n) {
    for (int i = 0; turns && i < n; i++) {
        store_turn_data_t *t = &turns[i];
        for (int k = 0; k < t->n_tokens; k++) store_token_free(&t->tokens[k]);
        free(t->tokens);
        for (int k = 0; k < t->n_hyps; k++) free(t->hyps[k].ids);
        free(t->hyps);
        free(t->text);
        free(t->settings_json);
        free(t->stop);
    }
    free(turns);
}

int store_read_turns(store_t *s, sqlite3_stmt *q, store_turn_data_t **turns, int *n, char *err,
                     size_t errlen) {
    store_turn_reader_t r;
    if (store_reader_open(s, &r) != 0) {
        store_reader_close(&r);
        return store_fail(s, err, errlen, "reading a session");
    }
    int cap = *n, step, hyps_failed = 0;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            store_turn_data_t *v = realloc(*turns, (size_t)cap * sizeof *v);
            if (!v) break;
            *turns = v;
        }
        store_turn_data_t *t = &(*turns)[(*n)++];
        memset(t, 0, sizeof *t);
        t->id = sqlite3_column_int64(q, 0);
        /* its position on its branch, as `sessions show` numbers turns */
        t->idx = sqlite3_column_int(q, 8);
        store_col_copy(q, 2, t->role, sizeof t->role);
        store_col_copy(q, 3, t->created, sizeof t->created);
        t->text = store_col_dup_len(q, 4, &t->text_len);
        t->settings_json = store_col_dup(q, 5);
        t->stop = store_col_dup(q, 6);
        t->elapsed_ms = sqlite3_column_double(q, 7);
        if (!t->text || store_load_tokens(s, t, r.qt, r.qc) != 0) {
            step = SQLITE_NOMEM;
            break;
        }
        if (r.qh && store_load_hyps(s, t, r.qh, err, errlen) != 0) {
            hyps_failed = 1; /* err says why */
            break;
        }
    }
    store_reader_close(&r);
    if (step == SQLITE_DONE) return 0;
    if (hyps_failed) return -1;
    if (step == SQLITE_NOMEM || step == SQLITE_ROW)
        snprintf(err, errlen, "%s: out of memory reading a session", s->path);
    else
        store_fail(s, err, errlen, "reading a session");
    return -1;
}

/* The turns of a branch, first to newest (STORE_PATH_CTE, store_internal.h).
 * Before schema 4 a session is one line. */
static const char store_path_sql[] =
    STORE_PATH_CTE "SELECT " STORE_TURN_COLS ", COALESCE(pos, idx) FROM turns "
    "WHERE session_id = ?1 AND id IN path ORDER BY COALESCE(pos, idx), idx";
static const char store_linear_sql[] =
    "SELECT " STORE_TURN_COLS ", idx FROM turns WHERE session_id = ?1 ORDER BY idx";

int store_session_load_branch(store_t *s, int64_t id, int branch, store_session_data_t *out,
                              char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *qi = NULL, *qturn = NULL;
    int rc = -1;
    /* one read transaction: a writer adding tokens meanwhile is not seen half-way */
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "reading a session");
    if (sqlite3_prepare_v2(s->db, STORE_INFO_SQL "WHERE s.id = ?1", -1, &qi, NULL) != SQLITE_OK) {
        store_fail(s, err, errlen, "reading a session");
        goto done;
    }
    sqlite3_bind_int64(qi, 1, id);
    int step = sqlite3_step(qi);
    if (step != SQLITE_ROW) {
        if (step == SQLITE_DONE) snprintf(err, errlen, "%s: no session %lld", s->path, (long long)id);
        else store_fail(s, err, errlen, "reading a session");
        goto done;
    }
    store_read_info(qi, &out->info);
    int cur = 0;
    if (store_branch_info(s, id, &cur, &out->n_branches, err, errlen) != 0) goto done;
    if (branch < 0) branch = cur;
    out->branch = branch;
    if (branch >= out->n_branches) {
        snprintf(err, errlen, "%s: session %lld has no branch %d (it has %d: 0..%d)", s->path,
                 (long long)id, branch, out->n_branches, out->n_branches - 1);
        goto done;
    }
    if (sqlite3_prepare_v2(s->db, s->version >= 4 ? store_path_sql : store_linear_sql, -1, &qturn,
                           NULL) != SQLITE_OK) {
        store_fail(s, err, errlen, "reading a session");
        goto done;
    }
    sqlite3_bind_int64(qturn, 1, id);
    if (s->version >= 4) sqlite3_bind_int(qturn, 2, branch);
    if (store_read_turns(s, qturn, &out->turns, &out->n_turns, err, errlen) != 0) goto done;
    rc = 0;
done:
    sqlite3_finalize(qi);
    sqlite3_finalize(qturn);
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != 0) store_session_data_free(out);
    return rc;
}

int store_session_load(store_t *s, int64_t id, store_session_data_t *out, char *err,
                       size_t errlen) {
    return store_session_load_branch(s, id, -1, out, err, errlen);
}

int store_session_delete(store_t *s, int64_t id, char *err, size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM sessions WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "deleting a session");
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return store_fail(s, err, errlen, "deleting a session");
    if (sqlite3_changes(s->db) == 0) {
        snprintf(err, errlen, "%s: no session %lld", s->path, (long long)id);
        return -1;
    }
    return 0;
}

int store_token_set_window(store_t *s, int64_t turn, int idx, int window_start, char *err,
                           size_t errlen) {
    if (store_writable(s, err, errlen) != 0) return -1;
    sqlite3_stmt *q = store_stmt(s, ST_TOKEN_WINDOW);
    sqlite3_bind_int64(q, 1, turn);
    sqlite3_bind_int(q, 2, idx);
    sqlite3_bind_int(q, 3, window_start);
    return store_done(s, q, err, errlen, "storing a token's window");
}

int store_session_exists(store_t *s, int64_t id, char *err, size_t errlen) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sessions WHERE id = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return store_fail(s, err, errlen, "looking up a session");
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return store_fail(s, err, errlen, "looking up a session");
}

/* Up to ~60 bytes around the match, on one line, cut at character boundaries. */
static char *store_snippet(const char *text, size_t len, size_t at, size_t mlen) {
    size_t from = at > 30 ? at - 30 : 0, to = at + mlen + 30 < len ? at + mlen + 30 : len;
    while (from > 0 && ((unsigned char)text[from] & 0xC0) == 0x80) from--;
    while (to < len && ((unsigned char)text[to] & 0xC0) == 0x80) to++;
    char *out = malloc(to - from + 7);
    if (!out) return NULL;
    size_t o = 0;
    if (from > 0) o += (size_t)sprintf(out, "...");
    for (size_t i = from; i < to; i++) out[o++] = (text[i] == '\n' || text[i] == '\r' || text[i] == '\t') ? ' ' : text[i];
    if (to < len) o += (size_t)sprintf(out + o, "...");
    out[o] = '\0';
    return out;
}

void store_hits_free(store_hit_t *v, int n) {
    for (int i = 0; v && i < n; i++) free(v[i].snippet);
    free(v);
}

int store_search(store_t *s, const char *text, store_hit_t **out, int *n, char *err,
                 size_t errlen) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    /* instr over lower(): no LIKE wildcards to escape; lower() folds ASCII only */
    /* a turn is numbered by its position on its branch, as show prints it */
    if (sqlite3_prepare_v2(s->db,
                           s->version >= 4
                               ? "SELECT t.session_id, t.id, t.role, t.text, COALESCE(t.pos, t.idx),"
                                 " t.branch FROM turns t JOIN sessions s ON s.id = t.session_id "
                                 "WHERE instr(lower(CAST(t.text AS TEXT)), lower(?1)) > 0 "
                                 "ORDER BY s.updated DESC, s.id DESC, t.idx"
                               : "SELECT t.session_id, t.id, t.role, t.text, t.idx, 0 FROM turns t "
                                 "JOIN sessions s ON s.id = t.session_id "
                                 "WHERE instr(lower(CAST(t.text AS TEXT)), lower(?1)) > 0 "
                                 "ORDER BY s.updated DESC, s.id DESC, t.idx",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(s, err, errlen, "searching");
    sqlite3_bind_text(q, 1, text, -1, SQLITE_TRANSIENT);
    int cap = 0, rc;
    size_t mlen = strlen(text);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            store_hit_t *v = realloc(*out, (size_t)cap * sizeof *v);
            if (!v) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = v;
        }
        store_hit_t *h = &(*out)[(*n)++];
        memset(h, 0, sizeof *h);
        h->session = sqlite3_column_int64(q, 0);
        h->turn = sqlite3_column_int64(q, 1);
        store_col_copy(q, 2, h->role, sizeof h->role);
        h->turn_idx = sqlite3_column_int(q, 4);
        h->branch = sqlite3_column_int(q, 5);
        const char *body = sqlite3_column_blob(q, 3);
        size_t blen = (size_t)sqlite3_column_bytes(q, 3), at = 0;
        for (size_t i = 0; body && i + mlen <= blen; i++) {
            size_t k = 0;
            while (k < mlen && tolower((unsigned char)body[i + k]) == tolower((unsigned char)text[k])) k++;
            if (k == mlen) {
                at = i;
                break;
            }
        }
        h->snippet = store_snippet(body ? body : "", blen, at, mlen);
        if (!h->snippet) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        store_hits_free(*out, *n);
        *out = NULL;
        *n = 0;
        return store_fail(s, err, errlen, "searching");
    }
    return 0;
}
