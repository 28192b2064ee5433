extern int mf_placeholder_mdir_path; /* placeholder */
