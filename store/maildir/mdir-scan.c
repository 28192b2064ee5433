extern int mf_placeholder_mdir_scan; /* placeholder */
