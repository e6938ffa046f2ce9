/* compare_view.h - the result of /compare DIR shown as text: per token its
 * probability under the session's model (A) and the other (B), the
 * log-ratio ln(pA/pB), the conversation tinted by which model preferred
 * each token, and each model's sum of log-probabilities. The REPL prints
 * it; the TUI uses the tint and the sums. */
#ifndef GPTSCOPE_UI_COMPARE_VIEW_H
#define GPTSCOPE_UI_COMPARE_VIEW_H

#include <stdio.h>

#include "chat.h"
#include "command.h"

/* Which model preferred a token, from its log-ratio ln(pA/pB): +1 for A
 * (above 0.1 nats), -1 for B (below -0.1), 0 when they agree that closely
 * or the token was not scored (NaN). The REPL's tint and the TUI's. */
int compare_view_tint(double log_ratio);

/* Prints res (COMMAND_COMPARE) for chat c to out; color: ANSI tints. */
void compare_view_print(FILE *out, const chat_t *c, const command_result_t *res, int color);

#endif
