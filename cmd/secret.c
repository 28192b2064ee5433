extern int mf_placeholder_secret; /* placeholder */
