/*
 * Authentication mechanisms (see imap-auth.h).
 *
 * Choice, in order: with use_oauth, OAUTHBEARER then XOAUTH2; else
 * SCRAM-SHA-256 when offered and asked for by name in auth_mechs (a server
 * that stores hashed passwords cannot do it, and a failed attempt would
 * cost a second login), then AUTHENTICATE PLAIN when offered, then the
 * LOGIN command unless LOGINDISABLED.  Servers that advertise AUTH=PLAIN
 * only under TLS (FINDINGS.md) are fine: we authenticate after TLS.
 *
 * SCRAM: the password is used as is; SASLprep (RFC 4013) is not applied, so
 * a non-ASCII password may fail there while PLAIN works.
 */
#include "imap-auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "imap-cmd.h"
#include "imap-conn.h"

#define SCRAM_MAX_ITER 10000000u

static bool
mech_allowed(const struct imap_store_cfg *cfg, const char *mech)
{
	const char *p = cfg->auth_mechs;
	size_t n = strlen(mech);

	if (p == NULL)
		return true;
	while (*p != '\0') {
		size_t len;

		while (*p == ' ' || *p == ',')
			p++;
		len = strcspn(p, " ,");
		if (len == n && strncasecmp(p, mech, n) == 0)
			return true;
		p += len;
	}
	return false;
}

static bool
mech_named(const struct imap_store_cfg *cfg, const char *mech)
{
	return cfg->auth_mechs != NULL && mech_allowed(cfg, mech);
}

static void
b64_encode(struct mf_buf *b, const unsigned char *data, size_t len)
{
	size_t need = 4 * ((len + 2) / 3) + 1;
	unsigned char *out = xmalloc(need);
	int n = EVP_EncodeBlock(out, data, (int)len);

	if (mf_buf_append(b, out, (size_t)n, NULL) < 0)
		abort(); /* bounded by the secret size: our bug */
	explicit_bzero(out, need);
	free(out);
}

/* Decode base64; returns malloc'd bytes (NUL-terminated) or NULL. */
static unsigned char *
b64_decode(const char *s, size_t len, size_t *len_r)
{
	unsigned char *out;
	int n;
	size_t pad = 0;

	if (len % 4 != 0)
		return NULL;
	out = xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0) {
		free(out);
		return NULL;
	}
	if (len >= 1 && s[len - 1] == '=')
		pad++;
	if (len >= 2 && s[len - 2] == '=')
		pad++;
	*len_r = (size_t)n - pad;
	out[*len_r] = '\0';
	return out;
}

static int
get_secret(const struct imap_store_cfg *cfg, enum imap_secret_kind kind,
	   char **secret_r, struct mf_err *err)
{
	*secret_r = NULL;
	if (cfg->get_secret == NULL)
		return mf_err_set(err, MF_E_CONFIG, "no %s configured",
				  kind == IMAP_SECRET_OAUTH_TOKEN ?
					  "OAuth token" :
					  "password");
	if (cfg->get_secret(cfg->secret_ctx, kind, secret_r, err) < 0)
		return -1;
	if (*secret_r == NULL)
		return mf_err_set(err, MF_E_CONFIG, "empty secret");
	return 0;
}

static void
wipe_free(char **s)
{
	if (*s != NULL) {
		mf_str_wipe(*s);
		free(*s);
		*s = NULL;
	}
}

/* ---- the exchange --------------------------------------------------- */

enum mech {
	MECH_LOGIN,
	MECH_PLAIN,
	MECH_XOAUTH2,
	MECH_OAUTHBEARER,
	MECH_SCRAM,
};

struct auth_ctx {
	enum mech mech;
	struct mf_buf initial; /* the first client message, base64 */
	unsigned step;
	/* SCRAM */
	char *password;
	char nonce[64];
	char *client_first_bare;
	char server_sig[64];
	bool server_verified;
};

static int
scram_cont(struct auth_ctx *a, const struct imap_resp *resp,
	   struct mf_buf *reply, struct mf_err *err)
{
	unsigned char *msg;
	size_t len;
	char *final = NULL;

	msg = b64_decode(resp->text, resp->text_len, &len);
	if (msg == NULL)
		return mf_err_set(err, MF_E_AUTH,
				  "SCRAM: bad base64 from "
				  "server");
	if (a->step == 1) {
		int r = imap_scram_client_final(a->password,
						a->client_first_bare,
						(const char *)msg, a->nonce,
						&final, a->server_sig, err);

		free(msg);
		wipe_free(&a->password);
		if (r < 0)
			return -1;
		b64_encode(reply, (const unsigned char *) final, strlen(final));
		free(final);
		a->step++;
		return 0;
	}
	if (a->step == 2) {
		bool ok = len > 2 && strncmp((char *)msg, "v=", 2) == 0 &&
			  strcmp((char *)msg + 2, a->server_sig) == 0;

		free(msg);
		if (!ok)
			return mf_err_set(err, MF_E_AUTH,
					  "SCRAM: the server "
					  "could not prove it knows the "
					  "password; not trusting it");
		a->server_verified = true;
		a->step++;
		return 0; /* empty reply */
	}
	free(msg);
	return mf_err_set(err, MF_E_AUTH, "SCRAM: unexpected continuation");
}

static int
auth_cont(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp,
	  struct mf_buf *reply, struct mf_err *err)
{
	struct auth_ctx *a = ctx;

	if (a->step == 0) {
		/* no SASL-IR: the initial response goes here */
		a->step++;
		if (mf_buf_append(reply, a->initial.data, a->initial.len, err) <
		    0)
			return -1;
		return 0;
	}
	switch (a->mech) {
	case MECH_SCRAM:
		return scram_cont(a, resp, reply, err);
	case MECH_XOAUTH2:
		/* an error as JSON in the "+"; an empty line gets the NO */
		return 0;
	case MECH_OAUTHBEARER:
		/* RFC 7628 section 3.2.3: answer an error with %x01 */
		return mf_buf_append(reply, "AQ==", 4, err);
	default:
		return mf_err_set(err, MF_E_AUTH,
				  "unexpected continuation "
				  "during login");
	}
}

static void
saslname(struct mf_buf *b, const char *user)
{
	/* RFC 5802: ',' and '=' in a user name are escaped */
	for (; *user != '\0'; user++) {
		const char *s = *user == ',' ? "=2C" :
				*user == '=' ? "=3D" :
					       NULL;

		if (mf_buf_append(b, s ? s : user, s ? 3 : 1, NULL) < 0)
			abort();
	}
}

/*
 * SCRAM's client-first message (RFC 5802): a fresh nonce, then
 * "n,,n=user,r=nonce" into a->initial; raw is the caller's scratch
 * buffer (wiped by the caller).
 */
static int
scram_initial(struct auth_ctx *a, const struct imap_store_cfg *cfg,
	      const char *user, struct mf_buf *raw, struct mf_err *err)
{
	unsigned char rnd[18];
	struct mf_buf nb;

	if (get_secret(cfg, IMAP_SECRET_PASSWORD, &a->password, err) < 0)
		return -1;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		mf_err_set(err, MF_E_INTERNAL, "no random bytes");
		return -1;
	}
	mf_buf_init(&nb, sizeof(a->nonce) - 1);
	b64_encode(&nb, rnd, sizeof(rnd));
	snprintf(a->nonce, sizeof(a->nonce), "%s", nb.data);
	mf_buf_deinit(&nb);
	if (mf_buf_append(raw, "n=", 2, err) < 0)
		return -1;
	saslname(raw, user);
	if (mf_buf_printf(raw, err, ",r=%s", a->nonce) < 0)
		return -1;
	a->client_first_bare = xstrdup(raw->data);
	mf_buf_reset(raw);
	if (mf_buf_printf(raw, err, "n,,%s", a->client_first_bare) < 0)
		return -1;
	b64_encode(&a->initial, (unsigned char *)raw->data, raw->len);
	a->step = 0;
	return 0;
}

static int
build_initial(struct auth_ctx *a, const struct imap_store_cfg *cfg,
	      const char *host, unsigned port, struct mf_err *err)
{
	struct mf_buf raw;
	char *secret = NULL;
	const char *user = cfg->user != NULL ? cfg->user : "";
	bool ok = false;

	mf_buf_init(&raw, 64 * 1024);
	switch (a->mech) {
	case MECH_PLAIN:
		if (get_secret(cfg, IMAP_SECRET_PASSWORD, &secret, err) < 0)
			break;
		/* RFC 4616: authzid NUL authcid NUL passwd */
		if (mf_buf_append(&raw, "", 1, err) < 0 ||
		    mf_buf_append_str(&raw, user, err) < 0 ||
		    mf_buf_append(&raw, "", 1, err) < 0 ||
		    mf_buf_append_str(&raw, secret, err) < 0)
			break;
		b64_encode(&a->initial, (unsigned char *)raw.data, raw.len);
		ok = true;
		break;
	case MECH_XOAUTH2:
		if (get_secret(cfg, IMAP_SECRET_OAUTH_TOKEN, &secret, err) < 0)
			break;
		if (mf_buf_printf(&raw, err,
				  "user=%s\001auth=Bearer %s"
				  "\001\001",
				  user, secret) < 0)
			break;
		b64_encode(&a->initial, (unsigned char *)raw.data, raw.len);
		ok = true;
		break;
	case MECH_OAUTHBEARER:
		if (get_secret(cfg, IMAP_SECRET_OAUTH_TOKEN, &secret, err) < 0)
			break;
		if (mf_buf_append(&raw, "n,a=", 4, err) < 0)
			break;
		saslname(&raw, user);
		if (mf_buf_printf(&raw, err,
				  ",\001host=%s\001port=%u\001"
				  "auth=Bearer %s\001\001",
				  host, port, secret) < 0)
			break;
		b64_encode(&a->initial, (unsigned char *)raw.data, raw.len);
		ok = true;
		break;
	case MECH_SCRAM:
		ok = scram_initial(a, cfg, user, &raw, err) == 0;
		break;
	case MECH_LOGIN:
		ok = true;
		break;
	}
	wipe_free(&secret);
	if (raw.data != NULL)
		explicit_bzero(raw.data, raw.len);
	mf_buf_deinit(&raw);
	return ok ? 0 : -1;
}

static const char *
mech_name(enum mech m)
{
	switch (m) {
	case MECH_LOGIN:
		return "LOGIN";
	case MECH_PLAIN:
		return "PLAIN";
	case MECH_XOAUTH2:
		return "XOAUTH2";
	case MECH_OAUTHBEARER:
		return "OAUTHBEARER";
	case MECH_SCRAM:
		return "SCRAM-SHA-256";
	}
	return "?";
}

static int
choose(const struct imap_store_cfg *cfg, uint64_t caps, enum mech *mech_r,
       struct mf_err *err)
{
	if (cfg->use_oauth) {
		if ((caps & IMAP_CAP_AUTH_OAUTHBEARER) &&
		    mech_allowed(cfg, "oauthbearer"))
			*mech_r = MECH_OAUTHBEARER;
		else if ((caps & IMAP_CAP_AUTH_XOAUTH2) &&
			 mech_allowed(cfg, "xoauth2"))
			*mech_r = MECH_XOAUTH2;
		else
			return mf_err_set(err, MF_E_AUTH,
					  "the server offers "
					  "neither AUTH=OAUTHBEARER nor "
					  "AUTH=XOAUTH2 (allowed)");
		return 0;
	}
	if ((caps & IMAP_CAP_AUTH_SCRAM_SHA_256) &&
	    (mech_named(cfg, "scram-sha-256") ||
	     !(caps & IMAP_CAP_AUTH_PLAIN)) &&
	    mech_allowed(cfg, "scram-sha-256"))
		*mech_r = MECH_SCRAM;
	else if ((caps & IMAP_CAP_AUTH_PLAIN) && mech_allowed(cfg, "plain"))
		*mech_r = MECH_PLAIN;
	else if (!(caps & IMAP_CAP_LOGINDISABLED) && mech_allowed(cfg, "login"))
		*mech_r = MECH_LOGIN;
	else
		return mf_err_set(err, MF_E_AUTH,
				  "no usable login mechanism "
				  "(server: %s%s; allowed: %s)",
				  caps & IMAP_CAP_AUTH_PLAIN ? "AUTH=PLAIN " :
							       "",
				  caps & IMAP_CAP_LOGINDISABLED ?
					  "LOGINDISABLED" :
					  "LOGIN",
				  cfg->auth_mechs ? cfg->auth_mechs : "all");
	return 0;
}

int
imap_auth_login(struct imap_client *client, const struct imap_store_cfg *cfg,
		bool secure, struct mf_err *err)
{
	struct auth_ctx a = { 0 };
	struct imap_cmd *cmd = NULL;
	uint64_t caps = imap_client_caps(client);
	const char *label = imap_conn_label(imap_client_conn(client));
	char *secret = NULL;
	int ret = -1;

	if (!secure)
		return mf_err_set(err, MF_E_AUTH,
				  "%s: refusing to send "
				  "credentials over a cleartext connection",
				  label);
	if (choose(cfg, caps, &a.mech, err) < 0)
		return mf_err_prefix(err, "%s", label);
	mf_debug(MF_LOGC_IMAP, "authenticating with %s", mech_name(a.mech));
	mf_buf_init(&a.initial, 64 * 1024);
	cmd = imap_cmd_new(client);
	cmd->flags = IMAP_CMD_BARRIER | IMAP_CMD_REDACT;
	if (a.mech == MECH_LOGIN) {
		const char *user = cfg->user != NULL ? cfg->user : "";

		if (get_secret(cfg, IMAP_SECRET_PASSWORD, &secret, err) < 0)
			goto out;
		imap_cmd_printf(cmd, "LOGIN ");
		imap_cmd_add_astring(cmd, user, strlen(user));
		imap_cmd_printf(cmd, " ");
		/* a literal password is borrowed: keep secret until done */
		imap_cmd_add_astring(cmd, secret, strlen(secret));
	} else {
		if (build_initial(&a, cfg, cfg->host ? cfg->host : "",
				  cfg->port, err) < 0)
			goto out;
		cmd->cont = auth_cont;
		cmd->ctx = &a;
		imap_cmd_printf(cmd, "AUTHENTICATE %s", mech_name(a.mech));
		if (caps & IMAP_CAP_SASL_IR) {
			/* RFC 4959: "=" stands for an empty response */
			imap_cmd_printf(cmd, " %s",
					a.initial.len ? a.initial.data : "=");
			a.step = 1;
		}
	}
	/* the caps that count are those after login (OK [CAPABILITY]) */
	imap_client_forget_caps(client);
	imap_client_submit(client, cmd);
	if (imap_client_wait(client, cmd, err) < 0)
		goto out;
	if (cmd->status != IMAP_CMD_OK) {
		mf_err_set(err, MF_E_AUTH, "%s: login as %s refused: %s", label,
			   cfg->user ? cfg->user : "(none)", cmd->text);
		goto out;
	}
	if (a.mech == MECH_SCRAM && !a.server_verified) {
		mf_err_set(err, MF_E_AUTH,
			   "%s: SCRAM: the server accepted "
			   "the login without proving it knows the password",
			   label);
		goto out;
	}
	ret = 0;
out:
	imap_cmd_free(&cmd);
	wipe_free(&secret);
	wipe_free(&a.password);
	free(a.client_first_bare);
	if (a.initial.data != NULL)
		explicit_bzero(a.initial.data, a.initial.len);
	mf_buf_deinit(&a.initial);
	return ret;
}

/* ---- SCRAM-SHA-256 (RFC 5802, RFC 7677) ------------------------------ */

static bool
hmac256(const unsigned char *key, size_t klen, const void *data, size_t len,
	unsigned char out[32])
{
	unsigned int n = 32;

	return HMAC(EVP_sha256(), key, (int)klen, data, len, out, &n) != NULL;
}

/* Value of "k=" in a SCRAM message, copied into out. */
static bool
scram_attr(const char *msg, char k, char *out, size_t size)
{
	const char *p = msg;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		if (p[0] == k && p[1] == '=') {
			if (len - 2 >= size)
				return false;
			memcpy(out, p + 2, len - 2);
			out[len - 2] = '\0';
			return true;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

int
imap_scram_client_final(const char *password, const char *client_first_bare,
			const char *server_first, const char *client_nonce,
			char **client_final_r, char server_sig_b64[64],
			struct mf_err *err)
{
	char nonce[512], salt_b64[512], iter_s[16];
	unsigned char *salt = NULL, salted[32], ckey[32], skey[32], stored[32];
	unsigned char csig[32], ssig[32], proof[32];
	struct mf_buf final, auth, enc;
	size_t salt_len, i;
	uint32_t iter;
	int ret = -1;

	*client_final_r = NULL;
	if (!scram_attr(server_first, 'r', nonce, sizeof(nonce)) ||
	    !scram_attr(server_first, 's', salt_b64, sizeof(salt_b64)) ||
	    !scram_attr(server_first, 'i', iter_s, sizeof(iter_s)))
		return mf_err_set(err, MF_E_AUTH,
				  "SCRAM: malformed server "
				  "message");
	if (strncmp(nonce, client_nonce, strlen(client_nonce)) != 0)
		return mf_err_set(err, MF_E_AUTH,
				  "SCRAM: the server changed "
				  "our nonce");
	if (!mf_str_to_u32(iter_s, strlen(iter_s), &iter) || iter == 0 ||
	    iter > SCRAM_MAX_ITER)
		return mf_err_set(err, MF_E_AUTH,
				  "SCRAM: bad iteration "
				  "count");
	salt = b64_decode(salt_b64, strlen(salt_b64), &salt_len);
	if (salt == NULL)
		return mf_err_set(err, MF_E_AUTH, "SCRAM: bad salt");
	mf_buf_init(&final, 4096);
	mf_buf_init(&auth, 8192);
	mf_buf_init(&enc, 4096);
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
			      (int)salt_len, (int)iter, EVP_sha256(), 32,
			      salted) != 1 ||
	    !hmac256(salted, 32, "Client Key", 10, ckey) ||
	    !hmac256(salted, 32, "Server Key", 10, skey) ||
	    EVP_Digest(ckey, 32, stored, NULL, EVP_sha256(), NULL) != 1) {
		mf_err_set(err, MF_E_INTERNAL, "SCRAM: crypto failed");
		goto out;
	}
	/* c=biws is base64("n,,"): no channel binding, no authzid */
	if (mf_buf_printf(&final, err, "c=biws,r=%s", nonce) < 0 ||
	    mf_buf_printf(&auth, err, "%s,%s,%s", client_first_bare,
			  server_first, final.data) < 0)
		goto out;
	if (!hmac256(stored, 32, auth.data, auth.len, csig) ||
	    !hmac256(skey, 32, auth.data, auth.len, ssig)) {
		mf_err_set(err, MF_E_INTERNAL, "SCRAM: crypto failed");
		goto out;
	}
	for (i = 0; i < 32; i++)
		proof[i] = ckey[i] ^ csig[i];
	b64_encode(&enc, proof, 32);
	if (mf_buf_printf(&final, err, ",p=%s", enc.data) < 0)
		goto out;
	mf_buf_reset(&enc);
	b64_encode(&enc, ssig, 32);
	snprintf(server_sig_b64, 64, "%s", enc.data);
	*client_final_r = mf_buf_take(&final);
	ret = 0;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	OPENSSL_cleanse(skey, sizeof(skey));
	OPENSSL_cleanse(stored, sizeof(stored));
	free(salt);
	mf_buf_deinit(&final);
	mf_buf_deinit(&auth);
	mf_buf_deinit(&enc);
	return ret;
}
