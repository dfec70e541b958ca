/* plan_cost.c - one month's cost and power, a pure function.
 *
 * Worked example (tests/test_plan.c computes it by hand): 1,000 owned H100
 * at 30,000 each over 4 years, 700 W boards, server overhead 0.5, idle
 * fraction 0.3, PUE 1.25, electricity 0.10 per kWh, data centre 1,000,000
 * per MW-year, 60 % busy, in a 30-day month (720 h):
 *     depreciation = 1000 x 30000 / 48                 =   625,000
 *     IT kW        = 1000 x 0.7 x 1.5 x (0.3 + 0.7 x 0.6) = 756
 *     energy       = 756 x 1.25 x 720 / 1000           =   680.4 MWh
 *     power        = 680,400 kWh x 0.10                =    68,040
 *     datacentre   = 1000 x 0.7 x 1.5 x 1.25 / 1000 MW x 1e6 / 12 = 109,375
 * and 200 leased devices at 2.0 per device-hour: 200 x 2 x 720 = 288,000.
 */
#include <string.h>

#include "allot/plan.h"

void allot_plan_account(const allot_plan_acct_line *v, size_t n, double hours, allot_plan_acct *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const allot_plan_acct_line *l = &v[i];
        if (l->leased) {
            out->leases += l->billed_devices * l->lease_price * hours;
            out->device_hours += l->devices * hours;
            out->busy_device_hours += l->devices * l->busy * hours;
            continue;
        }
        if (l->depreciating && l->dep_years > 0)
            out->depreciation += l->devices * l->capex / (12.0 * l->dep_years);
        double full_kw = l->powered * l->board_w / 1000.0 * (1.0 + l->overhead); /* IT, busy */
        double it_kw = full_kw * (l->idle_fraction + (1.0 - l->idle_fraction) * l->busy);
        double fac_kw = it_kw * l->pue;
        out->energy_mwh += fac_kw * hours / 1000.0;
        out->power += fac_kw * hours * l->price_kwh;
        out->datacentre += full_kw * l->pue / 1000.0 * l->dc_cost_mw_year / 12.0;
        out->mean_mw += fac_kw / 1000.0;
        out->full_mw += full_kw * l->pue / 1000.0;
        out->device_hours += l->powered * hours;
        out->busy_device_hours += l->powered * l->busy * hours;
    }
    out->total = out->depreciation + out->power + out->datacentre + out->leases;
}
