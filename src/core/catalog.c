/* catalog.c - built-in catalogue of well-known accelerators.
 *
 * Figures are public vendor numbers, rounded: device memory (GiB), dense
 * bf16 TFLOP/s (fp16 tensor for parts without bf16: T4, V100, P100), board
 * power (W), the size of the NVLink/HCCS/Infinity-Fabric domain (0 for PCIe
 * parts), and an indicative owned cost per device-hour in USD (capex over
 * four years plus power at 0.10 USD/kWh, PUE 1.3). Specs and plans override
 * any of them.
 */
#include "allot/cluster.h"

#include <strings.h>

static const allot_chip_type catalog[] = {
    /* name          GiB   TFLOPs  W    NVL cost/h */
    {"H100", 80, 989, 700, 8, 2.50, ALLOT_CHANNEL_OWNED, ""},
    {"H800", 80, 989, 700, 8, 2.30, ALLOT_CHANNEL_OWNED, ""},
    {"H200", 141, 989, 700, 8, 3.00, ALLOT_CHANNEL_OWNED, ""},
    {"H20", 96, 148, 400, 8, 1.00, ALLOT_CHANNEL_OWNED, ""},
    {"B200", 180, 2250, 1000, 8, 4.50, ALLOT_CHANNEL_OWNED, ""},
    {"A100-80G", 80, 312, 400, 8, 1.30, ALLOT_CHANNEL_OWNED, ""},
    {"A100-40G", 40, 312, 400, 8, 1.10, ALLOT_CHANNEL_OWNED, ""},
    {"A800", 80, 312, 400, 8, 1.20, ALLOT_CHANNEL_OWNED, ""},
    {"L40S", 48, 362, 350, 0, 0.80, ALLOT_CHANNEL_OWNED, ""},
    {"L20", 48, 119, 275, 0, 0.60, ALLOT_CHANNEL_OWNED, ""},
    {"A10", 24, 125, 150, 0, 0.40, ALLOT_CHANNEL_OWNED, ""},
    {"T4", 16, 65, 70, 0, 0.20, ALLOT_CHANNEL_OWNED, ""},
    {"V100M32", 32, 125, 300, 8, 0.55, ALLOT_CHANNEL_OWNED, ""},
    {"V100M16", 16, 125, 300, 8, 0.45, ALLOT_CHANNEL_OWNED, ""},
    {"V100", 16, 125, 300, 8, 0.45, ALLOT_CHANNEL_OWNED, ""},
    {"P100", 16, 21, 250, 0, 0.20, ALLOT_CHANNEL_OWNED, ""},
    {"Ascend-910B", 64, 320, 400, 8, 1.10, ALLOT_CHANNEL_OWNED, ""},
    {"MI300X", 192, 1307, 750, 8, 2.20, ALLOT_CHANNEL_OWNED, ""},
    {"A100-SXM4-80GB", 80, 312, 400, 8, 1.30, ALLOT_CHANNEL_OWNED, ""},
    {"A800-SXM4-80GB", 80, 312, 400, 8, 1.20, ALLOT_CHANNEL_OWNED, ""},
};

const allot_chip_type *allot_catalog_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof catalog / sizeof catalog[0]; i++)
        if (strcasecmp(catalog[i].name, name) == 0) return &catalog[i];
    return NULL;
}

size_t allot_catalog_count(void) { return sizeof catalog / sizeof catalog[0]; }

const allot_chip_type *allot_catalog_at(size_t i)
{
    return i < allot_catalog_count() ? &catalog[i] : NULL;
}
