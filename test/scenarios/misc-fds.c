/* The other fd kinds: directory, O_PATH, /dev/null, memfd with a seal, eventfd with a counter,
 * a FIFO with data, an unlinked file with contents. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario.h"

int main(void)
{
	char dir[] = "/tmp/minicr-scn-misc.XXXXXX", fifo[64], ghost[64], buf[32] = "";
	int dir_fd, path_fd, null_fd, mem_fd, ev_fd, fifo_r, fifo_w, ghost_fd;
	uint64_t counter = 0;
	struct stat st;

	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	path_fd = open(dir, O_PATH);
	null_fd = open("/dev/null", O_WRONLY);
	mem_fd = memfd_create("scenario", MFD_ALLOW_SEALING);
	if (mem_fd < 0 || write(mem_fd, "memfd-data", 10) != 10)
		scenario_skip("memfd: %m");
	fcntl(mem_fd, F_ADD_SEALS, F_SEAL_SHRINK);
	lseek(mem_fd, 4, SEEK_SET);
	ev_fd = eventfd(42, EFD_NONBLOCK);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	if (mkfifo(fifo, 0600) < 0)
		scenario_skip("mkfifo: %m");
	fifo_r = open(fifo, O_RDONLY | O_NONBLOCK);
	fifo_w = open(fifo, O_WRONLY);
	if (fifo_r < 0 || fifo_w < 0 || write(fifo_w, "fifo", 4) != 4)
		scenario_skip("fifo: %m");
	snprintf(ghost, sizeof(ghost), "%s/ghost", dir);
	ghost_fd = open(ghost, O_RDWR | O_CREAT, 0600);
	if (ghost_fd < 0 || write(ghost_fd, "ghost-contents", 14) != 14)
		scenario_skip("ghost file: %m");
	unlink(ghost);
	lseek(ghost_fd, 6, SEEK_SET);

	scenario_ready();
	scenario_wait();

	scenario_check(fstat(dir_fd, &st) == 0 && S_ISDIR(st.st_mode), "dir fd is not a directory");
	scenario_check(fcntl(path_fd, F_GETFL) & O_PATH, "O_PATH lost");
	scenario_check(write(null_fd, "x", 1) == 1, "/dev/null write");
	scenario_check(fcntl(mem_fd, F_GET_SEALS) == F_SEAL_SHRINK, "memfd seals");
	scenario_check(lseek(mem_fd, 0, SEEK_CUR) == 4, "memfd offset");
	scenario_check(pread(mem_fd, buf, 10, 0) == 10 && memcmp(buf, "memfd-data", 10) == 0,
		       "memfd contents");
	scenario_check(read(ev_fd, &counter, 8) == 8 && counter == 42, "eventfd counter %llu",
		       (unsigned long long)counter);
	scenario_check(read(fifo_r, buf, sizeof(buf)) == 4 && memcmp(buf, "fifo", 4) == 0,
		       "fifo data");
	scenario_check(fstat(ghost_fd, &st) == 0 && st.st_nlink == 0, "ghost file has links");
	scenario_check(read(ghost_fd, buf, 8) == 8 && memcmp(buf, "contents", 8) == 0,
		       "ghost file contents at its offset");
	unlink(fifo);
	rmdir(dir);
	scenario_pass();
}
