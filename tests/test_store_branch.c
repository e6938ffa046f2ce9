/* test_store_branch.c - sessions as trees (app/store_branch.c, schema 4):
 * a fork copies the shared tokens with their candidates and text, new turns
 * go to the end of the current branch, each branch reads back as its line
 * of turns, the branch records say where each forked and how likely it
 * was; and a database written by the release before branching (schema 3,
 * tests/fixtures/sessions-v3.db, made by gptscope 1eaa5de's repl) is read
 * as it is read-only and migrated in place by a writer, keeping every turn. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"
#include "tap_sqlite.h"

/* A model token with three candidates; its text is word. */
static int add_token(store_t *s, int64_t turn, int idx, int id, const char *word, float lp) {
    char err[256];
    store_cand_t cand[3];
    memset(cand, 0, sizeof cand);
    for (int k = 0; k < 3; k++) {
        cand[k].id = id + k;
        snprintf(cand[k].text, sizeof cand[k].text, "%s%d", word, k);
        cand[k].text_len = (int)strlen(cand[k].text);
        cand[k].prob = 0.5f / (float)(k + 1);
        cand[k].raw_prob = cand[k].prob;
        cand[k].kept = 1;
    }
    store_token_t t;
    memset(&t, 0, sizeof t);
    t.idx = idx;
    t.id = id;
    t.text = word;
    t.text_len = strlen(word);
    t.has_sample = 1;
    t.chosen_prob = 0.5f;
    t.chosen_raw_logprob = lp;
    t.window_start = 0;
    t.n_cand = 3;
    t.cand = cand;
    return store_token_add(s, turn, &t, err, sizeof err);
}

static int add_prompt(store_t *s, int64_t turn, const char *text) {
    char err[256];
    store_token_t t;
    memset(&t, 0, sizeof t);
    t.id = 7;
    t.text = text;
    t.text_len = strlen(text);
    t.window_start = 0;
    return store_tokens_add(s, turn, &t, 1, err, sizeof err);
}

static int texts_are(const store_session_data_t *d, const char *const *want, int n) {
    if (d->n_turns != n) return 0;
    for (int i = 0; i < n; i++)
        if (d->turns[i].idx != i || strlen(want[i]) != d->turns[i].text_len ||
            memcmp(d->turns[i].text, want[i], d->turns[i].text_len) != 0)
            return 0;
    return 1;
}

static void test_tree(tap_t *t, const char *dir) {
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/tree.db", dir);
    store_t *s = store_open(path, 0, err, sizeof err);
    if (!tap_ok(t, s != NULL, "open (%s)", s ? "" : err)) return;
    int64_t sid = store_session_new(s, "m", "c", NULL, err, sizeof err);
    int64_t u0 = store_turn_begin(s, sid, "user", "", NULL, err, sizeof err);
    int rc = add_prompt(s, u0, "Q:");
    int64_t m1 = store_turn_begin(s, sid, "model", "", NULL, err, sizeof err);
    const char *w[] = {" a", " b", " c", " d"};
    for (int k = 0; k < 4; k++) rc |= add_token(s, m1, k, 10 * (k + 1), w[k], -1.0f);
    int64_t u2 = store_turn_begin(s, sid, "user", "", NULL, err, sizeof err);
    rc |= add_prompt(s, u2, "R:");
    int64_t m3 = store_turn_begin(s, sid, "model", "", NULL, err, sizeof err);
    rc |= add_token(s, m3, 0, 50, " e", -2.0f);
    tap_ok(t, rc == 0 && m3 > 0, "a line of four turns");
    tap_ok(t, tap_sql_scalar(path, "SELECT count(*) FROM turns WHERE parent_id IS NULL") == 1 &&
                  tap_sql_scalar(path, "SELECT pos FROM turns ORDER BY idx DESC LIMIT 1") == 3,
           "each turn's parent is the one before; positions count 0..3");

    int branch = -1;
    tap_ok(t, store_fork(s, u0, 0, NULL, &branch, err, sizeof err) == -1 && strstr(err, "prompt"),
           "a prompt does not fork (%s)", err);
    tap_ok(t, store_fork(s, m1, 9, NULL, &branch, err, sizeof err) == -1 && strstr(err, "9"),
           "a fork cannot share tokens that are not stored (%s)", err);
    int64_t f = store_fork(s, m1, 2, "{\"x\":1}", &branch, err, sizeof err);
    tap_ok(t, f > 0 && branch == 1, "fork reply 1 after 2 tokens: branch 1 (%s)", f > 0 ? "" : err);
    tap_ok(t, tap_sql_scalar(path, "SELECT count(*) FROM tokens WHERE turn_id = (SELECT max(id) FROM turns)") == 2 &&
                  tap_sql_scalar(path, "SELECT count(*) FROM candidates c JOIN tokens k ON c.token_row = k.id"
                               " WHERE k.turn_id = (SELECT max(id) FROM turns)") == 6 &&
                  tap_sql_scalar(path, "SELECT branch FROM sessions") == 1,
           "the shared tokens are copied with their candidates; the session is on branch 1");
    rc = add_token(s, f, 2, 99, " X", -3.0f);
    int64_t u5 = store_turn_begin(s, sid, "user", "", NULL, err, sizeof err);
    rc |= add_prompt(s, u5, "S:");
    tap_ok(t, rc == 0 && tap_sql_scalar(path, "SELECT parent_id FROM turns ORDER BY idx DESC LIMIT 1") == f &&
                  tap_sql_scalar(path, "SELECT pos FROM turns ORDER BY idx DESC LIMIT 1") == 2,
           "a new turn continues branch 1: its parent is the forked reply, position 2");

    store_session_data_t d;
    const char *b1[] = {"Q:", " a b X", "S:"}, *b0[] = {"Q:", " a b c d", "R:", " e"};
    rc = store_session_load(s, sid, &d, err, sizeof err);
    tap_ok(t, rc == 0 && d.branch == 1 && d.n_branches == 2 && texts_are(&d, b1, 3),
           "the session loads on branch 1: its line, the forked reply's text cut at the fork");
    if (rc == 0) store_session_data_free(&d);
    rc = store_session_load_branch(s, sid, 0, &d, err, sizeof err);
    tap_ok(t, rc == 0 && d.branch == 0 && texts_are(&d, b0, 4) && d.turns[1].n_tokens == 4 &&
                  d.turns[1].tokens[3].n_cand == 3,
           "branch 0 is still whole, tokens and candidates");
    if (rc == 0) store_session_data_free(&d);
    tap_ok(t, store_session_load_branch(s, sid, 2, &d, err, sizeof err) == -1 &&
                  strstr(err, "no branch 2"),
           "an unknown branch is refused (%s)", err);

    store_branch_t *v = NULL;
    int n = 0;
    rc = store_branches(s, sid, &v, &n, err, sizeof err);
    tap_ok(t, rc == 0 && n == 2 && v[0].parent == -1 && v[0].n_turns == 4 && v[0].n_tokens == 7 &&
                  v[0].n_sampled == 5 && v[0].sum_logprob == -6.0,
           "branch 0's record: 4 turns, 7 tokens, 5 generated, logp -6");
    tap_ok(t, rc == 0 && n == 2 && v[1].parent == 0 && v[1].fork_of == m1 && v[1].fork_at == 2 &&
                  v[1].fork_pos == 1 && v[1].fork_index == 3 && v[1].token_id == 99 &&
                  strcmp(v[1].token_text, " X") == 0 && v[1].other_id == 30 &&
                  strcmp(v[1].other_text, " c") == 0 && v[1].n_turns == 3 && v[1].n_tokens == 5 &&
                  v[1].n_sampled == 3 && v[1].sum_logprob == -5.0,
           "branch 1's record: forked from 0 at token 3 (turn 1), ' X' for ' c', 3 generated, logp -5");
    free(v);
    store_turn_data_t *own = NULL;
    int n_own = 0;
    rc = store_branch_turns(s, sid, 1, &own, &n_own, err, sizeof err);
    tap_ok(t, rc == 0 && n_own == 2 && own[0].id == f && own[0].idx == 1 && own[1].idx == 2,
           "branch 1's own turns: the forked reply and the prompt after it");
    store_turns_free(own, n_own);

    tap_ok(t, store_session_set_branch(s, sid, 5, err, sizeof err) == -1 && strstr(err, "no branch"),
           "switching to a branch that does not exist is refused (%s)", err);
    rc = store_session_set_branch(s, sid, 0, err, sizeof err);
    int64_t u7 = store_turn_begin(s, sid, "user", "", NULL, err, sizeof err);
    tap_ok(t, rc == 0 && u7 > 0 && tap_sql_scalar(path, "SELECT parent_id FROM turns ORDER BY idx DESC LIMIT 1") == m3 &&
                  tap_sql_scalar(path, "SELECT branch FROM turns ORDER BY idx DESC LIMIT 1") == 0,
           "back on branch 0, a new turn follows its last reply");
    /* a fork of a fork: from branch 1's reply, inside the part it shares */
    int b2 = -1;
    int64_t f2 = store_fork(s, f, 1, NULL, &b2, err, sizeof err);
    rc = f2 > 0 ? add_token(s, f2, 1, 77, " Y", -0.5f) : -1;
    v = NULL;
    rc |= store_branches(s, sid, &v, &n, err, sizeof err);
    tap_ok(t, rc == 0 && b2 == 2 && n == 3 && v[2].parent == 1 && v[2].fork_index == 2 &&
                  strcmp(v[2].other_text, " b") == 0 && v[2].n_tokens == 3,
           "a fork of branch 1 at its token 2 is branch 2, child of 1");
    free(v);
    tap_ok(t, store_session_delete(s, sid, err, sizeof err) == 0 &&
                  tap_sql_scalar(path, "SELECT count(*) FROM turns") == 0 &&
                  tap_sql_scalar(path, "SELECT count(*) FROM candidates") == 0,
           "deleting the session removes every branch");
    store_close(s);
}

static void test_migration(tap_t *t, const char *dir) {
    char src[4096], path[4200], err[512], cmd[8600];
    TAP_SRC(src, "tests/fixtures/sessions-v3.db");
    snprintf(path, sizeof path, "%s/v3.db", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, path);
    if (!tap_ok(t, system(cmd) == 0 && tap_sql_scalar(path, "PRAGMA user_version") == 3,
                "a schema-3 database written by the release before branching"))
        return;
    store_t *r = store_open(path, 1, err, sizeof err);
    store_session_data_t d3;
    int rc = r ? store_session_load(r, 1, &d3, err, sizeof err) : -1;
    store_branch_t *v = NULL;
    int n = 0;
    if (rc == 0) rc = store_branches(r, 1, &v, &n, err, sizeof err);
    tap_ok(t, rc == 0 && d3.n_turns == 4 && d3.n_branches == 1 && n == 1 && v[0].n_turns == 4 &&
                  v[0].n_tokens == 37 && tap_sql_scalar(path, "PRAGMA user_version") == 3,
           "read-only, it is read as it is: one branch of 4 turns, 37 tokens (%s)", rc ? err : "");
    free(v);
    store_close(r);
    store_t *s = store_open(path, 0, err, sizeof err);
    tap_ok(t, s && tap_sql_scalar(path, "PRAGMA user_version") == 4 &&
                  tap_sql_scalar(path, "SELECT count(*) FROM turns WHERE pos = idx") == 6 &&
                  tap_sql_scalar(path, "SELECT count(*) FROM turns WHERE parent_id IS NULL") == 2,
           "a writer migrates it in place: positions and parents from the old order (%s)",
           s ? "" : err);
    store_session_data_t d4;
    rc = s ? store_session_load(s, 1, &d4, err, sizeof err) : -1;
    int same = rc == 0 && d4.n_turns == d3.n_turns;
    for (int i = 0; same && i < d4.n_turns; i++)
        same = d4.turns[i].idx == d3.turns[i].idx && d4.turns[i].n_tokens == d3.turns[i].n_tokens &&
               d4.turns[i].text_len == d3.turns[i].text_len &&
               memcmp(d4.turns[i].text, d3.turns[i].text, d3.turns[i].text_len) == 0 &&
               d4.turns[i].tokens[d4.turns[i].n_tokens - 1].n_cand ==
                   d3.turns[i].tokens[d3.turns[i].n_tokens - 1].n_cand;
    tap_ok(t, same, "after the migration every turn reads back as before");
    /* and it forks like a new one */
    int b = -1;
    int64_t f = same ? store_fork(s, d4.turns[1].id, 5, NULL, &b, err, sizeof err) : -1;
    tap_ok(t, f > 0 && b == 1 && add_token(s, f, 5, 42, "!", -1.0f) == 0,
           "a migrated session forks (%s)", f > 0 ? "" : err);
    if (rc == 0) store_session_data_free(&d4);
    if (d3.n_turns) store_session_data_free(&d3);
    store_close(s);
}

int main(void) {
    tap_t t = {0, 0};
    char dir[] = "/tmp/test_store_branch.XXXXXX";
    if (!mkdtemp(dir)) {
        printf("1..0 # SKIP no temporary directory\n");
        return 0;
    }
    test_tree(&t, dir);
    test_migration(&t, dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    return tap_done(&t);
}
