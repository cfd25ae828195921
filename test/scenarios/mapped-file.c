/* A private and a shared mapping of a regular file: the private one has copy-on-write pages that
 * differ from the file, the shared one writes through to it. After the restore both must read
 * back as before, and a write through the shared mapping must reach the file. The file lives at
 * $MAPPED_FILE (default /tmp/minicr-mapped-file.<pid>); test-restore-failures.sh removes it
 * between dump and restore to check the refusal. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scenario.h"

#define LEN 8192

static char path[256];

static void cleanup_file(void)
{
	unlink(path);
}

int main(void)
{
	char *priv, *shared, buf[16];
	int fd;

	if (getenv("MAPPED_FILE"))
		snprintf(path, sizeof(path), "%s", getenv("MAPPED_FILE"));
	else
		snprintf(path, sizeof(path), "/tmp/minicr-mapped-file.%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, LEN) < 0)
		scenario_skip("cannot create '%s': %m", path);
	atexit(cleanup_file);
	if (pwrite(fd, "file-data", 9, 0) != 9)
		scenario_skip("pwrite: %m");
	priv = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	shared = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (priv == MAP_FAILED || shared == MAP_FAILED)
		scenario_skip("mmap: %m");
	close(fd);
	memcpy(priv + 4096, "cow-page", 8);
	memcpy(shared + 100, "shared", 6);
	scenario_ready();
	scenario_wait();
	scenario_check(!memcmp(priv, "file-data", 9), "private mapping lost the file's data");
	scenario_check(!memcmp(priv + 4096, "cow-page", 8), "private mapping lost its own page");
	scenario_check(!memcmp(shared + 100, "shared", 6), "shared mapping lost its data");
	memcpy(shared + 200, "after", 5);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	scenario_check(fd >= 0 && pread(fd, buf, 5, 200) == 5 && !memcmp(buf, "after", 5),
		       "a write through the shared mapping did not reach the file");
	scenario_pass();
}
