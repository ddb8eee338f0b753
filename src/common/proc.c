// SPDX-License-Identifier: GPL-2.0-only
/* proc.c - see proc.h for the contract. */
#include "common/proc.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include "common/log.h"

void proc_no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		log_warn_errno("cannot disable core dumps (RLIMIT_CORE)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warn_errno("cannot mark the process non-dumpable");
}
