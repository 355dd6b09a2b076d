/*
 * perf/redis_lock.h - the lock most users would otherwise reach for, as a benchmark client: a
 * single-instance Redis lock on loopback (`SET key token NX PX 10000` to acquire, a
 * compare-and-delete Lua script via EVALSHA to release), plain RESP over one TCP connection.
 */
#ifndef RDLM_PERF_REDIS_LOCK_H
#define RDLM_PERF_REDIS_LOCK_H

#ifdef __cplusplus
extern "C" {
#endif

struct redis_lock;

/* Connect to 127.0.0.1:port and load the release script. NULL on failure (message in err). */
struct redis_lock *redis_lock_connect(int port, char *err, unsigned errlen);
/* Acquire key with a fresh token, then release it: one uncontended lock+unlock pair.
 * 0, or -1 (the reply that went wrong in err). */
int redis_lock_pair(struct redis_lock *r, const char *key, char *err, unsigned errlen);
void redis_lock_close(struct redis_lock *r);

#ifdef __cplusplus
}
#endif

#endif /* RDLM_PERF_REDIS_LOCK_H */
