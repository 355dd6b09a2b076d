/*
 * master/glc.c - group lock containers (being written).
 */
#include "master/daemon.h"
