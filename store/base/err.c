#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
mf_err_clear(struct mf_err *err)
{
	if (err == NULL)
		return;
	err->cls = MF_OK;
	err->sys_errno = 0;
	err->unreached = false;
	err->msg[0] = '\0';
}

int
mf_err_setv(struct mf_err *err, enum mf_err_class cls, const char *fmt,
	    va_list ap)
{
	if (err == NULL)
		return -1;
	err->cls = cls;
	err->sys_errno = 0;
	err->unreached = false;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int
mf_err_set(struct mf_err *err, enum mf_err_class cls, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mf_err_setv(err, cls, fmt, ap);
	va_end(ap);
	return -1;
}

int
mf_err_sys(struct mf_err *err, enum mf_err_class cls, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t len;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	mf_err_setv(err, cls, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
		 strerror(saved));
	err->sys_errno = saved;
	errno = saved;
	return -1;
}

int
mf_err_prefix(struct mf_err *err, const char *fmt, ...)
{
	char out[MF_ERR_MSG_MAX];
	size_t len, rest;
	va_list ap;
	int n;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(out, sizeof(out), fmt, ap);
	va_end(ap);
	len = n < 0 ? 0 : (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1;
	/* "<prefix>: <old message>", truncated to the buffer */
	if (len + 2 < sizeof(out)) {
		out[len++] = ':';
		out[len++] = ' ';
		rest = strnlen(err->msg, sizeof(err->msg));
		if (rest > sizeof(out) - 1 - len)
			rest = sizeof(out) - 1 - len;
		memcpy(out + len, err->msg, rest);
		len += rest;
	}
	out[len] = '\0';
	memcpy(err->msg, out, len + 1);
	return -1;
}

int
mf_err_copy(struct mf_err *dst, const struct mf_err *src)
{
	if (dst != NULL && dst != src)
		*dst = *src;
	return -1;
}

const char *
mf_err_class_name(enum mf_err_class cls)
{
	switch (cls) {
	case MF_OK:
		return "ok";
	case MF_E_MSG:
		return "message";
	case MF_E_BOX:
		return "mailbox";
	case MF_E_STORE:
		return "store";
	case MF_E_AUTH:
		return "authentication";
	case MF_E_NET:
		return "network";
	case MF_E_CANCELED:
		return "canceled";
	case MF_E_CONFIG:
		return "config";
	case MF_E_STATE:
		return "state";
	case MF_E_LOCKED:
		return "locked";
	case MF_E_USAGE:
		return "usage";
	case MF_E_INTERNAL:
		return "internal";
	}
	return "unknown";
}

int
mf_err_is_store_level(enum mf_err_class cls)
{
	return cls == MF_E_STORE || cls == MF_E_AUTH || cls == MF_E_NET ||
	       cls == MF_E_CANCELED || cls == MF_E_STATE ||
	       cls == MF_E_INTERNAL;
}
