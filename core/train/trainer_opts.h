/* trainer_opts.h - the one table of what each training option may be.
 *
 * The command line (app/cmd_train.c) and a resumed train_state.json
 * (trainer_read_state) are checked against the same ranges: a state file
 * edited by hand (or damaged) cannot ask for what no flag could, such as
 * "dropout": 2 or "batch": 10000000. */
#ifndef GPTSCOPE_TRAINER_OPTS_H
#define GPTSCOPE_TRAINER_OPTS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "trainer.h"

typedef enum { TRO_INT, TRO_I64, TRO_FLOAT } trainer_opt_type_t;

typedef struct trainer_opt_range {
    const char *key;        /* train_state.json "options" key */
    const char *flag;       /* command-line flag, "" where there is none */
    trainer_opt_type_t type;
    size_t offset;          /* of the field in trainer_opts_t */
    double lo, hi;
    int lo_open, hi_open;   /* 1: that end is excluded */
    double unset;           /* a value outside the range that means "the default"
                               (seq 0: the context; min_lr -1: lr / 10), or NAN */
} trainer_opt_range_t;

/* The entry for key (JSON key or flag without "--"), or NULL. */
const trainer_opt_range_t *trainer_opt_find(const char *key);

/* Stores v (already range-checked) into the field r describes. */
void trainer_opt_store(const trainer_opt_range_t *r, trainer_opts_t *o, double v);

/* Whether v is allowed; writes "must be ..." into why when it is not. */
int trainer_opt_ok(const trainer_opt_range_t *r, double v, char *why, size_t whylen);

/* Reads every numeric option present in the JSON object j into o, checking
 * each against its range. Returns 0, or -1 with "NAME: \"key\" ..." in err. */
int trainer_opts_read_json(trainer_opts_t *o, const cJSON *j, const char *name, char *err,
                           size_t errlen);

#endif
