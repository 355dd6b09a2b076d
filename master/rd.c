/*
 * master/rd.c - recovery domains (being written).
 */
#include "master/daemon.h"
