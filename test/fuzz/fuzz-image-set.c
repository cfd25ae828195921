/* fuzz-image-set: libFuzzer target over the whole restore input path: an image set in a
 * directory, read and checked by image_set_load() (the code restore, restore --check-only, show
 * and dump's own check run before anything is created). Each input is a packed set of images:
 * records of (u8 name index, u32 little-endian length, bytes), the names from a fixed list of
 * the files of a one-task set (pid 4242, namespace 4026531841), written into a scratch
 * directory before each run. gen-corpus-image --pack makes seeds in this format. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "image-set/image-set.h"
#include "image-set-names.h"

#define FUZZ_INPUT_MAX (1u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dirfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char shm[] = "/dev/shm/minicr-fuzz-set.XXXXXX", tmp[] = "/tmp/minicr-fuzz-set.XXXXXX";
	const char *dir = mkdtemp(shm) ? shm : mkdtemp(tmp);

	(void)argc;
	(void)argv;
	if (!dir)
		abort();
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		abort();
	/* the checks log one line per refused set: keep them out of the fuzzer's output */
	log_init(LOG_ERROR, open("/dev/null", O_WRONLY | O_CLOEXEC));
	return 0;
}

static void write_file(const char *name, const uint8_t *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_set *set = NULL;
	size_t pos = 0;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	for (size_t i = 0; i < IMAGE_SET_N_NAMES; i++)
		(void)unlinkat(dirfd, image_set_names[i], 0);
	while (size - pos >= 5) {
		uint32_t len;
		uint8_t idx = data[pos];

		memcpy(&len, data + pos + 1, sizeof(len));
		pos += 5;
		if (len > size - pos)
			len = (uint32_t)(size - pos);
		write_file(image_set_names[idx % IMAGE_SET_N_NAMES], data + pos, len);
		pos += len;
	}
	if (image_set_load(dirfd, 1024, &set) == 0)
		image_set_free(set);
	return 0;
}
