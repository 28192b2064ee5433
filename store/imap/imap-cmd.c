extern int mf_placeholder_imap_cmd; /* placeholder */
