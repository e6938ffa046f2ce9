/* beam.c - placeholder until implemented */
