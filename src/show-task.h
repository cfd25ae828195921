/* show-task.h: the readable summary of a task's core record in `minicr show` text output (the
 * syscalls its threads stopped in, its seccomp filters, its capability sets, by name). */
#pragma once

#include <stdio.h>

#include "core.pb-c.h"

/* Prints "# ..." lines, indented under the record. */
void show_task_core(FILE *out, const TaskCoreEntry *core);
