/* bpe_gpt1.c - placeholder until implemented */
