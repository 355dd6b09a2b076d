/*
 * verbs/tcp_frame.h - the tcp back end's wire format (pure encode/decode, no I/O).
 *
 * Every frame: a 16-byte little-endian header, then `len` payload bytes.
 *
 *   0  u8  version (TF_VERSION)      4  u32 len      (payload bytes that follow)
 *   1  u8  type (enum tf_type)       8  u32 credits  (receive credits returned to the peer)
 *   2  u16 reserved, must be 0      12  u32 id       (one-sided request/response id, else 0)
 *
 * Payloads (all little-endian):
 *   HELLO      u32 max_msg, u32 recv_depth, hello bytes (<= RT_HELLO_MAX)
 *   HELLO_ACK  u32 max_msg, u32 recv_depth
 *   MSG        application bytes (<= the receiver's max_msg); uses one credit
 *   CREDIT     empty
 *   CAS_REQ    u64 addr, u32 rkey, u32 0, u64 expect, u64 swap
 *   FAA_REQ    u64 addr, u32 rkey, u32 0, u64 add
 *   READ_REQ   u64 addr, u32 rkey, u32 len
 *   WRITE_REQ  u64 addr, u32 rkey, u32 len, len data bytes
 *   RESP       u32 status (enum rt_status), u32 0, u64 old value, READ data bytes
 * tf_check() rejects anything else: that closes the connection as malformed.
 */
#ifndef RDLM_VERBS_TCP_FRAME_H
#define RDLM_VERBS_TCP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define TF_VERSION 1
#define TF_HDR     16u

enum tf_type {
    TF_HELLO = 1,
    TF_HELLO_ACK,
    TF_MSG,
    TF_CREDIT,
    TF_CAS_REQ,
    TF_FAA_REQ,
    TF_READ_REQ,
    TF_WRITE_REQ,
    TF_RESP,
    TF_TYPE_END,
};

struct tf_hdr {
    uint8_t version;
    uint8_t type;
    uint16_t reserved;
    uint32_t len;
    uint32_t credits;
    uint32_t id;
};

/* A one-sided request as carried by *_REQ frames. */
struct tf_req {
    uint64_t addr;
    uint32_t rkey;
    uint32_t len;        /* READ/WRITE */
    uint64_t a, b;       /* CAS expect/swap, FAA add */
    const uint8_t *data; /* WRITE */
};

struct tf_resp {
    uint32_t status;
    uint64_t old;
    const uint8_t *data;
    uint32_t data_len;
};

void tf_put32(uint8_t *p, uint32_t v);
void tf_put64(uint8_t *p, uint64_t v);
uint32_t tf_get32(const uint8_t *p);
uint64_t tf_get64(const uint8_t *p);

void tf_hdr_encode(uint8_t out[TF_HDR], const struct tf_hdr *h);
void tf_hdr_decode(const uint8_t in[TF_HDR], struct tf_hdr *h);
/* 0 if the header is acceptable for a receiver whose messages are at most max_msg. */
int tf_check(const struct tf_hdr *h, uint32_t max_msg);
/* Size of the fixed part of a request payload; WRITE adds its data. */
uint32_t tf_req_fixed(enum tf_type t);
/* Encode a request payload into out (tf_req_fixed(t) bytes, data not included). */
void tf_req_encode(uint8_t *out, enum tf_type t, const struct tf_req *r);
/* Decode a checked request payload; -1 if its inner lengths disagree with the header. */
int tf_req_decode(const uint8_t *p, const struct tf_hdr *h, struct tf_req *r);
void tf_resp_decode(const uint8_t *p, const struct tf_hdr *h, struct tf_resp *r);

#endif
