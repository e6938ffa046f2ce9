/* bpe_gpt2.c - placeholder until implemented */
