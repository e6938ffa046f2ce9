/* test_layout.c - the pane rectangles of the terminal UI (ui/layout.h) at
 * 80x24, 200x60 and below the minimum, with focus, zoom and a growing input:
 * panes tile the screen without overlap or gaps, stay inside it, and leave
 * the probability table room for its columns. */
#include "layout.h"
#include "tap.h"

#include <string.h>

static int rect_inside(const layout_rect_t *r, int rows, int cols) {
    return r->h == 0 || (r->y >= 0 && r->x >= 0 && r->y + r->h <= rows && r->x + r->w <= cols);
}

/* Every cell covered exactly once by the shown rectangles. */
static int tiles(const layout_t *l) {
    static unsigned char cover[300][300];
    if (l->rows > 300 || l->cols > 300) return 0;
    for (int y = 0; y < l->rows; y++)
        for (int x = 0; x < l->cols; x++) cover[y][x] = 0;
    const layout_rect_t *rs[] = {&l->transcript, &l->attn, &l->probs, &l->input, &l->status};
    for (int i = 0; i < 5; i++)
        for (int y = rs[i]->y; y < rs[i]->y + rs[i]->h; y++)
            for (int x = rs[i]->x; x < rs[i]->x + rs[i]->w; x++) cover[y][x]++;
    for (int y = 0; y < l->rows; y++)
        for (int x = 0; x < l->cols; x++)
            if (cover[y][x] != 1) return 0;
    return 1;
}

static void check_normal(tap_t *t, int rows, int cols) {
    layout_t l;
    layout_compute(&l, rows, cols, LAYOUT_FOCUS_INPUT, 0, 1);
    tap_ok(t, l.ok, "%dx%d is usable", cols, rows);
    tap_ok(t, tiles(&l), "%dx%d: the panes tile the screen", cols, rows);
    const layout_rect_t *rs[] = {&l.transcript, &l.attn, &l.probs, &l.input, &l.status};
    int inside = 1;
    for (int i = 0; i < 5; i++) inside &= rect_inside(rs[i], rows, cols);
    tap_ok(t, inside, "%dx%d: every pane inside the screen", cols, rows);
    tap_ok(t, l.status.y == rows - 1 && l.status.h == 1 && l.status.w == cols,
           "%dx%d: status bar is the last line", cols, rows);
    tap_ok(t, l.input.y == rows - 2 && l.input.h == 1, "%dx%d: input above it", cols, rows);
    tap_ok(t, l.probs.w >= 40 && l.attn.w == l.probs.w, "%dx%d: side column >= 40 wide (%d)",
           cols, rows, l.probs.w);
    tap_ok(t, l.transcript.w >= cols / 2, "%dx%d: transcript gets at least half (%d)", cols, rows,
           l.transcript.w);
    tap_ok(t, l.attn.h >= l.probs.h && l.attn.h - l.probs.h <= 1 && l.attn.h >= 5,
           "%dx%d: attention over probabilities, split evenly (%d/%d)", cols, rows, l.attn.h,
           l.probs.h);
}

int main(void) {
    tap_t t = {0};
    check_normal(&t, 24, 80);
    check_normal(&t, 60, 200);
    check_normal(&t, 40, 120);
    layout_t l;
    /* exact numbers at 80x24: side 40, attention 12 of the 22 body rows */
    layout_compute(&l, 24, 80, LAYOUT_FOCUS_INPUT, 0, 1);
    tap_ok(&t, l.transcript.w == 40 && l.transcript.h == 22 && l.attn.x == 40 && l.attn.h == 11 &&
                   l.probs.y == 11 && l.probs.h == 11,
           "80x24 rectangles: transcript 40x22, attention 40x11 at x 40, probabilities below");
    layout_compute(&l, 60, 200, LAYOUT_FOCUS_INPUT, 0, 1);
    tap_ok(&t, l.attn.w == 80 && l.transcript.w == 120, "200x60: side 80, transcript 120");
    layout_compute(&l, 60, 400, LAYOUT_FOCUS_INPUT, 0, 1);
    tap_ok(&t, l.ok && l.attn.w == 100, "400 wide: side column capped at 100");

    /* below the minimum */
    layout_compute(&l, 23, 80, LAYOUT_FOCUS_INPUT, 0, 1);
    tap_ok(&t, !l.ok && l.transcript.h == 0 && l.input.h == 0, "80x23 is too small");
    layout_compute(&l, 24, 79, LAYOUT_FOCUS_INPUT, 0, 1);
    tap_ok(&t, !l.ok, "79x24 is too small");
    layout_compute(&l, 0, 0, LAYOUT_FOCUS_INPUT, 0, 1);
    tap_ok(&t, !l.ok, "0x0 is too small");

    /* a multi-line input takes rows from the panes, up to the maximum */
    layout_compute(&l, 24, 80, LAYOUT_FOCUS_INPUT, 0, 3);
    tap_ok(&t, l.input.h == 3 && l.input.y == 20 && l.transcript.h == 20 && tiles(&l),
           "three input lines: the body shrinks by two");
    layout_compute(&l, 24, 80, LAYOUT_FOCUS_INPUT, 0, 50);
    tap_ok(&t, l.input.h == LAYOUT_MAX_INPUT && tiles(&l), "input capped at %d lines",
           LAYOUT_MAX_INPUT);
    layout_compute(&l, 24, 80, LAYOUT_FOCUS_INPUT, 0, 0);
    tap_ok(&t, l.input.h == 1, "input at least one line");

    /* zoom: the focused pane gets the whole body, the others nothing */
    layout_compute(&l, 24, 80, LAYOUT_FOCUS_ATTN, 1, 1);
    tap_ok(&t, l.attn.w == 80 && l.attn.h == 22 && l.transcript.h == 0 && l.probs.h == 0 &&
                   tiles(&l),
           "zoomed attention fills the body");
    layout_compute(&l, 24, 80, LAYOUT_FOCUS_TRANSCRIPT, 1, 1);
    tap_ok(&t, l.transcript.w == 80 && l.attn.h == 0 && tiles(&l), "zoomed transcript");
    layout_compute(&l, 24, 80, LAYOUT_FOCUS_PROBS, 1, 2);
    tap_ok(&t, l.probs.h == 21 && l.attn.h == 0 && tiles(&l), "zoomed probabilities, 2-line input");
    layout_compute(&l, 24, 80, LAYOUT_FOCUS_INPUT, 1, 1);
    tap_ok(&t, l.transcript.w == 40 && l.attn.h == 11, "zoom with the input focused: normal layout");
    layout_t a, b;
    layout_compute(&a, 30, 100, LAYOUT_FOCUS_TRANSCRIPT, 0, 1);
    layout_compute(&b, 30, 100, LAYOUT_FOCUS_PROBS, 0, 1);
    tap_ok(&t, memcmp(&a, &b, sizeof a) == 0, "focus alone does not move panes");

    /* focus cycle */
    layout_focus_t f = LAYOUT_FOCUS_INPUT;
    int seen = 0;
    for (int i = 0; i < LAYOUT_N_FOCUS; i++) {
        seen |= 1 << f;
        f = layout_next_focus(f, 1);
    }
    tap_ok(&t, f == LAYOUT_FOCUS_INPUT && seen == (1 << LAYOUT_N_FOCUS) - 1,
           "Tab visits every pane and comes back");
    tap_ok(&t, layout_next_focus(LAYOUT_FOCUS_INPUT, -1) == LAYOUT_FOCUS_PROBS &&
                   layout_next_focus(LAYOUT_FOCUS_PROBS, 1) == LAYOUT_FOCUS_INPUT,
           "Shift-Tab goes backwards");
    layout_rect_t r = {2, 3, 4, 5};
    tap_ok(&t, layout_contains(&r, 2, 3) && layout_contains(&r, 5, 7) && !layout_contains(&r, 6, 3) &&
                   !layout_contains(&r, 2, 8) && !layout_contains(&r, 1, 3),
           "hit-testing a rectangle");
    return tap_done(&t);
}
