extern int mf_placeholder_mdir_name; /* placeholder */
