/*
 * The JSON writer (cmd/json.c): escaping per RFC 8259, hostile bytes
 * (controls, terminal escapes, broken UTF-8) never giving invalid JSON, and
 * the commas and nesting of objects and arrays.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

/* The escape of len bytes of s (json_escape) equals want. */
static void
check_esc(const char *s, size_t len, const char *want)
{
	char out[4096];
	size_t n = json_escape(s, len, out, sizeof(out));

	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
}

#define ESC(lit, want) check_esc(lit, sizeof(lit) - 1, want)

static void
test_escapes(void **state)
{
	(void)state;
	ESC("plain", "plain");
	ESC("a\"b", "a\\\"b");
	ESC("a\\b", "a\\\\b");
	ESC("/", "/");
	ESC("\n\r\t\b\f", "\\n\\r\\t\\b\\f");
	ESC("\x01\x1f", "\\u0001\\u001f");
	ESC("\x7f", "\\u007f");
	ESC("a\0b", "a\\u0000b");
	/* a hostile folder name: a terminal escape stays text */
	ESC("\x1b[31mred\x1b[0m", "\\u001b[31mred\\u001b[0m");
	/* C1 controls: CSI as UTF-8 escaped, as a raw byte replaced */
	ESC("\xc2\x9b"
	    "31m",
	    "\\u009b31m");
	ESC("\xc2\x80\xc2\x9f\xc2\xa0", "\\u0080\\u009f\xc2\xa0");
	ESC("\x9b"
	    "31m",
	    "\\ufffd31m");
}

static void
test_utf8_kept(void **state)
{
	(void)state;
	ESC("Entw\xc3\xbcrfe", "Entw\xc3\xbcrfe"); /* 2 bytes */
	ESC("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"); /* 3 */
	ESC("\xf0\x9f\x93\xa7", "\xf0\x9f\x93\xa7"); /* 4: U+1F4E7 */
	ESC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	ESC("\xed\x9f\xbf", "\xed\x9f\xbf");	     /* U+D7FF */
	ESC("\xe2\x80\xa8", "\xe2\x80\xa8");	     /* U+2028 */
}

static void
test_utf8_replaced(void **state)
{
	(void)state;
	ESC("\xff", "\\ufffd");
	ESC("a\x80z", "a\\ufffdz");	   /* a continuation byte alone */
	ESC("\xc0\xaf", "\\ufffd\\ufffd"); /* overlong '/' */
	ESC("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"); /* overlong */
	ESC("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"); /* surrogate */
	ESC("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
	ESC("\xf5\x80", "\\ufffd\\ufffd");
	/* cut short, at the end and before ASCII */
	ESC("x\xe2\x82", "x\\ufffd\\ufffd");
	ESC("\xe2\x82\"", "\\ufffd\\ufffd\\\"");
	/* ISO-8859-1 from an old server */
	ESC("Gr\xfc\xdf", "Gr\\ufffd\\ufffd");
}

static void
test_escape_cut(void **state)
{
	char out[8];
	size_t n;

	(void)state;
	n = json_escape("\"\"\"\"\"\"", 6, out, sizeof(out));
	assert_int_equal(n, 12);
	assert_string_equal(out, "\\\"\\\"\\\"\\");
	n = json_escape("abc", 3, out, 0);
	assert_int_equal(n, 3);
}

/* What the writer wrote into a memory stream. */
struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static void
mem_open(struct mem *m, struct json *j)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	json_begin(j, m->f);
}

static void
mem_check(struct mem *m, const char *want)
{
	fclose(m->f);
	assert_string_equal(m->buf, want);
	free(m->buf);
}

static void
test_objects(void **state)
{
	struct mem m;
	struct json j;

	(void)state;
	mem_open(&m, &j);
	json_obj_open(&j);
	json_kv_str(&j, "type", "folder");
	json_kv_str(&j, "near", NULL);
	json_kv_uint(&j, "big", UINT64_MAX);
	json_kv_int(&j, "neg", INT64_MIN);
	json_kv_bool(&j, "t", true);
	json_kv_bool(&j, "f", false);
	json_key(&j, "list");
	json_arr_open(&j);
	json_str(&j, "a");
	json_uint(&j, 1);
	json_obj_open(&j);
	json_obj_close(&j);
	json_arr_open(&j);
	json_arr_close(&j);
	json_null(&j);
	json_arr_close(&j);
	json_key(&j, "o");
	json_obj_open(&j);
	json_kv_uint(&j, "x", 0);
	json_obj_close(&j);
	json_kv_str(&j, "k\"ey", "v\n");
	json_obj_close(&j);
	json_end(&j);
	/* a second line starts afresh: no comma carried over */
	json_obj_open(&j);
	json_obj_close(&j);
	json_end(&j);
	mem_check(&m, "{\"type\":\"folder\",\"near\":null,"
		      "\"big\":18446744073709551615,"
		      "\"neg\":-9223372036854775808,\"t\":true,\"f\":false,"
		      "\"list\":[\"a\",1,{},[],null],\"o\":{\"x\":0},"
		      "\"k\\\"ey\":\"v\\n\"}\n{}\n");
}

/* Long strings are escaped in pieces: a UTF-8 sequence across a piece
 * boundary must stay whole. */
static void
test_long_string(void **state)
{
	char in[1100], want[1200];
	struct mem m;
	struct json j;
	size_t i, off;

	(void)state;
	for (off = 120; off < 132; off++) {
		size_t n = 0, w = 0;

		for (i = 0; i < off; i++)
			in[n++] = 'a';
		for (i = 0; i < 150; i++) {
			memcpy(in + n, "\xf0\x9f\x93\xa7\xc3\xbc", 6);
			n += 6;
		}
		want[w++] = '"';
		memcpy(want + w, in, n);
		w += n;
		want[w++] = '"';
		want[w++] = '\n';
		want[w] = '\0';
		mem_open(&m, &j);
		json_str_n(&j, in, n);
		json_end(&j);
		mem_check(&m, want);
	}
}

/*
 * Is s[0..len) the body of a valid JSON string?  Written apart from
 * json.c: escapes as RFC 8259 lists them, no control bytes, and raw bytes
 * decoding as UTF-8 to scalar values without overlong forms.
 */
static int
valid_body(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n, k;

		if (s[i] == '"' || s[i] < 0x20)
			return 0;
		if (s[i] == '\\') {
			if (i + 1 >= len)
				return 0;
			if (strchr("\"\\/bfnrt", s[i + 1]) != NULL &&
			    s[i + 1] != '\0') {
				i += 2;
				continue;
			}
			if (s[i + 1] != 'u' || i + 6 > len)
				return 0;
			for (k = 2; k < 6; k++)
				if (strchr("0123456789abcdefABCDEF",
					   s[i + k]) == NULL)
					return 0;
			i += 6;
			continue;
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc0 ? 2 : 0;
		if (n == 0 || i + n > len)
			return 0;
		cp = s[i] & (0x7f >> n);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}

/* Random bytes, biased to the troublesome ones: always a valid string. */
static void
test_random_bytes(void **state)
{
	static const unsigned char pick[] = { 0x00, 0x1b, '"',	'\\', 0x7f,
					      0x80, 0xbf, 0xc0, 0xc3, 0xe0,
					      0xed, 0xef, 0xf0, 0xf4, 0xf8,
					      0xff, 'a',  '\n' };
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 3000; round++) {
		unsigned char in[64];
		char out[64 * 6 + 1];
		size_t len = (size_t)(rand_r(&seed) % 64), i, n;

		for (i = 0; i < len; i++)
			in[i] = rand_r(&seed) % 2 ?
					pick[rand_r(&seed) % sizeof(pick)] :
					(unsigned char)rand_r(&seed);
		n = json_escape((const char *)in, len, out, sizeof(out));
		assert_true(n < sizeof(out));
		assert_true(valid_body((const unsigned char *)out, n));
	}
	/* and the checker itself refuses what it must */
	assert_false(valid_body((const unsigned char *)"\xc0\xaf", 2));
	assert_false(valid_body((const unsigned char *)"\"", 1));
	assert_false(valid_body((const unsigned char *)"\\x", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8_kept),
		cmocka_unit_test(test_utf8_replaced),
		cmocka_unit_test(test_escape_cut),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_long_string),
		cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
