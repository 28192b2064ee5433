extern int mf_placeholder_imap_utf7; /* placeholder */
