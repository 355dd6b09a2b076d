/*
 * rdlm/libdlm.h - the Linux libdlm API (libdlm 4.x, <libdlm.h>) over rdlm: the same
 * functions, constants, structures and values, so that a program written for libdlm builds
 * unchanged with `pkg-config --cflags --libs rdlm-libdlm` (whose Cflags put this directory on
 * the include path: `#include <libdlm.h>` finds this file) and runs against an rdlm cluster.
 *
 * Conventions (as libdlm): calls return 0, or -1 with errno set; lockspace constructors return
 * a handle or NULL with errno. Asynchronous operations complete by calling the AST routine
 * after writing the final status (positive errno values, 0 = granted, EUNLOCK, ECANCEL) into
 * lksb->sb_status. ASTs run in the thread that calls dlm_dispatch() on the lockspace's fd, or
 * in the lockspace's own thread after dlm_pthread_init() / dlm_ls_pthread_init().
 *
 * Where rdlm behaves differently from the Linux kernel DLM, libdlm(3) says so (docs/man/).
 * This header is self-contained: it needs nothing else from rdlm.
 */
#ifndef __LIBDLM_H
#define __LIBDLM_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLM_LVB_LEN        32 /* bytes in a lock value block */
#define DLM_LOCKSPACE_LEN  64 /* longest lockspace name */
#define DLM_RESNAME_MAXLEN 64 /* longest resource name (binary allowed) */

/* Lock status block. sb_lkid is returned by the first request and names the lock after. */
struct dlm_lksb {
    int sb_status;    /* final status of the last operation (0, or a positive errno) */
    uint32_t sb_lkid; /* lock id */
    char sb_flags;    /* DLM_SBF_* */
    char *sb_lvbptr;  /* DLM_LVB_LEN bytes, needed with LKF_VALBLK */
};

/* sb_flags */
#define DLM_SBF_DEMOTED     0x01 /* granted mode was demoted to NL (LKF_CONVDEADLK) */
#define DLM_SBF_VALNOTVALID 0x02 /* the lock value block is not valid */
#define DLM_SBF_ALTMODE     0x04 /* granted in the alternate mode (LKF_ALTPR / LKF_ALTCW) */

/* dlm_new_lockspace flags */
#define DLM_LSFL_NODIR    0x00000001
#define DLM_LSFL_TIMEWARN 0x00000002
#define DLM_LSFL_FS       0x00000004
#define DLM_LSFL_NEWEXCL  0x00000008
#define DLM_LSFL_SOFTIRQ  0x00000010

/* Lock modes */
#define LKM_NLMODE 0 /* null lock */
#define LKM_CRMODE 1 /* concurrent read */
#define LKM_CWMODE 2 /* concurrent write */
#define LKM_PRMODE 3 /* protected read */
#define LKM_PWMODE 4 /* protected write */
#define LKM_EXMODE 5 /* exclusive */

/* Locking flags (the kernel's DLM_LKF_* values) */
#define LKF_NOQUEUE     0x00000001
#define LKF_CANCEL      0x00000002
#define LKF_CONVERT     0x00000004
#define LKF_VALBLK      0x00000008
#define LKF_QUECVT      0x00000010
#define LKF_IVVALBLK    0x00000020
#define LKF_CONVDEADLK  0x00000040
#define LKF_PERSISTENT  0x00000080
#define LKF_NODLCKWT    0x00000100
#define LKF_NODLCKBLK   0x00000200
#define LKF_EXPEDITE    0x00000400
#define LKF_NOQUEUEBAST 0x00000800
#define LKF_HEADQUE     0x00001000
#define LKF_NOORDER     0x00002000
#define LKF_ORPHAN      0x00004000
#define LKF_ALTPR       0x00008000
#define LKF_ALTCW       0x00010000
#define LKF_FORCEUNLOCK 0x00020000
#define LKF_TIMEOUT     0x00040000
#define LKF_WAIT        0x80000000 /* userspace only: synchronous call */

/* Extra status codes used by the DLM (in sb_status, and errno of the _wait calls) */
#define ECANCEL 0x10001 /* a cancel completed */
#define EUNLOCK 0x10002 /* an unlock completed */
#define EINPROG 0x10003 /* the operation is in progress */

typedef void *dlm_lshandle_t;

extern int dlm_kernel_version(uint32_t *maj, uint32_t *min, uint32_t *patch);
extern void dlm_library_version(uint32_t *maj, uint32_t *min, uint32_t *patch);

/* The default lockspace ("default", opened on first use) */
extern int lock_resource(const char *resource, int mode, int flags, int *lockid);
extern int unlock_resource(int lockid);

extern int dlm_lock(uint32_t mode, struct dlm_lksb *lksb, uint32_t flags, const void *name,
                    unsigned int namelen, uint32_t parent, /* unused */
                    void (*astaddr)(void *astarg), void *astarg, void (*bastaddr)(void *astarg),
                    void *range); /* unused */
extern int dlm_unlock(uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb, void *astarg);
extern int dlm_lock_wait(uint32_t mode, struct dlm_lksb *lksb, uint32_t flags, const void *name,
                         unsigned int namelen, uint32_t parent,                        /* unused */
                         void *bastarg, void (*bastaddr)(void *bastarg), void *range); /* unused */
extern int dlm_unlock_wait(uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb);

/* For programs that poll: the fd is readable while ASTs are pending; dlm_dispatch runs them. */
extern int dlm_get_fd(void);
extern int dlm_dispatch(int fd);

/* Lockspaces */
extern dlm_lshandle_t dlm_create_lockspace(const char *name, mode_t mode);
extern dlm_lshandle_t dlm_new_lockspace(const char *name, mode_t mode, uint32_t flags);
extern dlm_lshandle_t dlm_open_lockspace(const char *name);
extern int dlm_close_lockspace(dlm_lshandle_t ls);
extern int dlm_release_lockspace(const char *name, dlm_lshandle_t ls, int force);
extern int dlm_ls_get_fd(dlm_lshandle_t ls);

/* Locking in a lockspace */
extern int dlm_ls_lock(dlm_lshandle_t lockspace, uint32_t mode, struct dlm_lksb *lksb,
                       uint32_t flags, const void *name, unsigned int namelen,
                       uint32_t parent, /* unused */
                       void (*astaddr)(void *astarg), void *astarg, void (*bastaddr)(void *astarg),
                       void *range); /* unused */
extern int dlm_ls_lockx(dlm_lshandle_t lockspace, uint32_t mode, struct dlm_lksb *lksb,
                        uint32_t flags, const void *name, unsigned int namelen,
                        uint32_t parent, /* unused */
                        void (*astaddr)(void *astarg), void *astarg, void (*bastaddr)(void *astarg),
                        uint64_t *xid, uint64_t *timeout);
extern int dlm_ls_unlock(dlm_lshandle_t lockspace, uint32_t lkid, uint32_t flags,
                         struct dlm_lksb *lksb, void *astarg);
extern int dlm_ls_lock_wait(dlm_lshandle_t lockspace, uint32_t mode, struct dlm_lksb *lksb,
                            uint32_t flags, const void *name, unsigned int namelen,
                            uint32_t parent, /* unused */
                            void *bastarg, void (*bastaddr)(void *bastarg),
                            void *range); /* unused */
extern int dlm_ls_unlock_wait(dlm_lshandle_t lockspace, uint32_t lkid, uint32_t flags,
                              struct dlm_lksb *lksb);
extern int dlm_ls_deadlock_cancel(dlm_lshandle_t ls, uint32_t lkid, uint32_t flags);
extern int dlm_ls_purge(dlm_lshandle_t lockspace, int nodeid, int pid);

/* ASTs in a thread of their own (dlm_close_lockspace stops a lockspace's thread) */
extern int dlm_pthread_init(void);
extern int dlm_ls_pthread_init(dlm_lshandle_t lockspace);
extern int dlm_pthread_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif /* __LIBDLM_H */
