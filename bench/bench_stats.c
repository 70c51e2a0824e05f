/*
 * bench/bench_stats.c — see bench_stats.h.
 */
#include "bench_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* P(X <= k) for X ~ Binomial(n, 1/2), in log space (n may be thousands). */
static double binom_cdf(int n, int k)
{
	double p = 0;
	for (int i = 0; i <= k; i++)
		p += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) - n * log(2.0));
	return p;
}

bs_summary bs_summarise(const double *v, int n)
{
	bs_summary s = { n, NAN, NAN, NAN, NAN, NAN, 0 };
	if (n <= 0)
		return s;
	double *t = malloc((size_t)n * sizeof *t);
	if (t == NULL)
		return s;
	memcpy(t, v, (size_t)n * sizeof *t);
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	s.median = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	s.min = t[0];
	s.max = t[n - 1];
	/* The widest k with P(X < k) <= 2.5 %: [x(k), x(n+1-k)] covers the median
	 * with probability 1 - 2 P(X <= k - 1). Too few runs: min-max. */
	int k = 1;
	while (k + 1 <= (n + 1) / 2 && binom_cdf(n, k) <= 0.025)
		k++;
	s.lo = t[k - 1];
	s.hi = t[n - k];
	s.coverage = 1 - 2 * binom_cdf(n, k - 1);
	free(t);
	return s;
}

bs_verdict bs_at_most(const bs_summary *s, double target)
{
	if (s->n <= 0 || isnan(s->median))
		return BS_INCONCLUSIVE;
	return s->hi <= target ? BS_MET : s->lo > target ? BS_NOT_MET : BS_INCONCLUSIVE;
}

bs_verdict bs_at_least(const bs_summary *s, double target)
{
	if (s->n <= 0 || isnan(s->median))
		return BS_INCONCLUSIVE;
	return s->lo >= target ? BS_MET : s->hi < target ? BS_NOT_MET : BS_INCONCLUSIVE;
}

const char *bs_verdict_name(bs_verdict v)
{
	return v == BS_MET ? "MET" : v == BS_NOT_MET ? "NOT MET" : "INCONCLUSIVE (spread too wide to conclude)";
}

void bs_format(char *buf, unsigned long size, const bs_summary *s, int decimals)
{
	int d = decimals;
	snprintf(buf, size, "%.*f [%.*f-%.*f], median's %.0f %% interval %.*f-%.*f, n=%d", d, s->median,
	         d, s->min, d, s->max, 100 * s->coverage, d, s->lo, d, s->hi, s->n);
}

double bs_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

double bs_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
