extern int mf_placeholder_imap_parser; /* placeholder */
