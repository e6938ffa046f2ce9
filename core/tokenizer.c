/* tokenizer.c - placeholder until implemented */
