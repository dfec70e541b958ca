/* cmd_cluster.c - `allot cluster`: show a cluster, convert node lists. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "allot/cluster.h"
#include "allot/spec.h"
#include "cli.h"

static const char cluster_usage[] =
    "usage: allot cluster show [PATH]\n"
    "       allot cluster convert PATH [--format FMT] [-o OUT.json]\n"
    "\n"
    "show     prints a summary of a cluster: nodes, devices and free capacity per\n"
    "         chip type and zone. PATH is a JSON spec, a trace node list,\n"
    "         builtin:sample (default) or builtin:philly.\n"
    "convert  reads a node list and writes it as a JSON cluster spec (to stdout, or\n"
    "         OUT.json). FMT is auto (default), json, openb, pai2020 or spot2026.\n"
    "\n"
    "options:\n"
    "  --format FMT   input format (default auto: detected from the content)\n"
    "  -o, --output   write the spec to this file instead of stdout\n"
    "  -h, --help     this help\n";

static int show(const char *path)
{
    allot_diag d = {0};
    allot_cluster *c = NULL;
    int rc = allot_cluster_load(path, ALLOT_NODES_AUTO, &c, &d);
    if (rc) return cli_fail(rc, &d);
    printf("cluster %s (%s): %u nodes, %u devices, %u domains\n\n", allot_cluster_name(c), path,
           allot_cluster_nnodes(c), allot_cluster_ndevices(c), allot_cluster_ndomains(c));
    printf("  %-16s %8s %8s %10s %8s %10s\n", "chip type", "devices", "memory", "bf16 TF/s",
           "power W", "cost/h");
    for (uint32_t k = 0; k < allot_cluster_nchips(c); k++) {
        const allot_chip_type *t = allot_cluster_chip(c, k);
        int32_t devs = 0;
        for (uint32_t dd = 0; dd < allot_cluster_ndomains(c); dd++) {
            const allot_domain *dom = allot_cluster_domain(c, dd);
            if (dom->level == ALLOT_LEVEL_ZONE) devs += allot_cluster_agg(c, dd, k)->devices;
        }
        printf("  %-16s %8d %7.0fG %10.0f %8.0f %10.2f\n", t->name, devs, t->memory_gib,
               t->bf16_tflops, t->power_w, t->cost_per_hour);
    }
    printf("\n  %-16s %8s %12s\n", "zone", "nodes", "free milli");
    for (uint32_t dd = 0; dd < allot_cluster_ndomains(c); dd++) {
        const allot_domain *dom = allot_cluster_domain(c, dd);
        if (dom->level != ALLOT_LEVEL_ZONE) continue;
        int64_t fm = 0;
        for (uint32_t k = 0; k < allot_cluster_nchips(c); k++)
            fm += allot_cluster_agg(c, dd, k)->free_milli;
        printf("  %-16s %8u %12lld\n", dom->name, dom->nnodes, (long long)fm);
    }
    allot_cluster_free(c);
    return 0;
}

int allot_cmd_cluster(int argc, char **argv)
{
    if (argc < 2) {
        fputs(cluster_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(cluster_usage, stdout);
        return 0;
    }
    const char *sub = argv[1];
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'},
        {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    allot_nodes_format fmt = ALLOT_NODES_AUTO;
    const char *outp = NULL;
    optind = 2;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            if (strcmp(optarg, "auto") == 0)
                fmt = ALLOT_NODES_AUTO;
            else if (strcmp(optarg, "json") == 0)
                fmt = ALLOT_NODES_JSON;
            else if (strcmp(optarg, "openb") == 0)
                fmt = ALLOT_NODES_OPENB;
            else if (strcmp(optarg, "pai2020") == 0)
                fmt = ALLOT_NODES_PAI2020;
            else if (strcmp(optarg, "spot2026") == 0)
                fmt = ALLOT_NODES_SPOT2026;
            else {
                fprintf(stderr,
                        "allot cluster: unknown format '%s' (auto, json, openb, pai2020, "
                        "spot2026)\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'o': outp = optarg; break;
        case 'h': fputs(cluster_usage, stdout); return 0;
        case ':':
            fprintf(stderr, "allot cluster: option '%s' needs a value\n", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        default:
            fprintf(stderr, "allot cluster: unknown option '%s'\n", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (strcmp(sub, "show") == 0) {
        if (argc - optind > 1) {
            fprintf(stderr, "allot cluster show: takes one PATH\n");
            return CLI_EXIT_USAGE;
        }
        return show(optind < argc ? argv[optind] : "builtin:sample");
    }
    if (strcmp(sub, "convert") == 0) {
        if (argc - optind != 1) {
            fprintf(stderr, "allot cluster convert: needs exactly one PATH\n");
            return CLI_EXIT_USAGE;
        }
        allot_diag d = {0};
        allot_cluster *c = NULL;
        int rc = allot_cluster_load(argv[optind], fmt, &c, &d);
        if (rc) return cli_fail(rc, &d);
        FILE *f = stdout;
        char tmp[4400];
        if (outp) {
            snprintf(tmp, sizeof tmp, "%s.tmp", outp);
            f = fopen(tmp, "w");
            if (!f) {
                allot_cluster_free(c);
                fprintf(stderr, "allot cluster: cannot write %s\n", outp);
                return CLI_EXIT_FAIL;
            }
        }
        rc = allot_spec_write(c, f);
        if (outp) {
            if (fclose(f) != 0 && rc == 0) rc = ALLOT_EIO;
            if (rc == 0 && rename(tmp, outp) != 0) rc = ALLOT_EIO;
            if (rc) remove(tmp);
        }
        allot_cluster_free(c);
        if (rc) return cli_fail(rc, NULL);
        return 0;
    }
    fprintf(stderr, "allot cluster: unknown subcommand '%s'\n\n%s", sub, cluster_usage);
    return CLI_EXIT_USAGE;
}
