extern int mf_placeholder_imap_store; /* placeholder */
