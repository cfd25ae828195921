/* zdtm protocol: a file named by --filename, open read-write at an offset, and a pipe holding
 * unread data, with a heap buffer of a known pattern. After SIGTERM the offset, the file's
 * contents, the pipe's data and the pattern must be as they were. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtm.h"

#define HEAP_SIZE (256 * 1024)

int main(int argc, char **argv)
{
	char buf[32] = "";
	uint32_t *heap;
	int fd, p[2];

	zdtm_init(argc, argv);
	zdtm_check(zdtm_filename(), "--filename is required");
	fd = open(zdtm_filename(), O_RDWR | O_CREAT | O_EXCL, 0600);
	zdtm_check(fd >= 0, "cannot create '%s': %m", zdtm_filename());
	zdtm_check(write(fd, "0123456789", 10) == 10, "cannot write the file: %m");
	zdtm_check(lseek(fd, 4, SEEK_SET) == 4, "lseek: %m");
	zdtm_check(pipe(p) == 0 && write(p[1], "in the pipe", 11) == 11, "pipe: %m");
	heap = malloc(HEAP_SIZE);
	zdtm_check(heap, "malloc");
	for (size_t i = 0; i < HEAP_SIZE / sizeof(*heap); i++)
		heap[i] = (uint32_t)(i * 2654435761u);

	zdtm_ready();
	zdtm_wait();

	zdtm_check(lseek(fd, 0, SEEK_CUR) == 4, "file offset is %lld, expected 4",
		   (long long)lseek(fd, 0, SEEK_CUR));
	zdtm_check(read(fd, buf, 6) == 6 && memcmp(buf, "456789", 6) == 0, "file contents '%.6s'",
		   buf);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	memset(buf, 0, sizeof(buf));
	zdtm_check(read(p[0], buf, sizeof(buf)) == 11 && memcmp(buf, "in the pipe", 11) == 0,
		   "pipe data '%s'", buf);
	for (size_t i = 0; i < HEAP_SIZE / sizeof(*heap); i++)
		zdtm_check(heap[i] == (uint32_t)(i * 2654435761u), "heap word %zu changed", i);
	unlink(zdtm_filename());
	zdtm_pass();
}
