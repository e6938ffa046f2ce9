/* sampler.c - placeholder until implemented */
