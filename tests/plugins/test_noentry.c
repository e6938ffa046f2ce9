/* test_noentry.c - a shared object that is not a gptscope plugin (no entry
 * symbol). */
int test_noentry_answer(void);
int test_noentry_answer(void) { return 42; }
