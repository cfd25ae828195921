/* Memory contents across the dump: 100 MB of anonymous memory with a position-dependent pattern
 * (every page different), a sparse mapping whose untouched and MADV_DONTNEED'd pages must read
 * as zeros, a few MB of malloc heap (brk chunks with holes freed into the allocator, and a few
 * mmap'd chunks), and a private file mapping written copy-on-write on every other page, whose
 * other pages must still show the file and whose file must be unchanged. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scenario.h"

#define PAGE		 4096ul
#define BIG_SIZE	 (100ul << 20)
#define SPARSE_PAGES	 2048 /* 8 MB */
#define N_SMALL_CHUNKS	 1500 /* 64 B to 4 KB each: the brk heap */
#define N_LARGE_CHUNKS	 4    /* above the mmap threshold */
#define LARGE_CHUNK_SIZE (300ul << 10)
#define FILE_SIZE	 (4ul << 20)

enum { SEED_BIG = 1, SEED_SPARSE, SEED_HEAP, SEED_FILE, SEED_COW };

struct chunk {
	uint64_t *words;
	size_t n_words;
};

static struct chunk chunks[N_SMALL_CHUNKS + N_LARGE_CHUNKS];
static char dir[] = "/tmp/minicr-scn-dirty.XXXXXX";
static char path[64];

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The word at index i of the region seeded with seed/sub. */
static uint64_t pattern(int seed, uint64_t sub, uint64_t i)
{
	return splitmix64((uint64_t)seed << 56 ^ sub << 32 ^ i);
}

static void fill(uint64_t *words, size_t n_words, int seed, uint64_t sub)
{
	for (size_t i = 0; i < n_words; i++)
		words[i] = pattern(seed, sub, i);
}

/* Index of the first word that differs from the pattern, or -1. */
static long long verify(const uint64_t *words, size_t n_words, int seed, uint64_t sub)
{
	for (size_t i = 0; i < n_words; i++)
		if (words[i] != pattern(seed, sub, i))
			return (long long)i;
	return -1;
}

static bool sparse_page_is_touched(size_t page)
{
	return page % 5 == 0 || page == SPARSE_PAGES - 1;
}

static bool sparse_page_is_dropped(size_t page)
{
	return page % 40 == 0 && page != 0;
}

static void build_sparse(uint8_t *sparse)
{
	for (size_t p = 0; p < SPARSE_PAGES; p++)
		if (sparse_page_is_touched(p))
			fill((uint64_t *)(sparse + p * PAGE), PAGE / 8, SEED_SPARSE, p);
	for (size_t p = 0; p < SPARSE_PAGES; p++)
		if (sparse_page_is_dropped(p))
			madvise(sparse + p * PAGE, PAGE, MADV_DONTNEED);
}

static void check_sparse(const uint8_t *sparse)
{
	for (size_t p = 0; p < SPARSE_PAGES; p++) {
		const uint64_t *words = (const uint64_t *)(sparse + p * PAGE);

		if (sparse_page_is_touched(p) && !sparse_page_is_dropped(p)) {
			long long bad = verify(words, PAGE / 8, SEED_SPARSE, p);

			scenario_check(bad < 0, "sparse page %zu differs at word %lld", p, bad);
		} else {
			for (size_t i = 0; i < PAGE / 8; i++)
				scenario_check(words[i] == 0,
					       "sparse page %zu (%s) word %zu is %#llx", p,
					       sparse_page_is_touched(p) ? "dropped" : "untouched",
					       i, (unsigned long long)words[i]);
		}
	}
}

static void build_heap(void)
{
	for (int i = 0; i < N_SMALL_CHUNKS + N_LARGE_CHUNKS; i++) {
		size_t size = i < N_SMALL_CHUNKS ? 64 + pattern(SEED_HEAP, 0, i) % 4032
						 : LARGE_CHUNK_SIZE + (size_t)i * PAGE;

		chunks[i].n_words = size / 8;
		chunks[i].words = malloc(size);
		if (!chunks[i].words)
			scenario_skip("malloc(%zu) failed", size);
		fill(chunks[i].words, chunks[i].n_words, SEED_HEAP, i + 1);
	}
	/* Holes: the allocator's free lists carry state across the dump too. */
	for (int i = 0; i < N_SMALL_CHUNKS; i += 3) {
		free(chunks[i].words);
		chunks[i].words = NULL;
	}
}

static void check_heap(void)
{
	void *again[64];

	for (int i = 0; i < N_SMALL_CHUNKS + N_LARGE_CHUNKS; i++) {
		long long bad;

		if (!chunks[i].words)
			continue;
		bad = verify(chunks[i].words, chunks[i].n_words, SEED_HEAP, i + 1);
		scenario_check(bad < 0, "heap chunk %d (%zu bytes) differs at word %lld", i,
			       chunks[i].n_words * 8, bad);
	}
	/* The allocator must still work on the restored heap. */
	for (int i = 0; i < N_SMALL_CHUNKS + N_LARGE_CHUNKS; i++)
		free(chunks[i].words);
	for (int i = 0; i < 64; i++) {
		again[i] = malloc(64 + (size_t)i * 512);
		scenario_check(again[i], "malloc after restore");
		memset(again[i], i, 64 + (size_t)i * 512);
	}
	for (int i = 0; i < 64; i++)
		free(again[i]);
}

/* A file with pattern SEED_FILE, mapped private; every even page is overwritten with SEED_COW. */
static uint8_t *build_private_file(void)
{
	uint64_t *buf = malloc(FILE_SIZE);
	uint8_t *map;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !buf)
		scenario_skip("create %s: %m", path);
	fill(buf, FILE_SIZE / 8, SEED_FILE, 0);
	if (write(fd, buf, FILE_SIZE) != (ssize_t)FILE_SIZE)
		scenario_skip("write %s: %m", path);
	free(buf);
	map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		scenario_skip("mmap %s: %m", path);
	close(fd); /* only the mapping keeps the file */
	for (size_t p = 0; p < FILE_SIZE / PAGE; p += 2)
		fill((uint64_t *)(map + p * PAGE), PAGE / 8, SEED_COW, p);
	return map;
}

static void check_private_file(const uint8_t *map)
{
	uint64_t *buf = malloc(FILE_SIZE);
	int fd;

	for (size_t p = 0; p < FILE_SIZE / PAGE; p++) {
		const uint64_t *words = (const uint64_t *)(map + p * PAGE);
		long long bad;

		if (p % 2 == 0) {
			bad = verify(words, PAGE / 8, SEED_COW, p);
			scenario_check(
			    bad < 0, "written private file page %zu differs at word %lld", p, bad);
		} else {
			for (size_t i = 0; i < PAGE / 8; i++)
				scenario_check(
				    words[i] == pattern(SEED_FILE, 0, p * PAGE / 8 + i),
				    "unwritten private file page %zu differs at word %zu", p, i);
		}
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	scenario_check(fd >= 0 && buf, "reopen %s: %m", path);
	scenario_check(pread(fd, buf, FILE_SIZE, 0) == (ssize_t)FILE_SIZE, "read %s: %m", path);
	close(fd);
	scenario_check(verify(buf, FILE_SIZE / 8, SEED_FILE, 0) < 0,
		       "copy-on-write pages leaked into the file at word %lld",
		       verify(buf, FILE_SIZE / 8, SEED_FILE, 0));
	free(buf);
}

/* Runs at every exit, so a failed check leaves no temp dir behind. */
static void remove_temp_files(void)
{
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	uint8_t *big, *sparse, *file_map;
	long long bad;

	big = mmap(NULL, BIG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sparse = mmap(NULL, SPARSE_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED || sparse == MAP_FAILED)
		scenario_skip("mmap: %m");
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	snprintf(path, sizeof(path), "%s/mapped", dir);
	atexit(remove_temp_files);

	fill((uint64_t *)big, BIG_SIZE / 8, SEED_BIG, 0);
	build_sparse(sparse);
	build_heap();
	file_map = build_private_file();

	scenario_ready();
	scenario_wait();

	bad = verify((const uint64_t *)big, BIG_SIZE / 8, SEED_BIG, 0);
	scenario_check(bad < 0, "100 MB region differs at offset %#llx (page %lld)", bad * 8,
		       bad * 8 / (long long)PAGE);
	check_sparse(sparse);
	check_heap();
	check_private_file(file_map);
	scenario_pass();
}
