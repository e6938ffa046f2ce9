/* branch_list.c - ordering and one-line descriptions of a session's
 * branches (branch_list.h). */
#include "branch_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int branch_cmp_id(const void *a, const void *b) {
    const ui_branch_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int branch_find(const ui_branch_t *v, int n, int id) {
    for (int i = 0; i < n; i++)
        if (v[i].id == id) return i;
    return -1;
}

/* Depth-first from every root: children in id order. out gets the order;
 * seen guards against a parent loop in a damaged store. */
static void branch_visit(const ui_branch_t *v, int n, int at, int depth, ui_branch_t *out,
                         int *n_out, char *seen) {
    if (seen[at]) return;
    seen[at] = 1;
    out[*n_out] = v[at];
    out[(*n_out)++].depth = depth;
    for (int i = 0; i < n; i++)
        if (v[i].parent == v[at].id && i != at) branch_visit(v, n, i, depth + 1, out, n_out, seen);
}

void branch_list_order(ui_branch_t *v, int n) {
    if (n <= 1) {
        if (n == 1) v[0].depth = 0;
        return;
    }
    qsort(v, (size_t)n, sizeof *v, branch_cmp_id);
    ui_branch_t *out = malloc((size_t)n * sizeof *out);
    char *seen = calloc((size_t)n, 1);
    if (!out || !seen) {
        free(out);
        free(seen);
        return; /* id order, depth as it was: still a usable list */
    }
    int n_out = 0;
    for (int i = 0; i < n; i++)
        if (v[i].parent < 0 || branch_find(v, n, v[i].parent) < 0)
            branch_visit(v, n, i, 0, out, &n_out, seen);
    for (int i = 0; i < n; i++) /* a loop with no root: listed flat */
        if (!seen[i]) branch_visit(v, n, i, 0, out, &n_out, seen);
    memcpy(v, out, (size_t)n * sizeof *v);
    free(out);
    free(seen);
}

char *branch_list_line(const ui_branch_t *b, char *out, size_t cap) {
    char indent[64];
    int d = b->depth < 20 ? b->depth : 20;
    size_t o = 0;
    for (int i = 0; i < d && o + 3 < sizeof indent; i++) o += (size_t)snprintf(indent + o, sizeof indent - o, "  ");
    indent[o] = '\0';
    char where[200];
    if (b->parent < 0)
        snprintf(where, sizeof where, "the first line");
    else
        snprintf(where, sizeof where, "<- %d at token %d (turn %d): '%s' for '%s' (rank %d)",
                 b->parent, b->fork_index, b->fork_turn, b->first, b->other, b->fork_rank);
    snprintf(out, cap, "%c %s%-3d %s; %d turns, %d tokens, logp %.2f over %d generated",
             b->current ? '*' : ' ', indent, b->id, where, b->n_turns, b->n_tokens,
             b->sum_logprob, b->n_sampled);
    return out;
}
