extern int mf_placeholder_mdir_store; /* placeholder */
