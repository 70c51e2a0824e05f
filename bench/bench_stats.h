/*
 * bench/bench_stats.h — how every benchmark here turns repeated runs into a
 * figure and a verdict, the same way: A and B interleaved run by run (never
 * two medians taken at different moments, which on a shared VM can differ by
 * half), the per-pair ratios summarised as median with min-max and the
 * median's 95 % interval (order statistics: no assumption about the
 * distribution), and a verdict that says when that interval straddles the
 * target — the spread is then too wide to conclude, and the bench says so.
 */
#ifndef FIC_BENCH_STATS_H
#define FIC_BENCH_STATS_H

typedef struct bs_summary {
	int n;
	double median, min, max;
	double lo, hi;     /* the median's interval: order statistics k and n + 1 - k */
	double coverage;   /* its confidence (>= 0.95 when n >= 9; less below) */
} bs_summary;

/* Summarise n values (v is not changed). n may be 0 (then all NaN). */
bs_summary bs_summarise(const double *v, int n);

typedef enum bs_verdict { BS_MET, BS_NOT_MET, BS_INCONCLUSIVE } bs_verdict;

/* Target "at most" / "at least": MET when the median's whole interval is on
 * the right side, NOT MET when it is wholly on the wrong side, else
 * INCONCLUSIVE. */
bs_verdict bs_at_most(const bs_summary *s, double target);
bs_verdict bs_at_least(const bs_summary *s, double target);

/* "MET", "NOT MET", "INCONCLUSIVE (spread too wide to conclude)". */
const char *bs_verdict_name(bs_verdict v);

/* "1.47 [1.31-1.62], median's 96 % interval 1.42-1.51, n=15", with `decimals`. */
void bs_format(char *buf, unsigned long size, const bs_summary *s, int decimals);

/* CPU time of this process so far (user + system), ms, from getrusage. */
double bs_cpu_ms(void);

/* Wall clock (CLOCK_MONOTONIC), ms. */
double bs_wall_ms(void);

#endif
