/* rng.c - placeholder until implemented */
