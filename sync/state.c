extern int mf_placeholder_state; /* placeholder */
