/* pane_transcript.c - the conversation, token by token (pane_transcript.h).
 *
 * The chat's tokens are decoded into glyphs (text.h: whole characters, each
 * knowing the tokens that made it) and word-wrapped incrementally: a
 * streamed token costs one decode and one wrap step, and a redraw touches
 * only the lines on screen, so streaming stays as fast as generation. */
#include "pane_transcript.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct pane_transcript {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
    /* decoded and wrapped tokens [0, built) of chat at epoch */
    const chat_t *chat;
    int epoch;
    int built, built_turn;
    text_glyphs_t gs;
    text_decoder_t dec;
    text_wrap_t wrap;
    int n_lines;
    int top;    /* first line shown */
    int follow; /* 1: the view sticks to the end */
    int last_sel; /* v->sel at the last sync: dropping the selection follows again */
};

pane_transcript_t *pane_transcript_create(pane_view_t *v) {
    pane_transcript_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->v = v;
    p->follow = 1;
    p->epoch = -1;
    return p;
}

void pane_transcript_free(pane_transcript_t *p) {
    if (!p) return;
    if (p->win) delwin(p->win);
    text_glyphs_free(&p->gs);
    free(p);
}

WINDOW *pane_transcript_window(pane_transcript_t *p) { return p->win; }

void pane_transcript_resize(pane_transcript_t *p, layout_rect_t r) {
    p->r = r;
    pane_window(&p->win, r);
}

static int pt_inner_w(const pane_transcript_t *p) { return p->r.w > 2 ? p->r.w - 2 : 1; }
static int pt_inner_h(const pane_transcript_t *p) { return p->r.h > 2 ? p->r.h - 2 : 0; }

static void pt_show_selection(pane_transcript_t *p);

/* Brings glyphs and wrap up to date with the chat's shown tokens. */
static void pt_sync(pane_transcript_t *p) {
    const pane_view_t *v = p->v;
    const chat_t *c = v->chat;
    int n = v->n_visible;
    if (c != p->chat || v->epoch != p->epoch || n < p->built) {
        p->chat = c;
        p->epoch = v->epoch;
        p->built = 0;
        p->built_turn = -1;
        text_glyphs_clear(&p->gs);
        text_decoder_init(&p->dec);
        text_wrap_init(&p->wrap, pt_inner_w(p));
        p->top = 0;
    }
    for (int i = p->built; i < n; i++) {
        const chat_token_t *t = chat_token(c, i);
        if (t->turn != p->built_turn) {
            /* no line break of our own between turns: the transcript shows
             * exactly the text the model reads (the separator setting puts a
             * newline there by default, as a token of the prompt's turn) */
            text_decode_flush(&p->dec, &p->gs);
            p->built_turn = t->turn;
        }
        size_t len;
        const char *b = chat_token_bytes(c, i, &len);
        text_decode_push(&p->dec, &p->gs, i, b ? b : "", b ? len : 0);
    }
    p->built = n;
    if (p->dec.n_pending > 0 && p->built_turn >= 0) {
        const chat_turn_t *tu = chat_turn(c, p->built_turn);
        if (tu && (tu->role == CHAT_USER || tu->stop != CHAT_STOP_NONE))
            text_decode_flush(&p->dec, &p->gs);
    }
    if (p->wrap.width != pt_inner_w(p)) {
        text_wrap_init(&p->wrap, pt_inner_w(p));
    }
    p->n_lines = text_wrap(&p->wrap, &p->gs);
    int h = pt_inner_h(p);
    if (p->last_sel >= 0 && v->sel < 0) p->follow = 1;
    /* a selection made elsewhere (/probs N, a branch switch) comes into
     * view, once the pane has rows (it has none while another is zoomed) */
    int moved = h > 0 && v->sel >= 0 && v->sel != p->last_sel;
    if (h > 0) p->last_sel = v->sel;
    if (p->follow && v->sel < 0) p->top = p->n_lines > h ? p->n_lines - h : 0;
    if (p->top > p->n_lines - 1) p->top = p->n_lines > 0 ? p->n_lines - 1 : 0;
    if (p->top < 0) p->top = 0;
    if (moved) pt_show_selection(p);
}

/* First glyph showing token tok, or -1. */
static int pt_glyph_of(const pane_transcript_t *p, int tok) {
    /* glyphs are in token order: binary search on tok_last, skipping decorations */
    int lo = 0, hi = p->gs.n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, m = mid;
        while (m < hi && p->gs.g[m].tok_first < 0) m++;
        if (m == hi) {
            hi = mid;
            continue;
        }
        if (p->gs.g[m].tok_last < tok) lo = m + 1;
        else hi = mid;
    }
    while (lo < p->gs.n && p->gs.g[lo].tok_first < 0) lo++;
    if (lo < p->gs.n && p->gs.g[lo].tok_first <= tok && p->gs.g[lo].tok_last >= tok) return lo;
    /* a token whose bytes completed no character yet: show the next one */
    return lo < p->gs.n ? lo : p->gs.n - 1;
}

static void pt_show_selection(pane_transcript_t *p) {
    int h = pt_inner_h(p);
    if (p->v->sel < 0) {
        p->follow = 1;
        p->top = p->n_lines > h ? p->n_lines - h : 0;
        return;
    }
    int gi = pt_glyph_of(p, p->v->sel);
    if (gi < 0) return;
    int line = p->gs.g[gi].line;
    if (line < p->top) p->top = line;
    if (line >= p->top + h) p->top = line - h + 1;
    p->follow = 0;
}

/* Tint level of a token: by the raw probability of the sampled id. */
static int pt_tint_level(const chat_token_t *t) {
    double pr = exp((double)t->report.chosen_raw_logprob);
    return pr < 0.05 ? 0 : pr < 0.2 ? 1 : pr < 0.5 ? 2 : pr < 0.8 ? 3 : 4;
}

/* The selected token's attention, for the tint: keys start..start+n-1. */
typedef struct pt_attn {
    int ok, start, n, pos;
    float wmax;
} pt_attn_t;

static void pt_attn(pane_transcript_t *p, int pos, pt_attn_t *at) {
    pane_view_t *v = p->v;
    memset(at, 0, sizeof *at);
    if (v->tint != PANE_TINT_ATTN || !v->opts->attn_available || !v->attn || pos < 0) return;
    pane_view_clamp(v);
    int rc = attn_cache_row(v->attn, v->chat, v->epoch, pos, pane_view_may_compute(v), v->opts->n_threads);
    /* while streaming, the newest row may not be there yet: keep the last one */
    if (rc < 0 || (rc > 0 && attn_cache_row_pos(v->attn, v->chat, v->epoch) < 0)) return;
    at->ok = 1;
    at->start = attn_cache_row_start(v->attn);
    at->n = attn_cache_row_keys(v->attn);
    at->pos = at->start + at->n - 1;
    for (int k = 0; k < at->n; k++) {
        float w = attn_cache_weight(v->attn, v->layer, v->head, k);
        if (w > at->wmax) at->wmax = w;
    }
}

/* Attribute of a glyph made of tokens first..last under the attention tint:
 * shaded by the heaviest of them; dim when the selected token did not read
 * any of them (before its window, or after it). */
static attr_t pt_attn_attr(const pane_view_t *v, const pt_attn_t *at, int first, int last) {
    if (last < at->start || first > at->pos) return pane_attr(v, PANE_PAIR_DIM, A_DIM);
    float w = 0;
    for (int tok = first > at->start ? first : at->start; tok <= last && tok <= at->pos; tok++) {
        float x = attn_cache_weight(v->attn, v->layer, v->head, tok - at->start);
        if (x > w) w = x;
    }
    float f = shade_fraction(w, at->wmax, v->scale == SHADE_SCALE_LOG ? SHADE_SCALE_LOG : SHADE_SCALE_LINEAR);
    if (v->color && v->shade != SHADE_MONO) {
        /* rounded, not ceiled as in the pane: the many near-zero keys stay unshaded */
        int l = (int)(f * (float)(SHADE_N_COLORS - 1) + 0.5f);
        return l > 0 ? (attr_t)COLOR_PAIR(PANE_PAIR_INK0 + l) : 0;
    }
    int l = (int)(f * (float)(SHADE_N_BLOCKS - 1) + 0.5f);
    return l >= 4 ? A_BOLD | A_UNDERLINE : l == 3 ? A_BOLD : l == 2 ? A_UNDERLINE : 0;
}

void pane_transcript_draw(pane_transcript_t *p) {
    if (!p->win) return;
    pane_view_t *v = p->v;
    pt_sync(p);
    char title[128];
    int pos = pane_view_pos(v);
    const char *tint = v->tint == PANE_TINT_ATTN      ? " \xc2\xb7 attention tint"
                       : v->tint == PANE_TINT_PROB    ? " \xc2\xb7 probability tint"
                       : v->tint == PANE_TINT_COMPARE ? " \xc2\xb7 compare tint"
                                                      : "";
    if (v->sel >= 0)
        snprintf(title, sizeof title, "Transcript \xc2\xb7 token %d of %d%s", pos, v->n_visible, tint);
    else
        snprintf(title, sizeof title, "Transcript%s%s", v->generating ? " \xc2\xb7 generating" : "", tint);
    if (text_width(title, strlen(title)) > p->r.w - 6) {
        /* a narrow pane: the short form, so the tint is still named */
        tint = v->tint == PANE_TINT_ATTN      ? " \xc2\xb7 attn"
               : v->tint == PANE_TINT_PROB    ? " \xc2\xb7 prob"
               : v->tint == PANE_TINT_COMPARE ? " \xc2\xb7 cmp"
                                              : "";
        if (v->sel >= 0) snprintf(title, sizeof title, "Transcript \xc2\xb7 %d/%d%s", pos, v->n_visible, tint);
        else snprintf(title, sizeof title, "Transcript%s%s", v->generating ? " \xc2\xb7 gen" : "", tint);
    }
    pane_frame(v, p->win, title, v->focus == LAYOUT_FOCUS_TRANSCRIPT);
    int h = pt_inner_h(p), w = pt_inner_w(p);
    const chat_t *c = v->chat;
    if (p->gs.n == 0) {
        wattron(p->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
        pane_put(p->win, 1, 1, "Type a prompt below and press Enter. F1: help.", w);
        wattroff(p->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
        return;
    }
    pt_attn_t at;
    pt_attn(p, pos, &at);
    for (int gi = text_first_on_line(&p->gs, p->top); gi < p->gs.n; gi++) {
        const text_glyph_t *g = &p->gs.g[gi];
        int row = g->line - p->top;
        if (row >= h) break;
        if (g->col + g->width > w) continue;
        attr_t a = 0;
        if (g->tok_first < 0) {
            a = pane_attr(v, PANE_PAIR_DIM, A_DIM);
        } else {
            const chat_token_t *t = chat_token(c, g->tok_last);
            const chat_turn_t *tu = chat_turn(c, t->turn);
            if (t->window_start > g->tok_last) {
                /* never read by the model (a prompt longer than the context
                 * keeps its last n_ctx - 1 tokens): shown dim, as it was */
                a = pane_attr(v, PANE_PAIR_DIM, A_DIM);
            } else if (v->tint == PANE_TINT_COMPARE) {
                /* green: this model gave the token the higher probability,
                 * red: the other one did (mono: bold, underlined) */
                int k = pane_view_compare(v, g->tok_last, NULL);
                a = k > 0   ? pane_attr(v, PANE_PAIR_TINT0 + PANE_N_TINT - 1, A_BOLD)
                    : k < 0 ? pane_attr(v, PANE_PAIR_TINT0, A_UNDERLINE)
                            : 0;
                if (v->color && tu && tu->role == CHAT_USER) a |= A_BOLD;
            } else if (at.ok) {
                a = pt_attn_attr(v, &at, g->tok_first, g->tok_last);
                if (tu && tu->role == CHAT_USER) a |= A_BOLD;
            } else if (tu && tu->role == CHAT_USER) {
                a = pane_attr(v, PANE_PAIR_USER, A_BOLD);
            } else if (v->tint == PANE_TINT_PROB && t->has_report) {
                int l = pt_tint_level(t);
                a = v->color ? (attr_t)COLOR_PAIR(PANE_PAIR_TINT0 + l)
                             : l == 0 ? A_UNDERLINE : l == 1 ? A_DIM : 0;
            }
            if (pos >= g->tok_first && pos <= g->tok_last && (v->sel >= 0 || !v->generating))
                a |= A_REVERSE;
        }
        wattron(p->win, a);
        mvwaddnstr(p->win, 1 + row, 1 + g->col, g->bytes, g->n_bytes);
        wattroff(p->win, a);
    }
    /* scroll position when not at the end */
    if (p->top + h < p->n_lines) {
        char more[32];
        snprintf(more, sizeof more, " %d more \xe2\x86\x93 ", p->n_lines - p->top - h);
        pane_put(p->win, p->r.h - 1, p->r.w - 2 - text_width(more, strlen(more)), more, 20);
    }
}

static int pt_move_line(pane_transcript_t *p, int dir) {
    pane_view_t *v = p->v;
    int cur = pane_view_pos(v);
    if (cur < 0) return 0;
    int gi = pt_glyph_of(p, cur);
    if (gi < 0) return 0;
    int line = p->gs.g[gi].line, col = p->gs.g[gi].col;
    for (int target = line + dir; target >= 0 && target < p->n_lines && abs(target - line) <= 4;
         target += dir) {
        int best = -1;
        for (int k = text_first_on_line(&p->gs, target); k < p->gs.n && p->gs.g[k].line == target;
             k++) {
            if (p->gs.g[k].tok_first < 0) continue;
            if (best < 0 || p->gs.g[k].col <= col) best = k;
        }
        if (best >= 0) {
            v->sel = p->gs.g[best].tok_first;
            return 1;
        }
    }
    return 0;
}

int pane_transcript_scroll(pane_transcript_t *p, int lines) {
    pt_sync(p);
    int h = pt_inner_h(p), old = p->top;
    int max_top = p->n_lines > h ? p->n_lines - h : 0;
    p->top += lines;
    if (p->top < 0) p->top = 0;
    if (p->top >= max_top) {
        p->top = max_top;
        p->follow = 1;
    } else {
        p->follow = 0;
    }
    return p->top != old ? PANE_REDRAW : 0;
}

int pane_transcript_handle_key(pane_transcript_t *p, int key) {
    pane_view_t *v = p->v;
    pt_sync(p);
    int last = v->n_visible - 1, h = pt_inner_h(p);
    if (last < 0) return 0;
    int cur = pane_view_pos(v);
    switch (key) {
    case KEY_LEFT:
    case 'h': v->sel = cur > 0 ? cur - 1 : 0; break;
    case KEY_RIGHT:
    case 'l': v->sel = cur < last ? cur + 1 : last; break;
    case KEY_UP:
    case 'k':
        if (v->sel < 0) v->sel = cur;
        pt_move_line(p, -1);
        break;
    case KEY_DOWN:
    case 'j':
        if (v->sel < 0) v->sel = cur;
        pt_move_line(p, 1);
        break;
    case KEY_HOME:
    case 'g': v->sel = 0; break;
    case KEY_END:
    case 'G': v->sel = last; break;
    case 'f':
    case 27: v->sel = -1; break;
    case KEY_PPAGE: return PANE_CONSUMED | pane_transcript_scroll(p, -(h > 1 ? h - 1 : 1));
    case KEY_NPAGE: return PANE_CONSUMED | pane_transcript_scroll(p, h > 1 ? h - 1 : 1);
    default: return 0;
    }
    pt_show_selection(p);
    return PANE_CONSUMED | PANE_REDRAW;
}

int pane_transcript_hit(pane_transcript_t *p, int y, int x) {
    if (!layout_contains(&p->r, y, x)) return -1;
    pt_sync(p);
    int line = p->top + (y - p->r.y - 1), col = x - p->r.x - 1;
    for (int k = text_first_on_line(&p->gs, line); k < p->gs.n && p->gs.g[k].line == line; k++) {
        const text_glyph_t *g = &p->gs.g[k];
        if (g->tok_first >= 0 && col >= g->col && col < g->col + g->width) return g->tok_first;
    }
    return -1;
}
