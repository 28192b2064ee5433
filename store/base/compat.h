/* Compiler attributes shared by every layer. */
#ifndef MF_COMPAT_H
#define MF_COMPAT_H

#if defined(__GNUC__) || defined(__clang__)
#define MF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define MF_NORETURN __attribute__((noreturn))
#define MF_WARN_UNUSED __attribute__((warn_unused_result))
#define MF_UNUSED __attribute__((unused))
#else
#define MF_PRINTF(fmt, args)
#define MF_NORETURN
#define MF_WARN_UNUSED
#define MF_UNUSED
#endif

#define MF_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#endif
