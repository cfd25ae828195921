/* Files at offsets with their open flags: O_APPEND, O_RDONLY, O_WRONLY, close-on-exec. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"

int main(void)
{
	char dir[] = "/tmp/minicr-scn-offsets.XXXXXX", path[64], buf[8];
	unsigned int flags;
	long long pos;
	int rd, ap, wr;

	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	snprintf(path, sizeof(path), "%s/data", dir);
	wr = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (wr < 0 || write(wr, "0123456789abcdef", 16) != 16)
		scenario_skip("cannot create %s: %m", path);
	rd = open(path, O_RDONLY);
	ap = open(path, O_WRONLY | O_APPEND);
	lseek(rd, 5, SEEK_SET);
	lseek(wr, 3, SEEK_SET);

	scenario_ready();
	scenario_wait();

	scenario_check(scenario_fdinfo(rd, &pos, &flags, NULL) == 2, "fdinfo of fd %d", rd);
	scenario_check(pos == 5, "read fd offset is %lld, expected 5", pos);
	scenario_check((flags & O_ACCMODE) == O_RDONLY, "read fd flags 0%o", flags);
	scenario_check(read(rd, buf, 3) == 3 && memcmp(buf, "567", 3) == 0, "read after restore");
	scenario_check(fcntl(wr, F_GETFD) == FD_CLOEXEC, "close-on-exec lost on fd %d", wr);
	scenario_check(lseek(wr, 0, SEEK_CUR) == 3, "write fd offset");
	scenario_check(fcntl(ap, F_GETFL) & O_APPEND, "O_APPEND lost on fd %d", ap);
	scenario_check(fcntl(rd, F_GETFD) == 0, "close-on-exec appeared on fd %d", rd);
	scenario_check(write(ap, "Z", 1) == 1 && lseek(ap, 0, SEEK_CUR) == 17, "append position");
	unlink(path);
	rmdir(dir);
	scenario_pass();
}
