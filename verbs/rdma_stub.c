#include "verbs/rt_internal.h"
#include <errno.h>
static int c(const struct rt_config *cfg, rt_ctx **out)
{
    (void)cfg;
    (void)out;
    return -ENODEV;
}
const struct rt_ops rt_rdma_ops = {.name = "rdma", .ctx_create = c};
int rt_rdma_available(char *why, size_t n)
{
    (void)why;
    (void)n;
    return 0;
}
