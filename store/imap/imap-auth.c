extern int mf_placeholder_imap_auth; /* placeholder */
