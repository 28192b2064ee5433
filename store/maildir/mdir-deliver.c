extern int mf_placeholder_mdir_deliver; /* placeholder */
