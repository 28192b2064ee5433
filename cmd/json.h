/*
 * A small JSON writer (RFC 8259) for --json: one value per line (JSON
 * Lines), written to a FILE.  Commas and nesting are tracked here; strings
 * are escaped here: '"', '\\' and every control character (U+0000-U+001F,
 * DEL, and the C1 controls U+0080-U+009F that a terminal may obey) as
 * \uXXXX or its short form, and every byte that is not part of well-formed
 * UTF-8 (a hostile server's folder name) replaced by U+FFFD, so that the
 * output is valid JSON whatever the input.
 *
 *	struct json j;
 *	json_begin(&j, stdout);
 *	json_obj_open(&j);
 *	json_kv_str(&j, "type", "folder");
 *	json_kv_uint(&j, "pulled", 3);
 *	json_obj_close(&j);
 *	json_end(&j);		-> {"type":"folder","pulled":3}\n
 */
#ifndef MF_CMD_JSON_H
#define MF_CMD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

struct json {
	FILE *f;
	int depth;
	/* per open level: nothing written yet, so no comma before the next */
	bool first[JSON_DEPTH_MAX + 1];
	bool after_key; /* a key was written: its value needs no comma */
};

void json_begin(struct json *j, FILE *f);
/* End the line: a newline, and a flush so a reader sees it at once. */
void json_end(struct json *j);

void json_obj_open(struct json *j);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j);
void json_arr_close(struct json *j);
/* The key of the next value inside an object. */
void json_key(struct json *j, const char *key);

/* A string; NULL is written as null. */
void json_str(struct json *j, const char *s);
/* len bytes of s, which may hold NUL bytes. */
void json_str_n(struct json *j, const char *s, size_t len);
void json_uint(struct json *j, uint64_t n);
void json_int(struct json *j, int64_t n);
void json_bool(struct json *j, bool b);
void json_null(struct json *j);

/* key and value in one call */
void json_kv_str(struct json *j, const char *key, const char *s);
void json_kv_uint(struct json *j, const char *key, uint64_t n);
void json_kv_int(struct json *j, const char *key, int64_t n);
void json_kv_bool(struct json *j, const char *key, bool b);

/*
 * The escaped body of a string (without the quotes) into out: the
 * writer's escaping, for tests and callers that build text.  Returns the
 * length the whole escape needs; out is cut (and NUL-terminated) to size.
 */
size_t json_escape(const char *s, size_t len, char *out, size_t size);

#endif
