/*
 * rdlm/sys/dlm.h - <sys/dlm.h> of the TruCluster DLM: with rdlm's include directory on the
 * path (pkg-config --cflags rdlm-tcdlm), `#include <sys/dlm.h>` finds this file.
 */
#ifndef RDLM_SYS_DLM_H
#define RDLM_SYS_DLM_H

#include "../tcdlm.h"

#endif
