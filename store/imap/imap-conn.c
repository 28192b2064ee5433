extern int mf_placeholder_imap_conn; /* placeholder */
