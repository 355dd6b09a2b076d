/*
 * tests/promela/rdlm.pml - a Promela model of rdlm's fast/slow lock protocol
 * (docs/protocol.md sections 2 and 4; docs/model-checking.md explains it).
 *
 * One master, N clients (2 or 3), one resource, modes {CR, PR, EX}. Each client does NOPS
 * lock / convert / unlock operations (chosen nondeterministically), then releases what it
 * holds, then stays to answer CONTENDED. Every operation may take the fast path (one-sided
 * CAS on the lock word, at most RETRIES retries) or the two-sided path (REQUEST/CONVERT/UNLOCK
 * messages), chosen nondeterministically, which covers every reason a real client has to go
 * two-sided (flags, stale cache, exhausted retries).
 *
 * Compile-time switches (spin -D...):
 *   N=2|3        clients                      NOPS=k     operations per client
 *   WARM         clients start with the slot cached (word 0) and in the interest set;
 *                otherwise their first operation is the two-sided first use
 *   NOQ          let requests carry NOQUEUE (client-side NOTQUEUED included)
 *   DEATH        client 0 may die at any moment (its connection drops after what it posted);
 *                the master handles the drop with the fix described in
 *                docs/model-checking.md; DEATH_LITERAL: as docs/protocol.md says it (fails)
 *   COVER=bits   non-vacuity: reaching any of the C_* events is an assertion failure
 *   MUT_*        deliberately broken protocols; spin must find a violation in each
 *   TRUST_REPORTS, ONLY_MUTEX   (for the mutants) a master that believes the hold reports and
 *                only the clients' mutual exclusion checked: shows what a mutant really breaks
 */

#ifndef N
#define N 3
#endif
#ifndef NOPS
#define NOPS 2
#endif
#define RETRIES 3

/* ---- modes: 0 = none; CR < PR < EX in strength ---- */
#define CR 1
#define PR 2
#define EX 3
/* compatibility of two modes (0 = no lock: compatible with everything) */
#define COMPAT(a, b) ((a) == 0 || (b) == 0 || ((a) != EX && (b) != EX))

/* ---- the lock word: | SLOW:1 | EX:2 | PR:2 | CR:2 |   (gen omitted: one slot, never reused) */
#define SLOWB 64
#define NOC 255 /* client: no cached word (first use pending) */
#define ISSLOW(w) (((w) & SLOWB) != 0)
#define CRC(w) ((w) & 3)
#define PRC(w) (((w) >> 2) & 3)
#define EXC(w) (((w) >> 4) & 3)
#define CNT(w, md) ((md) == CR -> CRC(w) : ((md) == PR -> PRC(w) : ((md) == EX -> EXC(w) : 1)))
#define ONE(md) ((md) == CR -> 1 : ((md) == PR -> 4 : ((md) == EX -> 16 : 0)))
#define COUNTS(w) ((w) & 63)
/* counts of mode h in w other than one lock of own mode (own = 0: a new request) */
#define NOTHER(w, h, own) (CNT(w, h) - ((own) == (h) -> 1 : 0))
/* docs/protocol.md invariant 3: md compatible with every counted mode but its own */
#define GRANTABLE(w, md, own) \
    ((NOTHER(w, CR, own) <= 0 || COMPAT(CR, md)) && \
     (NOTHER(w, PR, own) <= 0 || COMPAT(PR, md)) && \
     (NOTHER(w, EX, own) <= 0 || COMPAT(EX, md)))
/* the client's new word for an operation from grmode g to mode md (md = 0: unlock) */
#define NEWW(w, g, md) ((w) - ONE(g) + ONE(md))
/* can the client compute a new word from w at all (its own lock counted) and is it grantable */
#define OKOP(w, g, md) (((g) == 0 || CNT(w, g) > 0) && GRANTABLE(w, md, g))

mtype = { LOCK, CONV, UNLOCK, REPORT, DISC, COMPLETE, CONTENDED };
/* completion status */
#define ST_OK 0
#define ST_NOTQ 1
#define ST_DEADLK 2

/* client operation state (pend[]) */
#define NONE 0
#define FASTOP 1  /* fast path: next step is a CAS */
#define TWO 2     /* two-sided: waiting for COMPLETE */
#define CASDONE 3 /* MUT_NO_CTXLOCK only: CAS executed, result not yet recorded */

/* master state of the resource */
#define FAST 0
#define TRANS 1
#define SLOW 2

/* ---- shared state ---- */
byte word = 0;                 /* the lock word in the master's registered memory */
byte mstate = FAST;
#ifdef DEATH
#define CAPC 3 /* ... and the connection's end (DISC) */
#else
#define CAPC 2 /* one operation and one HOLD_REPORT at most */
#endif
chan c2m[N] = [CAPC] of { mtype, byte, byte, bit }; /* kind, mode (REPORT: held mode), grmode, NOQUEUE */
chan m2c[N] = [2] of { mtype, byte, byte, byte }; /* kind, status, resulting mode, word */

/* master: engine records (SLOW), queues, interest set, transition */
byte rec[3];                   /* granted mode of client j's lock in the engine (0: none) */
byte rqm[3];                   /* requested mode of j's queued request */
bit inconv[3];                 /* j is on the convert queue */
byte cq[3]; byte cql = 0;      /* convert queue (FIFO) */
byte wq[3]; byte wql = 0;      /* wait queue (FIFO) */
byte interest = 0;             /* interest set (bit j) */
byte waitrep = 0;              /* clients whose HOLD_REPORT the transition still waits for */
byte gone = 0;                 /* clients whose connection the master has seen drop (DEATH) */
chan parked = [N] of { byte, mtype, byte, byte, bit };

/* ghosts */
byte granted[3];               /* the mode client j's lock is granted in, in the system (set at
                                  the instant the word/engine grants or releases it) */
byte access[3];                /* the mode client j's application may rely on (set at issue of a
                                  release/downconversion and at completion of a grant) */
byte pend[3];                  /* client operation state */
byte finished = 0;

/* coverage (non-vacuity): with -DCOVER=<bits>, reaching any of those events is an assertion
   failure, which check.sh expects: it proves the model does reach them */
#define C_TRANS2 1        /* a second SLOW transition, after a return to FAST */
#define C_FASTHELD 2      /* a return to FAST with locks still granted */
#define C_PARKUNLOCK 4    /* an UNLOCK parked during a transition */
#define C_CASAFTER 8      /* a fast-path CAS succeeds after a return to FAST */
#define C_NOREC 16        /* FAST, after a SLOW epoch: an UNLOCK/CONVERT served from the grmode */
#define C_DEADLK 32       /* a conversion deadlock resolved */
#define C_CASSLOW 64      /* a CAS fails because the word went SLOW under it */
#define C_NOTQLOCAL 128   /* client-side NOTQUEUED from the CAS-returned word */
#ifdef COVER
byte seen = 0;
bit seen_fast = 0;             /* the resource has returned SLOW -> FAST at least once */
#define SEE(b) seen = seen | (b)
#define SEEIF(c, b) if :: (c) -> SEE(b) :: else fi
#define SETFAST seen_fast = 1
#define COVERED assert((seen & COVER) == 0)
#else
#define SEE(b) skip
#define SEEIF(c, b) skip
#define SETFAST skip
#define COVERED skip
#endif

/* ---- invariants, checked at the end of every atomic step (all state changes are in one) ---- */
#define PAIRC(x, a, b) COMPAT(x[a], x[b])
#define MUTEX(x) (PAIRC(x, 0, 1) && PAIRC(x, 0, 2) && PAIRC(x, 1, 2))
#define SUMONE(x) (ONE(x[0]) + ONE(x[1]) + ONE(x[2]))
/* (1) mutual exclusion, on what the system granted and on what the clients believe */
#define INV_MUTEX (MUTEX(granted) && MUTEX(access) && \
                   access[0] <= granted[0] && access[1] <= granted[1] && access[2] <= granted[2])
/* (2) invariant 1: the counts equal the granted locks per mode */
#define INV_COUNTS (COUNTS(word) == SUMONE(granted))
/* (3) invariant 2: SLOW clear => queues empty (and SLOW clear exactly when FAST) */
#define INV_SLOW ((ISSLOW(word) || (cql == 0 && wql == 0)) && (ISSLOW(word) == (mstate != FAST)))
/* engine records are exact while SLOW */
#define INV_REC (mstate != SLOW || (rec[0] == granted[0] && rec[1] == granted[1] && rec[2] == granted[2]))
#ifdef ONLY_MUTEX
/* for the mutants: is mutual exclusion itself broken, among what the clients believe they
   hold (not only a bookkeeping check)? Bookkeeping assertions (BOOK) are off. */
#define CHECK assert(MUTEX(access)); COVERED
#define BOOK(x) skip
#else
#define CHECK assert(INV_MUTEX); assert(INV_COUNTS); assert(INV_SLOW); assert(INV_REC); COVERED
#define BOOK(x) assert(x)
#endif

/* ====================================================================================== */
/* master                                                                                  */
/* ====================================================================================== */

inline complete(j, st, md) {
    assert(len(m2c[j]) < 2);
    m2c[j]!COMPLETE, st, md, word;
    if   /* first use: the COMPLETE carries the slot */
    :: !(gone & (1 << j)) -> interest = interest | (1 << j)
    :: else
    fi
}

/* SLOW: the word's counts are rewritten from the engine after every engine operation */
inline rewrite() {
    word = SLOWB + SUMONE(rec)
}

inline deqc() {
    cq[0] = cq[1]; cq[1] = cq[2]; cq[2] = 0; cql--
}

inline deqw() {
    wq[0] = wq[1]; wq[1] = wq[2]; wq[2] = 0; wql--
}

/* may j's queued/new request for rqm[j] be granted against the other granted locks */
#define RGRANT(j, md) ((j == 0 || COMPAT(rec[0], md)) && (j == 1 || COMPAT(rec[1], md)) && \
                       (j == 2 || COMPAT(rec[2], md)))
/* conversion deadlock at the head h of the convert queue: every lock blocking it belongs
   to a client whose conversion is queued too */
#define BLK(j, h) ((j) != (h) && !COMPAT(rec[j], rqm[h]))
#define CONVDL(h) ((!BLK(0, h) || inconv[0]) && (!BLK(1, h) || inconv[1]) && (!BLK(2, h) || inconv[2]))

/* grant what can be granted: convert queue first (FIFO), then, when it is empty, the wait queue */
inline grantpass() {
    do
    :: cql > 0 && RGRANT(cq[0], rqm[cq[0]]) ->
        gj = cq[0]; deqc(); inconv[gj] = 0;
        rec[gj] = rqm[gj]; granted[gj] = rqm[gj]; rewrite(); complete(gj, ST_OK, rqm[gj])
    :: cql > 0 && !RGRANT(cq[0], rqm[cq[0]]) && CONVDL(cq[0]) ->
        /* conversion deadlock: deny the head's conversion (it keeps its granted mode) */
        gj = cq[0]; deqc(); inconv[gj] = 0;
        SEE(C_DEADLK);
        complete(gj, ST_DEADLK, rec[gj])
    :: cql == 0 && wql > 0 && RGRANT(wq[0], rqm[wq[0]]) ->
        gj = wq[0]; deqw();
        rec[gj] = rqm[gj]; granted[gj] = rqm[gj]; rewrite(); complete(gj, ST_OK, rqm[gj])
    :: else -> break
    od
}

#ifdef TRUST_REPORTS
/* for the mutants: a lock the engine has no record of is taken at the client's grmode */
#define ADOPT if :: rec[i] != g -> rec[i] = g :: else fi
#else
#define ADOPT skip
#endif

/* SLOW: one operation through the engine (VMS rules, FIFO queues) */
inline engine_op() {
    if
    :: k == LOCK ->
        assert(rec[i] == 0);
        if
        :: cql == 0 && wql == 0 && RGRANT(i, m) ->
            rec[i] = m; granted[i] = m; rewrite(); complete(i, ST_OK, m)
        :: else ->
            if
            :: q -> complete(i, ST_NOTQ, 0)
            :: else -> rqm[i] = m; wq[wql] = i; wql++
            fi
        fi
    :: k == CONV ->
        /* the master holds a record of every lock while SLOW (installed from the reports) */
        ADOPT;
        assert(g != 0 && rec[i] == g);
        if
        :: (cql == 0 || m < g) && RGRANT(i, m) ->
            rec[i] = m; granted[i] = m; rewrite(); complete(i, ST_OK, m)
        :: else ->
            if
            :: q -> complete(i, ST_NOTQ, g)
            :: else -> rqm[i] = m; cq[cql] = i; cql++; inconv[i] = 1
            fi
        fi
    :: k == UNLOCK ->
        ADOPT;
        assert(g != 0 && rec[i] == g);
        rec[i] = 0; granted[i] = 0; rewrite(); complete(i, ST_OK, 0)
    :: k == REPORT ->
        assert(false) /* a HOLD_REPORT outside a transition */
    fi;
    grantpass()
}

inline engine() {
    if
    :: (gone & (1 << i)) && k != LOCK && rec[i] != g ->
        skip /* DEATH: an operation of a dead client on a lock purged with it: dropped */
    :: else -> engine_op()
    fi
}

/* step 5: every interest-set client has answered: install, check, run the parked requests */
inline install() {
#ifdef TRUST_REPORTS
    /* for the mutants: believe the reports (a surplus would be purged as ghost locks, a
       deficit cannot be explained): the counts follow the engine from now on */
    rewrite();
#else
#ifdef DEATH
    /* a surplus over the reports is attributed to the clients that left: ghost locks, purged
       with their owners (the ghost 'granted' of a client that left and did not report) */
    gj = 0; sur = 0;
    do
    :: gj < N ->
        if
        :: (gone & (1 << gj)) && rec[gj] == 0 -> sur = sur + ONE(granted[gj]); granted[gj] = 0
        :: else
        fi;
        gj++
    :: else -> break
    od;
    assert(COUNTS(word) == SUMONE(rec) + sur);
    rewrite();
#endif
    /* the reports add up to the counts, lock by lock (no client left in this model) */
    assert(COUNTS(word) == SUMONE(rec));
    assert(rec[0] == granted[0] && rec[1] == granted[1] && rec[2] == granted[2]);
#endif
    mstate = SLOW;
    do
    :: parked?i, k, m, g, q -> engine()
    :: empty(parked) -> break
    od
}

/* steps 1-3: SLOW set, TRANSITION, CONTENDED to the interest set */
inline transition() {
    BOOK(!ISSLOW(word));
    word = word | SLOWB;
    mstate = TRANS;
    SEEIF(seen_fast, C_TRANS2);
    rec[0] = 0; rec[1] = 0; rec[2] = 0;
    waitrep = interest;
    parked!i, k, m, g, q;
    gj = 0;
    do
    :: gj < N ->
        if
        :: waitrep & (1 << gj) -> assert(len(m2c[gj]) < 2); m2c[gj]!CONTENDED, 0, 0, 0
        :: else
        fi;
        gj++
    :: else -> break
    od;
    if
    :: waitrep == 0 -> install()
    :: else
    fi
}

/* FAST: a two-sided operation is served from the counts; no record is kept */
#ifdef TRUST_REPORTS
#define SUBW(w, g) (CNT(w, g) > 0 -> (w) - ONE(g) : (w)) /* mutants: counts may be wrong */
#else
#define SUBW(w, g) ((w) - ONE(g))
#endif
inline fast2s() {
    if
    :: k == REPORT ->
#ifdef MUT_EARLY_INSTALL
        skip /* a late report, after the resource went FAST again */
#else
        assert(false)
#endif
    :: k == UNLOCK ->
        /* no record: the client's grmode from the message */
        BOOK(g != 0 && granted[i] == g && CNT(word, g) > 0);
        SEEIF(seen_fast, C_NOREC);
        word = SUBW(word, g); granted[i] = 0; complete(i, ST_OK, 0)
    :: k == LOCK || k == CONV ->
        BOOK(k == LOCK || (g != 0 && granted[i] == g && CNT(word, g) > 0));
        if
        :: GRANTABLE(word, m, g) ->
            word = SUBW(word, g) + ONE(m); granted[i] = m; complete(i, ST_OK, m)
        :: else ->
            if
            :: q -> complete(i, ST_NOTQ, g)
            :: else -> transition() /* must queue: go SLOW */
            fi
        fi
    fi
}

/* remove client i from the queues (its connection dropped) */
inline rmq() {
    gj = 0;
    do
    :: gj < cql && cq[gj] == i ->
        if :: gj == 0 -> cq[0] = cq[1]; cq[1] = cq[2] :: gj == 1 -> cq[1] = cq[2] :: else fi;
        cq[2] = 0; cql--
    :: gj < cql && cq[gj] != i -> gj++
    :: else -> break
    od;
    gj = 0;
    do
    :: gj < wql && wq[gj] == i ->
        if :: gj == 0 -> wq[0] = wq[1]; wq[1] = wq[2] :: gj == 1 -> wq[1] = wq[2] :: else fi;
        wq[2] = 0; wql--
    :: gj < wql && wq[gj] != i -> gj++
    :: else -> break
    od;
    inconv[i] = 0; rqm[i] = 0
}

/* client death (DEATH): the connection of client i dropped; its messages before that are in */
inline disconnect() {
    gone = gone | (1 << i);
    interest = interest & ~(1 << i);   /* dropped from the interest set */
    if
    :: mstate == FAST -> skip          /* its fast-path locks: surplus at the next transition */
    :: mstate == TRANS ->
        waitrep = waitrep & ~(1 << i);  /* no longer waited for */
#ifndef DEATH_LITERAL
        /* FIX (docs/protocol.md as written lacks it): forget its report, so that its locks are
           the surplus of step 5 and purged as ghosts, and its parked operations */
        rec[i] = 0;
        gj = len(parked);
#ifdef DEATH_KEEP_PARKED
        gj = 0; /* half the fix: the report is forgotten, the parked operations are kept */
#endif
        do
        :: gj > 0 -> parked?sj, k, m, g, q; if :: sj != i -> parked!sj, k, m, g, q :: else fi; gj--
        :: else -> break
        od;
#endif
        if
        :: waitrep == 0 -> install()
        :: else
        fi
    :: mstate == SLOW ->               /* eng_purge_owner */
        rmq(); rec[i] = 0; granted[i] = 0; rewrite(); grantpass()
    fi
}

inline handle() {
    if
    :: k == DISC -> disconnect()
    :: k != DISC && mstate == FAST -> fast2s()
    :: k != DISC && mstate == TRANS ->
        if
        :: k == REPORT ->
            assert(waitrep & (1 << i));
            rec[i] = m;
            waitrep = waitrep & ~(1 << i);
#ifdef MUT_EARLY_INSTALL
            /* MUTANT: install as soon as any report is in */
            install()
#else
            if
            :: waitrep == 0 -> install()
            :: else
            fi
#endif
#ifdef MUT_NO_PARK_UNLOCK
        /* MUTANT: an UNLOCK during the transition is served at once from the grmode */
        :: k == UNLOCK ->
            word = word - ONE(g); granted[i] = 0; complete(i, ST_OK, 0)
#endif
        :: else ->
            SEEIF(k == UNLOCK, C_PARKUNLOCK);
            parked!i, k, m, g, q /* step 2: parked, in arrival order */
        fi
    :: k != DISC && mstate == SLOW ->
#ifdef MUT_EARLY_INSTALL
        if
        :: k == REPORT -> rec[i] = m /* late report */
        :: else -> engine()
        fi
#else
        engine()
#endif
    fi
}

/* SLOW -> FAST: both queues empty (every lock is plain here): clear SLOW, forget the records */
inline gofast() {
    BOOK(ISSLOW(word));
    word = word & ~SLOWB;
    SEEIF(COUNTS(word) != 0, C_FASTHELD);
    SETFAST;
    rec[0] = 0; rec[1] = 0; rec[2] = 0;
    mstate = FAST
}

#ifdef MUT_FAST_WITH_WAITERS
#define GOFAST_OK (mstate == SLOW && cql == 0) /* MUTANT: waiters may still be queued */
#else
#define GOFAST_OK (mstate == SLOW && cql == 0 && wql == 0)
#endif

/* dead local values are cleared so that they do not split states */
#define MRESET i = 0; k = 0; m = 0; g = 0; q = 0; gj = 0; sj = 0; sur = 0

active proctype Master() {
    byte i, m, g, gj, sj, sur;
    mtype k;
    bit q;
end:
    do
    :: atomic {
        if
        :: c2m[0]?k, m, g, q -> i = 0
        :: c2m[1]?k, m, g, q -> i = 1
#if N > 2
        :: c2m[2]?k, m, g, q -> i = 2
#endif
        fi;
        handle(); MRESET; CHECK
       }
    :: atomic { GOFAST_OK -> gofast(); CHECK }
    od
}

/* ====================================================================================== */
/* clients                                                                                 */
/* ====================================================================================== */

/* go two-sided: the message is posted after every earlier CAS of this client */
inline send2s() {
    assert(len(c2m[me]) < CAPC);
    c2m[me]!k, m, gm, q;
    pend[me] = TWO; tries = 0; exp = 0
}

/* record a completed operation */
inline done(md) {
    gm = md; access[me] = md; pend[me] = NONE; cpl++;
    assert(cpl == req);
    BOOK(granted[me] == md);
    k = 0; m = 0; q = 0; tries = 0; exp = 0
}

#ifdef NOQ
#define PICKQ if :: q = 0 :: q = 1 fi
#else
#define PICKQ q = 0
#endif

#ifdef MUT_CAS_SLOW
#define CLIENT_SEES_SLOW(w) false /* MUTANT: the client ignores SLOW in its cached word */
#else
#define CLIENT_SEES_SLOW(w) ISSLOW(w)
#endif

proctype Client(byte me) {
#ifdef WARM
    byte w = 0;
#else
    byte w = NOC;
#endif
    byte gm = 0;     /* mode the client holds granted, as it knows it (what it reports) */
    byte exp = 0;    /* fast path: the expected value of the next CAS (SLOW clear) */
    byte ops = 0, m = 0, tries = 0, st, rm, rw, req = 0, cpl = 0;
    mtype k, rk;
    bit q = 0;

    do
    /* start an operation */
    :: atomic {
        pend[me] == NONE && (ops < NOPS || gm != 0) ->
        if
        :: ops < NOPS ->
            ops++;
            if
            :: gm == 0 -> k = LOCK; if :: m = CR :: m = PR :: m = EX fi; PICKQ
            :: gm != 0 -> k = UNLOCK; m = 0; q = 0
            :: gm != 0 -> k = CONV; PICKQ;
                if
                :: gm != CR -> m = CR
                :: gm != PR -> m = PR
                :: gm != EX -> m = EX
                fi
            fi
        :: else -> k = UNLOCK; m = 0; q = 0 /* release what is left */
        fi;
        req++;
        /* the application stops relying on what it is giving up when it asks */
        access[me] = (m < gm -> m : gm);
        if
        :: w != NOC && !CLIENT_SEES_SLOW(w) && OKOP(w, gm, m) -> pend[me] = FASTOP; tries = 0; exp = w
        :: true -> send2s()
        fi;
        CHECK
       }
    /* fast path: one CAS (executed at the master when posted, so before any later message) */
    :: atomic {
        pend[me] == FASTOP ->
        if
        :: word == exp ->
            /* (5) no CAS ever succeeds on a SLOW word */
            BOOK(!ISSLOW(word));
            word = NEWW(exp, gm, m);
            granted[me] = m;
            w = word;
            SEEIF(seen_fast, C_CASAFTER);
#ifdef MUT_NO_CTXLOCK
            pend[me] = CASDONE
#else
            done(m)
#endif
        :: else ->
            /* failed: the returned word replaces the cached one and is the next expected value */
            w = word; exp = word; tries++;
            SEEIF(ISSLOW(word), C_CASSLOW);
            if
            :: CLIENT_SEES_SLOW(exp) -> send2s()
            :: !CLIENT_SEES_SLOW(exp) && !OKOP(exp, gm, m) && q && k != UNLOCK ->
                /* NOQUEUE, not grantable: NOTQUEUED at once; the returned word proves it */
                assert(!GRANTABLE(word, m, gm));
                SEE(C_NOTQLOCAL);
                done(gm)
            :: !CLIENT_SEES_SLOW(exp) && !OKOP(exp, gm, m) && !(q && k != UNLOCK) -> send2s()
            :: !CLIENT_SEES_SLOW(exp) && OKOP(exp, gm, m) && tries > RETRIES -> send2s()
            :: !CLIENT_SEES_SLOW(exp) && OKOP(exp, gm, m) && tries <= RETRIES -> skip /* retry */
            fi
        fi;
        CHECK
       }
#ifdef MUT_NO_CTXLOCK
    /* MUTANT: the CAS result is recorded in a later step, and CONTENDED may come between */
    :: atomic { pend[me] == CASDONE -> done(m); CHECK }
#endif
    /* messages from the master */
    :: atomic {
        m2c[me]?rk, st, rm, rw ->
        if
        :: rk == COMPLETE ->
            /* (4) exactly one completion per request */
            assert(pend[me] == TWO);
            w = rw;
            done(rm)
        :: rk == CONTENDED ->
            /* under the context lock: no CAS of this client is in flight */
            if
            :: w != NOC -> w = w | SLOWB
            :: else
            fi;
            assert(len(c2m[me]) < CAPC);
#ifdef MUT_REPORT_NO_PENDING
            /* MUTANT: a lock whose UNLOCK or CONVERT is in flight is not reported */
            c2m[me]!REPORT, (pend[me] == TWO && k != LOCK -> 0 : gm), 0, 0
#else
            c2m[me]!REPORT, gm, 0, 0
#endif
        fi;
        rk = 0; st = 0; rm = 0; rw = 0;
        CHECK
       }
    :: atomic { pend[me] == NONE && ops >= NOPS && gm == 0 -> break }
#ifdef DEATH
    /* client 0 may die at any moment: its connection drops after its posted messages */
    :: atomic { me == 0 -> c2m[me]!DISC, 0, 0, 0; access[me] = 0; pend[me] = NONE; goto died }
#endif
    od;
    assert(req == cpl && access[me] == 0);
    BOOK(granted[me] == 0);
    finished++;
end_idle:
    do
    :: atomic { m2c[me]?CONTENDED, st, rm, rw -> assert(len(c2m[me]) < CAPC); c2m[me]!REPORT, 0, 0, 0;
                st = 0; rm = 0; rw = 0 }
    od;
died:
    finished++;
end_dead:   /* messages to a dead process are lost */
    do
    :: atomic { m2c[me]?rk, st, rm, rw -> rk = 0; st = 0; rm = 0; rw = 0 }
    od
}

init {
    byte c = 0;
    atomic {
#ifdef WARM
        interest = (1 << N) - 1;
#endif
        do
        :: c < N -> run Client(c); c++
        :: else -> break
        od
    }
}

/* liveness (checked with ./pan -a -N <name>): every client finishes every operation */
ltl finish { <> (finished == N) }
ltl respond0 { [] ((pend[0] != NONE) -> <> (pend[0] == NONE)) }
