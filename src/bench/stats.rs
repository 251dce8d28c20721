//! From per-request records to the numbers a decision is made on: percentiles per cell, the
//! profile's worst cell against each criterion.

use serde::Serialize;

use super::matrix::Criteria;

/// Nearest-rank percentiles of one measure, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub max: f64,
}

impl Percentiles {
    /// `None` when there are no values.
    pub fn of(values: &[f64]) -> Option<Percentiles> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
            v.get(i).copied().unwrap_or(0.0)
        };
        Some(Percentiles {
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            mean: mean(&v).unwrap_or(0.0),
            max: v.last().copied().unwrap_or(0.0),
        })
    }
}

pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// One criterion a profile did not meet (or could not be measured for).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failed {
    pub criterion: &'static str,
    pub limit: f64,
    /// `None`: not measured (e.g. no resource samples when attached with --url).
    pub measured: Option<f64>,
}

/// The numbers the criteria are checked on (`None`: not measured).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measured {
    /// Server CPU in the idle window, % of one core.
    pub idle_cpu_pct: Option<f64>,
    /// Worst cell's server CPU, % of one core.
    pub active_cpu_pct: Option<f64>,
    /// VmHWM of the server, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Worst cell's p95 end-to-end latency.
    pub p95_latency_ms: Option<f64>,
    /// Mean over scored answers.
    pub correctness: Option<f64>,
    /// Slowest cell's mean generation t/s (what `gen_tps_min` checks).
    pub gen_tps: Option<f64>,
}

/// Every criterion that is set and not met.
pub fn evaluate(c: &Criteria, m: &Measured) -> Vec<Failed> {
    let checks: [(&'static str, Option<f64>, Option<f64>, bool); 6] = [
        ("idle_cpu_pct_max", c.idle_cpu_pct_max, m.idle_cpu_pct, true),
        (
            "active_cpu_pct_max",
            c.active_cpu_pct_max,
            m.active_cpu_pct,
            true,
        ),
        ("rss_mib_max", c.rss_mib_max, m.peak_rss_mib, true),
        (
            "p95_latency_ms_max",
            c.p95_latency_ms_max,
            m.p95_latency_ms,
            true,
        ),
        ("correctness_min", c.correctness_min, m.correctness, false),
        ("gen_tps_min", c.gen_tps_min, m.gen_tps, false),
    ];
    checks
        .into_iter()
        .filter_map(|(criterion, limit, measured, is_max)| {
            let limit = limit?;
            let ok = measured.is_some_and(|v| if is_max { v <= limit } else { v >= limit });
            (!ok).then_some(Failed {
                criterion,
                limit,
                measured,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&v).unwrap();
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert!(Percentiles::of(&[]).is_none());
        let one = Percentiles::of(&[7.0]).unwrap();
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
    }

    #[test]
    fn criteria_fail_when_unmet_or_unmeasured() {
        let c = Criteria {
            correctness_min: Some(0.5),
            rss_mib_max: Some(100.0),
            gen_tps_min: Some(1.0),
            ..Default::default()
        };
        let m = Measured {
            correctness: Some(0.25),
            gen_tps: Some(3.0),
            ..Default::default()
        };
        let f = evaluate(&c, &m);
        let names: Vec<_> = f.iter().map(|f| f.criterion).collect();
        assert_eq!(names, vec!["rss_mib_max", "correctness_min"]);
    }
}
