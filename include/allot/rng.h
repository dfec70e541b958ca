/* allot/rng.h - small deterministic random numbers (xoshiro256** seeded by
 * splitmix64). The same seed gives the same sequence on every platform. No
 * global state: every user owns its allot_rng. */
#ifndef ALLOT_RNG_H
#define ALLOT_RNG_H

#include <stdint.h>

typedef struct allot_rng {
    uint64_t s[4];
} allot_rng;

static inline uint64_t allot__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void allot_rng_seed(allot_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = allot__splitmix64(&x);
}

static inline uint64_t allot__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t allot_rng_next(allot_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = allot__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = allot__rotl(s[3], 45);
    return result;
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection,
 * so there is no modulo bias). */
static inline uint64_t allot_rng_below(allot_rng *r, uint64_t n)
{
    uint64_t x = allot_rng_next(r);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = (0 - n) % n;
        while (l < t) {
            x = allot_rng_next(r);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Uniform double in [0, 1). */
static inline double allot_rng_double(allot_rng *r)
{
    return (double)(allot_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
