/* tests/test_plan.c - capacity planning (src/plan): cost accounting computed
 * by hand, validation errors with JSON paths, shocks, the options search,
 * determinism across runs and thread counts, the writers. */
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>

#include "allot/plan.h"
#include "allot/report.h"
#include "allot/serve.h"

/* ---- helpers ------------------------------------------------------------------- */

#define FLAT24 "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]"

/* 2 nodes of 8 H100 in dc1 */
#define FLEET16                                                                                    \
    "\"fleet\": {\"name\": \"f\", \"nodes\": [{\"name\": \"h\", \"count\": 2, \"chip\": "          \
    "\"H100\", \"devices\": 8, \"cpu_milli\": 192000, \"memory_mib\": 2097152, \"zone\": "         \
    "\"dc1\"}]}"

#define COSTS                                                                                      \
    "\"costs\": {\"electricity_price\": 0.1, \"pue\": 1.5, \"idle_power_fraction\": 1, "           \
    "\"dc_cost_per_mw_year\": 1200000, \"depreciation_years\": 2, \"chips\": [{\"chip\": "         \
    "\"H100\", \"capex\": 24000}]}"

static allot_plan *parse_ok(const char *json)
{
    allot_plan *p = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_plan_parse(json, strlen(json), "t.json", NULL, &p, &d);
    if (rc) fprintf(stderr, "unexpected parse error: %s (%s)\n", d.msg, allot_strerror(rc));
    assert_int_equal(rc, 0);
    assert_non_null(p);
    return p;
}

/* Parses json, expects an error whose message contains want; returns its line. */
static int parse_err(const char *json, const char *want)
{
    allot_plan *p = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_plan_parse(json, strlen(json), "t.json", NULL, &p, &d);
    if (rc == 0 || !strstr(d.msg, want))
        fprintf(stderr, "want error containing '%s', got rc %d: '%s'\n", want, rc, d.msg);
    assert_true(rc < 0);
    assert_null(p);
    assert_non_null(strstr(d.msg, want));
    return d.line;
}

static allot_plan_result *run_plan(const allot_plan *p, int runs, int threads)
{
    allot_plan_opts o;
    allot_plan_opts_init(&o);
    o.runs = runs;
    o.threads = threads;
    allot_plan_result *r = NULL;
    allot_diag d;
    memset(&d, 0, sizeof d);
    int rc = allot_plan_run(p, &o, &r, &d);
    if (rc) fprintf(stderr, "run failed: %s\n", d.msg);
    assert_int_equal(rc, 0);
    return r;
}

static const allot_plan_cell *cell(const allot_plan_result *r, int scen, int run, int period)
{
    return &r->scen[scen].cell[(size_t)run * r->nperiods + (size_t)period];
}

static char *json_of(const allot_plan_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(allot_plan_write_json(r, f), 0);
    fclose(f);
    return buf;
}

static void near_at(double a, double b, const char *what, int line)
{
    if (!(fabs(a - b) <= 1e-9 * (fabs(b) + 1) + 1e-9)) {
        fprintf(stderr, "line %d: %s = %.12g, expected %.12g\n", line, what, a, b);
        fail();
    }
}
#define near(a, b) near_at((double)(a), (double)(b), #a, __LINE__)

/* ---- the accounting function, by hand ------------------------------------------- */

static void test_account_by_hand(void **state)
{
    (void)state;
    /* the worked example of plan_cost.c */
    allot_plan_acct_line v[2];
    memset(v, 0, sizeof v);
    v[0] = (allot_plan_acct_line){.devices = 1000,
                                  .powered = 1000,
                                  .busy = 0.6,
                                  .capex = 30000,
                                  .dep_years = 4,
                                  .depreciating = 1,
                                  .board_w = 700,
                                  .overhead = 0.5,
                                  .idle_fraction = 0.3,
                                  .pue = 1.25,
                                  .price_kwh = 0.10,
                                  .dc_cost_mw_year = 1e6};
    v[1] = (allot_plan_acct_line){
        .leased = 1, .devices = 200, .billed_devices = 200, .lease_price = 2.0, .busy = 0.5};
    allot_plan_acct a;
    allot_plan_account(v, 2, 720, &a);
    near(a.depreciation, 625000); /* 1000 x 30000 / 48 */
    near(a.energy_mwh, 680.4);    /* 756 kW x 1.25 x 720 h */
    near(a.power, 68040);         /* 680,400 kWh x 0.10 */
    near(a.datacentre, 109375);   /* 1.3125 MW x 1e6 / 12 */
    near(a.leases, 288000);       /* 200 x 2 x 720 */
    near(a.total, 625000 + 68040 + 109375 + 288000);
    near(a.full_mw, 1.3125); /* 1000 x 0.7 x 1.5 x 1.25 kW */
    near(a.mean_mw, 0.945);  /* 756 kW x 1.25 */
    near(a.device_hours, 1200.0 * 720);
    near(a.busy_device_hours, 1000 * 0.6 * 720 + 200 * 0.5 * 720);

    /* stranded devices depreciate and draw nothing; past its life nothing */
    v[0].powered = 400;
    allot_plan_account(v, 1, 720, &a);
    near(a.depreciation, 625000);
    near(a.energy_mwh, 680.4 * 0.4);
    near(a.datacentre, 109375 * 0.4);
    v[0].depreciating = 0;
    allot_plan_account(v, 1, 720, &a);
    near(a.depreciation, 0);
    /* a lost lease region: billed, not usable */
    v[1].devices = 0;
    allot_plan_account(&v[1], 1, 744, &a);
    near(a.leases, 200 * 2.0 * 744);
    near(a.device_hours, 0);
    allot_plan_account(NULL, 0, 744, &a);
    near(a.total, 0);
}

/* ---- a whole plan, by hand -------------------------------------------------------- */

/* Inference only, a flat demand curve, idle devices drawing full power: every
 * figure can be computed by hand and with the latency model. */
static const char k_hand[] =
    "{\"horizon\": {\"start\": \"2026-01\", \"periods\": 3}, \"runs\": 2, " FLEET16 ", " COSTS
    ", \"leases\": [{\"name\": \"o\", \"region\": \"r\", \"chip\": \"H100\", "
    "\"price_per_device_hour\": 2, \"min_term_months\": 3}], "
    "\"lease_contracts\": [{\"offer\": \"o\", \"devices\": 8, \"start\": \"2026-02\", \"months\": "
    "3}], \"inference\": [{\"name\": \"s\", \"peak_rps\": 1, \"profile\": " FLAT24 "}]}";

static void test_plan_costs_by_hand(void **state)
{
    (void)state;
    allot_plan *p = parse_ok(k_hand);
    allot_plan_result *r = run_plan(p, 2, 2);
    assert_int_equal(r->nperiods, 3);
    assert_string_equal(r->period[0], "2026-01");
    near(r->hours[0], 744);
    near(r->hours[1], 672);
    /* the default service: 1000 prompt and 200 generated tokens, H100 at
     * 8000 and 40 tokens/s per slot, 16 slots, SLO 10 s for 99 % */
    double es = 1000.0 / 8000 + 200.0 / 40;
    int rep = allot_replicas_needed(1.0, 16, es, 10, 0.99, 1000);
    assert_true(rep >= 1 && rep <= 4);
    double slo = allot_slo_fraction(1.0, rep * 16, es, 10);
    const double dep = 16 * 24000.0 / 24;                 /* 16,000 a month */
    const double kw = 16 * 0.7 * 1.5;                     /* 16.8 kW facility */
    const double dc = 16 * 0.7 * 1.5 / 1000 * 1.2e6 / 12; /* 1,680 a month */
    for (int run = 0; run < 2; run++) {
        const allot_plan_cell *jan = cell(r, 0, run, 0), *feb = cell(r, 0, run, 1),
                              *mar = cell(r, 0, run, 2);
        near(jan->cost_depreciation, dep);
        near(jan->cost_power, kw * 744 * 0.1);
        near(jan->cost_datacentre, dc);
        near(jan->cost_leases, 0);
        near(jan->cost_total, dep + kw * 744 * 0.1 + dc);
        near(feb->cost_leases, 8 * 2.0 * 672);
        near(feb->cost_total, dep + kw * 672 * 0.1 + dc + 8 * 2.0 * 672);
        near(mar->cost_leases, 8 * 2.0 * 744);
        near(jan->energy_mwh, kw * 744 / 1000);
        near(jan->peak_mw, kw / 1000);
        near(jan->supply_devices, 16);
        near(feb->supply_devices, 24);
        near(feb->leased_devices, 8);
        /* inference: rep replicas busy all day, every day */
        near(jan->serve_devices, rep);
        near(jan->busy_device_hours, rep * 744.0);
        near(jan->useful_device_hours, rep * 744.0);
        near(jan->idle_device_hours, (16 - rep) * 744.0);
        near(jan->utilisation, rep / 16.0);
        near(jan->cost_per_useful_dh, (dep + kw * 744 * 0.1 + dc) / (rep * 744.0));
        near(feb->cost_per_useful_dh, (dep + kw * 672 * 0.1 + dc + 8 * 2.0 * 672) / (rep * 672.0));
        near(jan->slo, slo);
        assert_true(jan->slo >= 0.99);
    }
    allot_plan_result_free(r);
    allot_plan_free(p);
}

/* A delivery beyond a data centre's power cap is stranded: it depreciates,
 * draws nothing and is not usable; a lost lease region is billed through
 * the minimum term, not after. */
static void test_stranding_and_lease_loss(void **state)
{
    (void)state;
    const char *json =
        "{\"horizon\": {\"start\": \"2026-01\", \"periods\": 4}, \"runs\": 1, " FLEET16 ", " COSTS
        ", \"datacentres\": [{\"name\": \"dc1\", \"power_mw\": 0.017}], "
        "\"deliveries\": [{\"chip\": \"H100\", \"devices\": 8, \"month\": \"2026-02\", "
        "\"datacentre\": \"dc1\"}], "
        "\"leases\": [{\"name\": \"o\", \"region\": \"far\", \"chip\": \"H100\", "
        "\"price_per_device_hour\": 2, \"min_term_months\": 2}], "
        "\"lease_contracts\": [{\"offer\": \"o\", \"devices\": 8, \"start\": \"2026-02\", "
        "\"months\": 3}], \"inference\": [{\"name\": \"s\", \"peak_rps\": 1}], "
        "\"scenarios\": [{\"name\": \"base\"}, {\"name\": \"loss\", \"shocks\": [{\"type\": "
        "\"lease_region_loss\", \"region\": \"far\", \"from\": \"2026-03\"}]}]}";
    allot_plan *p = parse_ok(json);
    allot_plan_result *r = run_plan(p, 1, 1);
    const double dep16 = 16 * 24000.0 / 24, dep8 = 8 * 24000.0 / 24;
    const double kw = 16 * 0.7 * 1.5, dc = kw / 1000 * 1.2e6 / 12;
    for (int s = 0; s < 2; s++) {
        const allot_plan_cell *feb = cell(r, s, 0, 1);
        near(feb->owned_devices, 24);
        near(feb->stranded_devices, 8); /* 0.0168 MW fit, 0.0252 MW do not */
        near(feb->cost_depreciation, dep16 + dep8);
        near(feb->cost_power, kw * 672 * 0.1); /* the stranded 8 draw nothing */
        near(feb->cost_datacentre, dc);
        near(feb->supply_devices, 16 + 8); /* powered + leased */
    }
    /* base: the lease is usable and billed in March and April */
    near(cell(r, 0, 0, 2)->cost_leases, 8 * 2.0 * 744);
    near(cell(r, 0, 0, 3)->cost_leases, 8 * 2.0 * 720);
    near(cell(r, 0, 0, 2)->leased_devices, 8);
    /* loss from March: March still billed (minimum term), April not; neither usable */
    near(cell(r, 1, 0, 2)->cost_leases, 8 * 2.0 * 744);
    near(cell(r, 1, 0, 3)->cost_leases, 0);
    near(cell(r, 1, 0, 2)->leased_devices, 0);
    near(cell(r, 1, 0, 2)->supply_devices, 16);
    allot_plan_result_free(r);
    allot_plan_free(p);
}

/* ---- validation --------------------------------------------------------------------- */

#define HEAD   "{\"horizon\": {\"start\": \"2026-01\", \"periods\": 6}, " FLEET16 ", "
#define DEMAND "\"inference\": [{\"name\": \"s\", \"peak_rps\": 1}]"

static void test_validation_paths(void **state)
{
    (void)state;
    /* a lease offer for a chip type with no price */
    int line = parse_err("{\"horizon\": {\"start\": \"2026-01\", \"periods\": 6},\n" FLEET16
                         ",\n" COSTS ",\n\"leases\": [{\"name\": \"o\", \"region\": \"r\", "
                         "\"chip\": \"H100\"}],\n" DEMAND "}",
                         "leases[0].price_per_device_hour: missing");
    assert_int_equal(line, 4);
    /* a delivery before the horizon */
    parse_err(HEAD COSTS ", \"deliveries\": [{\"chip\": \"H100\", \"devices\": 8, \"month\": "
                         "\"2025-11\"}], " DEMAND "}",
              "deliveries[0].month: 2025-11 is before the horizon's start 2026-01");
    /* negative costs */
    parse_err(HEAD "\"costs\": {\"electricity_price\": -0.1, \"chips\": [{\"chip\": \"H100\", "
                   "\"capex\": 1}]}, " DEMAND "}",
              "costs.electricity_price: must be >= 0");
    parse_err(HEAD "\"costs\": {\"electricity_price\": 0.1, \"chips\": [{\"chip\": \"H100\", "
                   "\"capex\": -5}]}, " DEMAND "}",
              "costs.chips[0].capex: must be >= 0");
    parse_err(HEAD COSTS ", \"leases\": [{\"name\": \"o\", \"region\": \"r\", \"chip\": "
                         "\"H100\", \"price_per_device_hour\": -2}], " DEMAND "}",
              "leases[0].price_per_device_hour: must be >= 0");
    /* an owned chip type with no capex */
    parse_err(HEAD "\"costs\": {\"electricity_price\": 0.1}, " DEMAND "}",
              "chip type 'H100' has no capex");
    parse_err(HEAD COSTS ", \"deliveries\": [{\"chip\": \"H20\", \"devices\": 8, \"month\": "
                         "\"2026-02\"}], " DEMAND "}",
              "deliveries[0].chip: chip type 'H20' has no capex");
    /* leases: minimum term, cap, lead time, unknown offer */
    const char *offer = ", \"leases\": [{\"name\": \"o\", \"region\": \"r\", \"chip\": \"H100\", "
                        "\"price_per_device_hour\": 2, \"min_term_months\": 3, "
                        "\"lead_time_months\": 1, \"max_devices\": 64}], ";
    char buf[4096];
    snprintf(buf, sizeof buf,
             HEAD COSTS "%s\"lease_contracts\": [{\"offer\": \"o\", \"devices\": 8, \"start\": "
                        "\"2026-02\", \"months\": 2}], " DEMAND "}",
             offer);
    parse_err(buf, "lease_contracts[0].months: 2 months is below offer 'o''s minimum term of 3");
    snprintf(buf, sizeof buf,
             HEAD COSTS "%s\"lease_contracts\": [{\"offer\": \"o\", \"devices\": 80, \"start\": "
                        "\"2026-02\", \"months\": 3}], " DEMAND "}",
             offer);
    parse_err(buf, "lease_contracts[0].devices: 80 devices exceed offer 'o''s cap of 64");
    snprintf(buf, sizeof buf,
             HEAD COSTS "%s\"lease_contracts\": [{\"offer\": \"o\", \"devices\": 8, \"start\": "
                        "\"2026-01\", \"months\": 3}], " DEMAND "}",
             offer);
    parse_err(buf, "lease_contracts[0].start: offer 'o' has a lead time of 1 months");
    snprintf(buf, sizeof buf,
             HEAD COSTS "%s\"lease_contracts\": [{\"offer\": \"x\", \"devices\": 8, \"months\": "
                        "3}], " DEMAND "}",
             offer);
    parse_err(buf, "lease_contracts[0].offer: unknown lease offer 'x'");
    /* unknown keys, chip types, shocks, data centres, distributions */
    parse_err(HEAD COSTS ", \"deliverys\": [], " DEMAND "}",
              "deliverys: unknown key 'deliverys' (did you mean 'deliveries'?)");
    parse_err(HEAD COSTS ", \"deliveries\": [{\"chip\": \"H80\", \"devices\": 8, \"month\": "
                         "\"2026-02\"}], " DEMAND "}",
              "deliveries[0].chip: unknown chip type 'H80'");
    parse_err(HEAD COSTS ", " DEMAND ", \"scenarios\": [{\"name\": \"a\", \"shocks\": [{\"type\": "
                         "\"lease_region_loss\", \"region\": \"mars\", \"from\": \"2026-03\"}]}]}",
              "scenarios[0].shocks[0].region: no lease offer is in region 'mars'");
    parse_err(HEAD COSTS ", " DEMAND ", \"scenarios\": [{\"name\": \"a\", \"shocks\": [{\"type\": "
                         "\"meteor\", \"from\": \"2026-03\"}]}]}",
              "scenarios[0].shocks[0].type: unknown shock 'meteor'");
    parse_err(HEAD COSTS ", " DEMAND ", \"scenarios\": [{\"name\": \"a\", \"shocks\": [{\"type\": "
                         "\"export_stop\", \"chip\": \"H100\", \"from\": \"2027-03\"}]}]}",
              "scenarios[0].shocks[0].from: 2027-03 is after the horizon's end");
    parse_err(HEAD COSTS ", \"datacentres\": [{\"name\": \"dc9\"}], " DEMAND "}",
              "zone 'dc1', which is not one of datacentres[].name");
    parse_err(HEAD COSTS
              ", \"supply\": [{\"chip\": \"H100\", \"delay_months\": [0.5, 0.4]}], " DEMAND "}",
              "supply[0].delay_months: probabilities must add up to 1");
    parse_err(HEAD COSTS ", \"inference\": [{\"name\": \"s\", \"peak_rps\": 1, \"chips\": "
                         "[{\"chip\": \"H20\"}]}]}",
              "inference[0].chips[0].prefill_tps: missing");
    parse_err(HEAD COSTS "}", "the plan has no demand");
    parse_err("{\"horizon\": {\"start\": \"2026-13\", \"periods\": 6}}",
              "horizon.start: '2026-13' is not a month");
    { /* syntax errors: jansson's position */
        allot_plan *p = NULL;
        allot_diag d;
        const char *bad = "{\"horizon\":\n {\"start\": }";
        assert_int_equal(allot_plan_parse(bad, strlen(bad), "t.json", NULL, &p, &d), ALLOT_EPARSE);
        assert_string_equal(d.file, "t.json");
        assert_int_equal(d.line, 2);
    }
    parse_err("{\"horizon\": {\"start\": \"2026-01\", \"periods\": 6}, \"fleet\": 3, " COSTS
              ", " DEMAND "}",
              "fleet: must be a cluster spec");
    /* an inline fleet's own errors point into the plan */
    parse_err("{\"horizon\": {\"start\": \"2026-01\", \"periods\": 6}, \"fleet\": {\"name\": "
              "\"f\", \"nodes\": [{\"name\": \"h\", \"chip\": \"H100\", \"devices\": 99, "
              "\"cpu_milli\": 1, \"memory_mib\": 1}]}, " COSTS ", " DEMAND "}",
              "fleet.nodes[0].devices");
    /* search candidates are checked as the plan's own actions */
    parse_err(HEAD COSTS ", " DEMAND ", \"search\": {\"targets\": {\"slo\": 0.99}, "
                         "\"candidates\": [{\"name\": \"c\", \"buy\": {\"chip\": \"H100\", "
                         "\"devices\": 8, \"month\": \"2025-01\"}}]}}",
              "search.candidates[0].buy.month: 2025-01 is before the horizon's start");
}

/* ---- training: a shock's effect, determinism ----------------------------------------------- */

/* 16 H100 today, 32 H20 due in February; training asks for 30 devices. */
static const char k_shock[] =
    "{\"horizon\": {\"start\": \"2026-01\", \"periods\": 3}, \"runs\": 3, " FLEET16
    ", \"costs\": {\"electricity_price\": 0.1, \"failure_rate\": 0.001, \"chips\": [{\"chip\": "
    "\"H100\", \"capex\": 24000}, {\"chip\": \"H20\", \"capex\": 9000}]}, "
    "\"deliveries\": [{\"chip\": \"H20\", \"devices\": 32, \"month\": \"2026-02\", "
    "\"datacentre\": \"dc1\"}], "
    "\"training\": {\"workload\": \"gen:llm\", \"devices\": 30, \"max_job_devices\": 8}, "
    "\"scheduler\": {\"policy\": \"allot\", \"window_days\": 1, \"warmup_days\": 0.25}, "
    "\"scenarios\": [{\"name\": \"base\"}, {\"name\": \"stop\", \"shocks\": [{\"type\": "
    "\"export_stop\", \"chip\": \"H20\", \"from\": \"2026-01\"}]}]}";

static void test_export_stop_effect(void **state)
{
    (void)state;
    allot_plan *p = parse_ok(k_shock);
    allot_plan_result *r = run_plan(p, 3, 2);
    int m_supply = allot_plan_metric_index("supply_devices");
    int m_wait = allot_plan_metric_index("wait_p95_h");
    int m_backlog = allot_plan_metric_index("backlog_dh");
    int m_util = allot_plan_metric_index("utilisation");
    int m_dep = allot_plan_metric_index("cost_depreciation");
    assert_true(m_supply >= 0 && m_wait >= 0 && m_backlog >= 0);
    /* January: the same fleet and the same random numbers in both */
    allot_plan_stat b0 = allot_plan_cell_stat(r, &r->scen[0], 0, m_wait);
    allot_plan_stat s0 = allot_plan_cell_stat(r, &r->scen[1], 0, m_wait);
    near(b0.mean, s0.mean);
    /* from February the H20 never come */
    for (int k = 1; k < 3; k++) {
        near(allot_plan_cell_stat(r, &r->scen[0], (size_t)k, m_supply).mean, 48);
        near(allot_plan_cell_stat(r, &r->scen[1], (size_t)k, m_supply).mean, 16);
        assert_true(allot_plan_cell_stat(r, &r->scen[1], (size_t)k, m_dep).mean <
                    allot_plan_cell_stat(r, &r->scen[0], (size_t)k, m_dep).mean);
    }
    /* 30 devices of demand on 16: queues grow, the fleet is saturated */
    allot_plan_stat wb = allot_plan_cell_stat(r, &r->scen[0], 2, m_wait);
    allot_plan_stat ws = allot_plan_cell_stat(r, &r->scen[1], 2, m_wait);
    allot_plan_stat bb = allot_plan_cell_stat(r, &r->scen[0], 2, m_backlog);
    allot_plan_stat bs = allot_plan_cell_stat(r, &r->scen[1], 2, m_backlog);
    allot_plan_stat us = allot_plan_cell_stat(r, &r->scen[1], 2, m_util);
    fprintf(stderr, "   p95 wait base %.2f h, stop %.2f h; backlog %.0f vs %.0f device-h\n",
            wb.mean, ws.mean, bb.mean, bs.mean);
    assert_true(ws.mean > wb.mean);
    assert_true(ws.mean > 24);
    assert_true(bs.mean > bb.mean + 1000);
    assert_true(us.mean > 0.8);
    allot_plan_result_free(r);
    allot_plan_free(p);
}

static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    allot_plan *p = parse_ok(k_shock);
    allot_plan_result *a = run_plan(p, 3, 1), *b = run_plan(p, 3, 2), *c = run_plan(p, 3, 2);
    char *ja = json_of(a), *jb = json_of(b), *jc = json_of(c);
    assert_string_equal(ja, jb); /* the thread count changes nothing */
    assert_string_equal(jb, jc); /* nor running again */
    /* another seed gives other numbers */
    allot_plan_opts o;
    allot_plan_opts_init(&o);
    o.runs = 3;
    o.seed = 99;
    o.seed_set = 1;
    allot_plan_result *e = NULL;
    allot_diag d;
    assert_int_equal(allot_plan_run(p, &o, &e, &d), 0);
    char *je = json_of(e);
    assert_string_not_equal(ja, je);
    assert_non_null(strstr(ja, "\"seed\": 1,"));
    assert_non_null(strstr(je, "\"seed\": 99,"));
    free(ja);
    free(jb);
    free(jc);
    free(je);
    allot_plan_result_free(a);
    allot_plan_result_free(b);
    allot_plan_result_free(c);
    allot_plan_result_free(e);
    allot_plan_free(p);
}

/* ---- the options search ---------------------------------------------------------------------- */

/* 8 H100 serve 36 requests/s (11-16 replicas needed): A (2 leased) is too
 * little, B (8 leased) enough, C (16 bought) enough but dearer; A with B is
 * dearer than B. The search must pick B alone. */
static const char k_search[] =
    "{\"horizon\": {\"start\": \"2026-01\", \"periods\": 3}, \"runs\": 2, "
    "\"fleet\": {\"name\": \"f\", \"nodes\": [{\"name\": \"h\", \"chip\": \"H100\", \"devices\": "
    "8, \"cpu_milli\": 192000, \"memory_mib\": 2097152, \"zone\": \"dc1\"}]}, " COSTS
    ", \"leases\": [{\"name\": \"o\", \"region\": \"r\", \"chip\": \"H100\", "
    "\"price_per_device_hour\": 2}], "
    "\"inference\": [{\"name\": \"s\", \"peak_rps\": 36, \"profile\": " FLAT24 "}], "
    "\"search\": {\"targets\": {\"slo\": 0.99}, \"min_fraction\": 1, \"candidates\": ["
    "{\"name\": \"A\", \"lease\": {\"offer\": \"o\", \"devices\": 2, \"start\": \"2026-01\", "
    "\"months\": 3}}, "
    "{\"name\": \"C\", \"buy\": {\"chip\": \"H100\", \"devices\": 16, \"month\": \"2026-01\"}}, "
    "{\"name\": \"B\", \"lease\": {\"offer\": \"o\", \"devices\": 8, \"start\": \"2026-01\", "
    "\"months\": 3}}]}}";

static void test_search_cheapest(void **state)
{
    (void)state;
    allot_plan *p = parse_ok(k_search);
    assert_int_equal(allot_plan_ncandidates(p), 3);
    int need = allot_replicas_needed(36, 16, 1000.0 / 8000 + 200.0 / 40, 10, 0.99, 1000);
    assert_true(need > 10 && need <= 16);
    allot_plan_result *r = run_plan(p, 2, 2);
    const allot_plan_search_result *s = &r->search;
    assert_true(s->done);
    assert_true(s->found);
    assert_int_equal(s->chosen, 1u << 2); /* B */
    assert_string_equal(s->choices[2].name, "B");
    near(s->choices[0].static_cost, 2 * 2.0 * (744 + 672 + 744));
    near(s->choices[2].static_cost, 8 * 2.0 * (744 + 672 + 744));
    near(s->choices[1].static_cost, 3 * 16 * 24000.0 / 24);
    assert_true(s->baseline_risk > 0.99); /* 8 devices alone miss the SLO */
    near(s->risk, 0);
    /* the expected cost is the plan's cost with B */
    double with_b = 0;
    for (int k = 0; k < 3; k++) with_b += s->scen[0].cell[k].cost_total;
    near(s->expected_cost, with_b);
    near(s->expected_cost, s->baseline_cost + s->choices[2].static_cost);
    assert_true(s->scen[0].cell[0].slo >= 0.99);
    assert_true(r->scen[0].cell[0].slo < 0.99);
    char *j = json_of(r);
    assert_non_null(strstr(j, "\"recommended\""));
    assert_non_null(strstr(j, "lease 8 H100 in r (o) from 2026-01 for 3 months"));
    free(j);
    allot_plan_result_free(r);
    allot_plan_free(p);
}

/* ---- writers -----------------------------------------------------------------------------------
 */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static void test_writers(void **state)
{
    (void)state;
    allot_plan *p = parse_ok(k_search);
    allot_plan_result *r = run_plan(p, 2, 1);
    char dir[] = "/tmp/allot-plan-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    allot_diag d;
    snprintf(path, sizeof path, "%s/report.html", dir);
    assert_int_equal(allot_plan_write_report(r, path, &d), 0);
    assert_int_equal(allot_plan_write_csv(r, dir, &d), 0);
    char *html = slurp(path);
    assert_non_null(html);
    assert_non_null(strstr(html, "Capacity plan: plan"));
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "Supply and demand"));
    assert_non_null(strstr(html, "Recommendation:"));
    assert_null(strstr(html, "<script"));
    free(html);
    const char *files[] = {"periods.csv", "runs.csv", "summary.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        char *t = slurp(path);
        assert_non_null(t);
        assert_true(strlen(t) > 100);
        if (i == 0) assert_non_null(strstr(t, "plan,base,2026-01,cost_total,USD,"));
        free(t);
        remove(path);
    }
    snprintf(path, sizeof path, "%s/report.html", dir);
    remove(path);
    rmdir(dir);
    /* the table */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(allot_plan_print(r, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, "recommendation:"));
    assert_non_null(strstr(buf, "2026-03"));
    free(buf);
    allot_plan_result_free(r);
    allot_plan_free(p);
}

static void test_category_charts(void **state)
{
    (void)state;
    const char *cats[3] = {"2026-01", "2026-02", "2026-03"};
    double lo[3] = {1, 2, NAN}, mid[3] = {2, 3, 4}, hi[3] = {3, 4, NAN};
    allot_band_series se = {"a <b>", lo, mid, hi};
    allot_band_chart bc = {"T", "period", "y", cats, 3, &se, 1, NAN, NAN};
    allot_report *rep = allot_report_new("t");
    assert_int_equal(allot_report_band_chart(rep, &bc), 0);
    allot_band_series bad = {"x", lo, mid, NULL};
    bc.series = &bad;
    assert_int_equal(allot_report_band_chart(rep, &bc), ALLOT_EINVAL);
    const char *st[2] = {"s1", "s2"};
    double v[6] = {1, 2, 3, 4, -1, NAN};
    allot_bar_chart br = {"B", "period", "cost", cats, 3, st, 2, v};
    assert_int_equal(allot_report_bar_chart(rep, &br), 0);
    br.ncats = 0;
    assert_int_equal(allot_report_bar_chart(rep, &br), ALLOT_EINVAL);
    char path[] = "/tmp/allot-chart-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    assert_int_equal(allot_report_write(rep, path), 0);
    char *html = slurp(path);
    assert_non_null(strstr(html, "a &lt;b&gt;"));
    assert_non_null(strstr(html, "<polygon"));
    assert_non_null(strstr(html, "<rect x="));
    free(html);
    remove(path);
    allot_report_free(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_by_hand),
        cmocka_unit_test(test_plan_costs_by_hand),
        cmocka_unit_test(test_stranding_and_lease_loss),
        cmocka_unit_test(test_validation_paths),
        cmocka_unit_test(test_export_stop_effect),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_search_cheapest),
        cmocka_unit_test(test_writers),
        cmocka_unit_test(test_category_charts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
