/* branch_list.h - the branches of a forked session as the front ends list
 * them (the REPL's /branches, the TUI's tree pane, `gptscope sessions
 * tree`): one entry per branch, in tree order, and the one line each is
 * shown as. A branch is a line of the conversation from its first turn to
 * its newest; branch 0 is the first, every other one was forked from a
 * token of another (its parent) and shares everything before that token. */
#ifndef GPTSCOPE_UI_BRANCH_LIST_H
#define GPTSCOPE_UI_BRANCH_LIST_H

#include <stddef.h>

typedef struct ui_branch {
    int id;            /* 0 = the first line of the session */
    int parent;        /* the branch it was forked from; -1 for branch 0 */
    int depth;         /* forks between it and branch 0 (tree indent) */
    int fork_index;    /* token index (as /probs numbers them) of its first own token; -1: 0 */
    int fork_turn;     /* turn number (as `sessions show` numbers them) it forked in; -1: 0 */
    int fork_rank;     /* the chosen token's rank in that distribution, 1 = the top */
    char first[48];    /* its first own token, escaped ("" for branch 0) */
    char other[48];    /* the token the parent has there, escaped */
    int n_turns, n_tokens; /* on the branch, first turn to newest */
    int n_sampled;     /* generated tokens on it */
    double sum_logprob; /* their raw log-probabilities (nats): how likely the model found it */
    int current;       /* 1: the branch on screen */
} ui_branch_t;

/* Sorts v[0..n) into tree order (each branch after its parent, siblings by
 * id) and sets depth. Entries whose parent is missing are kept as roots. */
void branch_list_order(ui_branch_t *v, int n);
/* One line: "* 2  <- 1 at token 37 (turn 3): ' Romeo' for ' the' (rank 4)
 * 58 tokens, logp -123.45" with the tree indent; returns out. */
char *branch_list_line(const ui_branch_t *b, char *out, size_t cap);

#endif
