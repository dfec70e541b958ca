/* src/plan/plan_out.h - helpers shared by the plan's writers (plan_out.c,
 * plan_report.c) and the tests. Not public API. */
#ifndef ALLOT_PLAN_OUT_H
#define ALLOT_PLAN_OUT_H

#include <stddef.h>

#include <jansson.h>

#include "allot/plan.h"

/* Totals of one run over the horizon, in this order. */
enum {
    PT_COST = 0,   /* cost_total */
    PT_DEP,        /* cost_depreciation */
    PT_POWER,      /* cost_power */
    PT_DC,         /* cost_datacentre */
    PT_LEASES,     /* cost_leases */
    PT_CPU,        /* cost per useful device-hour */
    PT_DH,         /* usable device-hours */
    PT_BUSY,       /* busy device-hours */
    PT_USEFUL,     /* useful device-hours */
    PT_IDLE,       /* idle device-hours */
    PT_UTIL,       /* busy / usable */
    PT_ENERGY,     /* MWh */
    PT_PEAK,       /* MW, the largest period peak */
    PT_WORST_WAIT, /* h, the largest period p95 wait */
    PT_MIN_SLO,    /* the smallest period SLO attainment */
    PT_STRANDED,   /* stranded device-hours */
    PLAN_NTOTALS
};

const char *plan__total_name(int t);
void plan__run_totals(const allot_plan_result *r, const allot_plan_scenario_result *s, int run,
                      double *t);
allot_plan_stat plan__total_stat(const allot_plan_result *r, const allot_plan_scenario_result *s,
                                 int which);
/* Byte offset of metric m in allot_plan_cell. */
size_t plan__metric_offset(int m);
json_t *plan__result_json(const allot_plan_result *r);
/* Compact number: 1.23M, 45.6k, 789. */
void plan__fmt_si(char *buf, size_t n, double v);

#endif
