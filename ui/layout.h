/* layout.h - where each pane of the terminal UI goes, as pure arithmetic on
 * the terminal size, the focused pane and the zoom state. No curses here, so
 * the maths is tested on its own (tests/test_layout.c).
 *
 *   +-- transcript --------------+-- attention -----+
 *   |                            |                  |
 *   |                            +-- probabilities -+
 *   |                            |                  |
 *   +----------------------------+------------------+
 *   > input (1..LAYOUT_MAX_INPUT lines)
 *   status bar (1 line)
 *
 * Zoom gives the focused pane (transcript, attention or probabilities) the
 * whole area above the input; the others get empty rectangles. The branch
 * tree, when shown, takes the bottom of the transcript's rectangle (tui.c). */
#ifndef GPTSCOPE_UI_LAYOUT_H
#define GPTSCOPE_UI_LAYOUT_H

/* Below this the screen shows only a "terminal too small" message. */
#define LAYOUT_MIN_COLS 80
#define LAYOUT_MIN_ROWS 24
#define LAYOUT_MAX_INPUT 6 /* input lines shown at most (longer input scrolls) */

typedef enum {
    LAYOUT_FOCUS_INPUT = 0,
    LAYOUT_FOCUS_TRANSCRIPT,
    LAYOUT_FOCUS_TREE, /* the branch tree under the transcript, when shown (tui.c skips it
                          otherwise); it shares the transcript's rectangle and its zoom */
    LAYOUT_FOCUS_ATTN,
    LAYOUT_FOCUS_PROBS,
    LAYOUT_N_FOCUS
} layout_focus_t;

typedef struct layout_rect {
    int y, x, h, w; /* h == 0 or w == 0: not shown */
} layout_rect_t;

typedef struct layout {
    int ok;                     /* 0: terminal below the minimum; nothing else is set */
    int rows, cols;
    layout_rect_t transcript, attn, probs, input, status;
} layout_t;

/* input_lines: lines the input wants (clamped to 1..LAYOUT_MAX_INPUT).
 * zoom applies only when focus is a pane other than the input. */
void layout_compute(layout_t *l, int rows, int cols, layout_focus_t focus, int zoom,
                    int input_lines);
/* The next focus for Tab (dir 1) or Shift-Tab (dir -1). */
layout_focus_t layout_next_focus(layout_focus_t f, int dir);
/* 1 if (y, x) lies inside r. */
int layout_contains(const layout_rect_t *r, int y, int x);

#endif
