/*
 * verbs/tcp_frame.c - encode, decode and validate tcp back-end frames (see tcp_frame.h).
 *
 * Pure functions: the connection code (tcp_conn.c) reads bytes, calls tf_hdr_decode and
 * tf_check on every header before trusting its length, and decodes payloads only after the
 * whole frame has arrived.
 */
#include "verbs/tcp_frame.h"
#include "verbs/transport.h"

void tf_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void tf_put64(uint8_t *p, uint64_t v)
{
    tf_put32(p, (uint32_t)v);
    tf_put32(p + 4, (uint32_t)(v >> 32));
}

uint32_t tf_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t tf_get64(const uint8_t *p)
{
    return (uint64_t)tf_get32(p) | (uint64_t)tf_get32(p + 4) << 32;
}

void tf_hdr_encode(uint8_t out[TF_HDR], const struct tf_hdr *h)
{
    out[0] = h->version;
    out[1] = h->type;
    out[2] = (uint8_t)h->reserved;
    out[3] = (uint8_t)(h->reserved >> 8);
    tf_put32(out + 4, h->len);
    tf_put32(out + 8, h->credits);
    tf_put32(out + 12, h->id);
}

void tf_hdr_decode(const uint8_t in[TF_HDR], struct tf_hdr *h)
{
    h->version = in[0];
    h->type = in[1];
    h->reserved = (uint16_t)(in[2] | in[3] << 8);
    h->len = tf_get32(in + 4);
    h->credits = tf_get32(in + 8);
    h->id = tf_get32(in + 12);
}

uint32_t tf_req_fixed(enum tf_type t)
{
    switch (t) {
    case TF_CAS_REQ:
        return 32;
    case TF_FAA_REQ:
        return 24;
    case TF_READ_REQ:
    case TF_WRITE_REQ:
        return 16;
    default:
        return 0;
    }
}

int tf_check(const struct tf_hdr *h, uint32_t max_msg)
{
    if (h->version != TF_VERSION || h->reserved != 0)
        return -1;
    switch (h->type) {
    case TF_HELLO:
        return h->len >= 8 && h->len <= 8 + RT_HELLO_MAX ? 0 : -1;
    case TF_HELLO_ACK:
        return h->len == 8 ? 0 : -1;
    case TF_MSG:
        return h->len <= max_msg ? 0 : -1;
    case TF_CREDIT:
        return h->len == 0 ? 0 : -1;
    case TF_CAS_REQ:
    case TF_FAA_REQ:
    case TF_READ_REQ:
        return h->len == tf_req_fixed(h->type) ? 0 : -1;
    case TF_WRITE_REQ:
        return h->len > 16 && h->len <= 16 + RT_ONESIDED_MAX ? 0 : -1;
    case TF_RESP:
        return h->len >= 16 && h->len <= 16 + RT_ONESIDED_MAX ? 0 : -1;
    default:
        return -1;
    }
}

void tf_req_encode(uint8_t *out, enum tf_type t, const struct tf_req *r)
{
    tf_put64(out, r->addr);
    tf_put32(out + 8, r->rkey);
    tf_put32(out + 12, (t == TF_READ_REQ || t == TF_WRITE_REQ) ? r->len : 0);
    if (t == TF_CAS_REQ || t == TF_FAA_REQ)
        tf_put64(out + 16, r->a);
    if (t == TF_CAS_REQ)
        tf_put64(out + 24, r->b);
}

int tf_req_decode(const uint8_t *p, const struct tf_hdr *h, struct tf_req *r)
{
    r->addr = tf_get64(p);
    r->rkey = tf_get32(p + 8);
    r->len = tf_get32(p + 12);
    r->a = r->b = 0;
    r->data = NULL;
    switch (h->type) {
    case TF_CAS_REQ:
        r->b = tf_get64(p + 24);
        /* fall through */
    case TF_FAA_REQ:
        r->a = tf_get64(p + 16);
        if (r->len != 0)
            return -1;
        r->len = 8;
        return 0;
    case TF_READ_REQ:
        return r->len >= 1 && r->len <= RT_ONESIDED_MAX ? 0 : -1;
    case TF_WRITE_REQ:
        r->data = p + 16;
        return r->len == h->len - 16 ? 0 : -1;
    default:
        return -1;
    }
}

void tf_resp_decode(const uint8_t *p, const struct tf_hdr *h, struct tf_resp *r)
{
    r->status = tf_get32(p);
    r->old = tf_get64(p + 8);
    r->data = p + 16;
    r->data_len = h->len - 16;
}
