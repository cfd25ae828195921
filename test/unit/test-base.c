/* Unit tests for the mechanisms in src/base/ every layer shares: path algebra, the hash map
 * (also as a multimap, across growth) and the arena. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/hmap.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/path.h"

Test(path, below_compares_whole_components)
{
	cr_assert_str_eq(path_below("/a/b/c", "/a"), "/b/c");
	cr_assert_str_eq(path_below("/a/b/c", "/a/"), "/b/c");
	cr_assert_str_eq(path_below("/a", "/a"), "");
	cr_assert_str_eq(path_below("/a", "/"), "/a");
	cr_assert_null(path_below("/ab", "/a"));
	cr_assert_null(path_below("/b", "/a"));
	cr_assert_null(path_below("/a", "/a/b"));
}

Test(path, joins_and_strips)
{
	char *s;

	cr_assert_str_eq((s = path_join("/", "/a")), "/a");
	free(s);
	cr_assert_str_eq((s = path_join("/x", "/")), "/x");
	free(s);
	cr_assert_str_eq((s = path_join("/x", "/a b\t")), "/x/a b\t");
	free(s);
	cr_assert_str_eq((s = path_strip_suffix("/sub/f", "/f")), "/sub");
	free(s);
	cr_assert_str_eq((s = path_strip_suffix("/f", "/f")), "/");
	free(s);
	cr_assert_str_eq((s = path_strip_suffix("/sub", "/")), "/sub");
	free(s);
	errno = 0;
	cr_assert_null(path_strip_suffix("/sub/f", "/g"));
	cr_assert_eq(errno, EXDEV);
	cr_assert(str_has_suffix("/x (deleted)", " (deleted)"));
	cr_assert_not(str_has_suffix("ted)", " (deleted)"));
}

Test(hmap, finds_every_key_after_growth)
{
	struct hmap m = {0};

	for (uint64_t i = 0; i < 10000; i++)
		cr_assert_eq(hmap_put(&m, i, i * 7, (size_t)i + 1), 0);
	for (uint64_t i = 0; i < 10000; i++) {
		struct hmap_slot *s = hmap_find(&m, i, i * 7);

		cr_assert_not_null(s);
		cr_assert_eq(s->value, i + 1);
	}
	cr_assert_null(hmap_find(&m, 5, 6));
	hmap_clear(&m);
	cr_assert_null(hmap_find(&m, 1, 7));
}

Test(hmap, keeps_repeated_keys_in_insertion_order)
{
	struct hmap m = {0};
	size_t seen = 0;

	/* interleave many other keys so the table grows between the repeats */
	for (size_t i = 0; i < 3000; i++) {
		cr_assert_eq(hmap_put(&m, 42, 0, i), 0);
		cr_assert_eq(hmap_put(&m, 1000 + i, 1, i), 0);
	}
	for (struct hmap_slot *s = hmap_find(&m, 42, 0); s; s = hmap_next(&m, s))
		cr_assert_eq(s->value, seen++);
	cr_assert_eq(seen, 3000);
	hmap_clear(&m);
}

Test(hmap, reserve_then_put_never_fails_to_find)
{
	struct hmap m = {0};

	cr_assert_eq(hmap_reserve(&m, 5000), 0);
	for (uint64_t i = 0; i < 5000; i++)
		cr_assert_eq(hmap_put(&m, hmap_hash_bytes(&i, sizeof(i)), 0, (size_t)i), 0);
	for (uint64_t i = 0; i < 5000; i++)
		cr_assert_not_null(hmap_find(&m, hmap_hash_bytes(&i, sizeof(i)), 0));
	hmap_clear(&m);
}

Test(arena, hands_out_aligned_zeroed_memory_and_strings)
{
	struct arena a = {0};
	char *big;

	for (int i = 0; i < 1000; i++) {
		uint64_t *p = arena_alloc(&a, 24);

		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % sizeof(uint64_t), 0);
		cr_assert_eq(p[0] | p[1] | p[2], 0);
		p[0] = p[1] = p[2] = ~0ULL;
	}
	big = arena_alloc(&a, 200000);
	cr_assert_not_null(big);
	big[199999] = 1;
	cr_assert_str_eq(arena_strdup(&a, "a\tb\n"), "a\tb\n");
	arena_free(&a);
	cr_assert_null(a.head);
}

Test(escape, keeps_utf8_and_escapes_every_other_byte)
{
	char out[128];

	cr_assert_eq(escape_bytes(out, sizeof(out), "plain caf\xc3\xa9", 11), 11);
	cr_assert_str_eq(out, "plain caf\xc3\xa9");
	escape_bytes(out, sizeof(out), "a\tb\nc\\d\x01\x7f\xff", 10);
	cr_assert_str_eq(out, "a\\tb\\nc\\\\d\\001\\177\\377");
	/* a truncated UTF-8 sequence is bytes, not a character */
	escape_bytes(out, sizeof(out), "x\xc3", 2);
	cr_assert_str_eq(out, "x\\303");
}

Test(escape, reports_the_whole_length_and_cuts_at_a_whole_escape)
{
	char out[6];
	size_t need = escape_bytes(out, sizeof(out), "ab\ncd", 5);

	cr_assert_eq(need, 6);
	cr_assert_str_eq(out, "ab\\nc", "'%s'", out);
	cr_assert_eq(escape_bytes(NULL, 0, "\t", 1), 2);
}

Test(log, a_name_with_a_newline_stays_on_one_line)
{
	int fd = memfd_create("log", 0);
	char buf[256] = "";
	ssize_t n;

	cr_assert_geq(fd, 0);
	log_init(LOG_ERROR, fd);
	pr_err("cannot open '%s'", "/tmp/a\nminicr: error: forged");
	log_init(LOG_WARN, -1);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0);
	cr_assert_not_null(strstr(buf, "cannot open '/tmp/a\\nminicr: error: forged'"), "%s", buf);
	cr_assert_eq(strchr(buf, '\n'), buf + n - 1, "one line: %s", buf);
	close(fd);
}
