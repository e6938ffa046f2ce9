/* kernels.c - placeholder until implemented */
