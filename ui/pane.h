/* pane.h - what every pane of the terminal UI shares: the view state the
 * screen manager (tui.c) owns and the panes draw from, the colour pairs, the
 * key-handler result flags, and the frame drawing. Each pane lives in its
 * own file with the same interface:
 *
 *   pane_X_t *pane_X_create(pane_view_t *v);
 *   void pane_X_resize(pane_X_t *p, layout_rect_t r);
 *   void pane_X_draw(pane_X_t *p);
 *   int  pane_X_handle_key(pane_X_t *p, int key);   // PANE_CONSUMED | PANE_REDRAW
 *   void pane_X_free(pane_X_t *p);
 *
 * Panes redraw from the chat (core/decode/chat.h) each time; they keep only caches
 * of what is costly to compute (wrapped lines, attention rows). */
#ifndef GPTSCOPE_UI_PANE_H
#define GPTSCOPE_UI_PANE_H

#include <curses.h>

#include "attn_cache.h"
#include "chat.h"
#include "host.h"
#include "layout.h"
#include "shade.h"
#include "tui.h"

/* PANE_ACTION: the key asks the screen manager to act on the pane's pick
 * (the tree pane's Enter: show the branch under its cursor). */
enum { PANE_CONSUMED = 1, PANE_REDRAW = 2, PANE_ACTION = 4 };

/* Colour pairs (initialised by tui.c when the terminal has colour). */
enum {
    PANE_PAIR_FOCUS = 1, /* frame of the focused pane */
    PANE_PAIR_USER,      /* user text in the transcript */
    PANE_PAIR_DIM,       /* decorations, notes */
    PANE_PAIR_STATUS,    /* status bar */
    PANE_PAIR_ERROR,     /* error message */
    PANE_PAIR_CHOSEN,    /* the chosen candidate */
    PANE_PAIR_BAR,       /* probability bars */
    PANE_PAIR_TINT0,     /* transcript tint, PANE_N_TINT levels: low .. high probability */
    PANE_PAIR_SHADE0 = PANE_PAIR_TINT0 + 5, /* heatmap, SHADE_N_COLORS background shades */
    PANE_PAIR_INK0 = PANE_PAIR_SHADE0 + SHADE_N_COLORS, /* text on those shades (transcript) */
    PANE_N_PAIRS = PANE_PAIR_INK0 + SHADE_N_COLORS
};
#define PANE_N_TINT 5

/* What the transcript's colours say: the selected token's attention over
 * the tokens it read (the default when attention is available), each
 * sampled token's probability, nothing, or after /compare which of two
 * models gave each token the higher probability. */
typedef enum { PANE_TINT_OFF = 0, PANE_TINT_ATTN, PANE_TINT_PROB, PANE_TINT_COMPARE } pane_tint_t;
/* The attention pane's view: the selected token's row (a list of keys), the
 * whole causal matrix of one layer and head, or every head of the layer for
 * the selected token at once (small multiples). */
typedef enum {
    PANE_ATTN_ROW = 0, PANE_ATTN_MATRIX, PANE_ATTN_HEADS, PANE_ATTN_GRID, PANE_ATTN_N_VIEWS
} pane_attn_view_t;

/* The state panes draw from; owned by the screen manager. */
typedef struct pane_view {
    const ui_host_t *host;
    const tui_options_t *opts;
    chat_t *chat;         /* host->chat() for this frame (it changes on /open, /model) */
    int epoch;            /* bumped when the transcript changed wholesale (caches drop) */
    int n_visible;        /* tokens shown: all, or fewer while a replay reveals them */
    int sel;              /* selected token, -1: follow the newest */
    int generating;       /* a reply is streaming */
    layout_focus_t focus;
    int layer, head;      /* attention shown; head -1 = mean of the heads */
    pane_attn_view_t attn_view;
    shade_pool_t pool;    /* matrix cells when the sequence is longer than the pane */
    shade_scale_t scale;  /* weights to shades: linear, per row, log */
    pane_tint_t tint;
    attn_cache_t *attn;   /* attention rows and matrices, shared by the panes */
    int color;            /* 1: colour pairs usable */
    shade_mode_t shade;   /* heatmap colours, or blocks (SHADE_MONO) */
    int plugin_pane;      /* a plugin's pane shown in the probabilities' place; -1: none */
    /* the last /compare (shown while tint is PANE_TINT_COMPARE): ln p of
     * token i under this model and under cmp_label's, NAN where not scored,
     * for tokens [0, cmp_n); owned by the screen manager */
    double *cmp_self, *cmp_other;
    int cmp_n;
    char cmp_label[128];
} pane_view_t;

/* The token the panes describe: the selection, else the newest shown; -1 when none. */
int pane_view_pos(const pane_view_t *v);
/* Puts layer and head in range for the chat's model (layer -1: the last). */
void pane_view_clamp(pane_view_t *v);
/* May the panes run a forward pass for attention now? Not for the newest
 * token while a reply streams (generation hands its row over instead). */
int pane_view_may_compute(const pane_view_t *v);
/* After /compare: -1, 0 or +1 for token i (the other model, neither, this
 * one gave it the clearly higher probability; compare_view_tint's rule),
 * 0 when not scored; *log_ratio (may be NULL) gets ln(pA / pB) or NAN. */
int pane_view_compare(const pane_view_t *v, int i, double *log_ratio);
/* The attribute of a colour pair, or mono_attr without colour. */
attr_t pane_attr(const pane_view_t *v, int pair, attr_t mono_attr);
/* Clears win and draws its frame with title (focused: bold, coloured). */
void pane_frame(const pane_view_t *v, WINDOW *win, const char *title, int focused);
/* Token id's text as the tables show it: escaped (text_escape), in quotes. */
void pane_token_label(const chat_t *c, int id, char *out, size_t cap);
/* Writes UTF-8 s at (y, x), cut to at most max_cols columns; returns columns used. */
int pane_put(WINDOW *win, int y, int x, const char *s, int max_cols);
/* Writes s from row y on, wrapped at spaces to max_cols columns, at most
 * max_rows rows; returns the rows used. */
int pane_put_wrapped(WINDOW *win, int y, int x, const char *s, int max_cols, int max_rows);
/* (Re)creates *win for r (NULL when r is empty). */
void pane_window(WINDOW **win, layout_rect_t r);

#endif
