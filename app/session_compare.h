/* session_compare.h - /compare DIR in chat and repl: the conversation's
 * tokens scored by the session's model and by another one that shares its
 * tokenizer (the ui_host_t.compare callback; `gptscope compare` does the
 * same for a text from the command line). */
#ifndef GPTSCOPE_APP_SESSION_COMPARE_H
#define GPTSCOPE_APP_SESSION_COMPARE_H

#include <stddef.h>

/* ui_host_t.compare for an app_session_t (user): see host.h. */
int app_session_compare(void *user, const char *dir, double **lp_self, double **lp_other, int *n,
                        char *label, size_t labellen, char *msg, size_t msglen);

#endif
