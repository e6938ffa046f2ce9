/* generate.c - placeholder until implemented */
