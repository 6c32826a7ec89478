/* stats.c - the engine's counters for hexrun_stats (table mutex held). */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

/* A job op's endpoint in hex.h's catalogue; NULL for a direct call (it names its own). */
const hexrun__hex_endpoint *op_hex_endpoint(const op *o)
{
    switch (o->kind) {
    case OP_SUBMIT:
        return hexrun__hex_endpoint_of(HEXRUN__EP_RUN_PROJECT);
    case OP_POLL:
        return hexrun__hex_endpoint_of(HEXRUN__EP_GET_RUN_STATUS);
    case OP_CANCEL:
        return hexrun__hex_endpoint_of(HEXRUN__EP_CANCEL_RUN);
    case OP_PROJECT_POLL:
    case OP_ADOPT:
        return hexrun__hex_endpoint_of(HEXRUN__EP_GET_PROJECT_RUNS);
    case OP_DIRECT:
        break;
    }
    return NULL;
}

const char *op_endpoint(const op *o)
{
    const hexrun__hex_endpoint *ep = op_hex_endpoint(o);
    return ep ? ep->operation : o->direct.call->endpoint;
}

void stats_count(hexrun__engine *e, const op *o, const hexrun__http_resp *r)
{
    const char *ep = op_endpoint(o);
    e->bytes_sent += r->bytes_sent;
    e->bytes_received += r->bytes_received;
    if (r->status == 429)
        e->rate_limited++;
    if (r->error != HEXRUN_OK)
        e->transport_errors++;
    for (size_t i = 0; i < e->n_stats; i++) {
        if (e->stats[i].status == r->status && strcmp(e->stats[i].endpoint, ep) == 0) {
            e->stats[i].count++;
            return;
        }
    }
    if (e->n_stats < MAX_STATS)
        e->stats[e->n_stats++] = (stat_row){ep, r->status, 1};
}

static void stats_endpoints(const hexrun__engine *e, hexrun__buf *b)
{
    hexrun__buf_appends(b, "\"requests\":{");
    int first_ep = 1;
    for (size_t i = 0; i < e->n_stats; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(e->stats[j].endpoint, e->stats[i].endpoint) == 0;
        if (seen)
            continue;
        hexrun__buf_appends(b, first_ep ? "" : ",");
        first_ep = 0;
        hexrun__buf_append_json_str(b, e->stats[i].endpoint);
        hexrun__buf_appends(b, ":{");
        int first = 1;
        for (size_t j = i; j < e->n_stats; j++) {
            if (strcmp(e->stats[j].endpoint, e->stats[i].endpoint) != 0)
                continue;
            /* Status 0: the attempt ended without an HTTP answer. */
            hexrun__buf_appendf(b, "%s\"%d\":%llu", first ? "" : ",", e->stats[j].status,
                                (unsigned long long)e->stats[j].count);
            first = 0;
        }
        hexrun__buf_appends(b, "}");
    }
    hexrun__buf_appends(b, "}");
}

char *hexrun__engine_stats_json(const hexrun__engine *e)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appends(&b, "{");
    stats_endpoints(e, &b);
    hexrun__buf_appendf(&b,
                        ",\"retries\":%llu,\"rate_limited\":%llu,\"transport_errors\":%llu,"
                        "\"bytes_sent\":%llu,\"bytes_received\":%llu,\"poll_groups\":%lld,"
                        "\"sweep_period_ms\":%lld,\"board_reads\":%lld,\"jobs\":{",
                        (unsigned long long)e->retries, (unsigned long long)e->rate_limited,
                        (unsigned long long)e->transport_errors, (unsigned long long)e->bytes_sent,
                        (unsigned long long)e->bytes_received, (long long)e->stat_poll_groups,
                        (long long)e->stat_sweep_ms, (long long)e->board_reads);
    for (int32_t s = 0; hexrun_state_is_terminal(s) >= 0; s++) {
        size_t n = 0;
        for (size_t i = 0; i < e->jobs->n; i++)
            n += e->jobs->items[i]->state == s;
        hexrun__buf_appendf(&b, "%s\"%s\":%zu", s ? "," : "", hexrun_state_name(s), n);
    }
    hexrun__buf_appends(&b, "}}");
    return hexrun__buf_steal(&b);
}
