//! Prometheus metrics without personal data: counts by endpoint, verdict and error code,
//! cache hits, rate limiting, Redis errors, and a latency histogram. No labels carry client
//! input.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::hcert::ErrorCode;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Latency buckets in microseconds.
const BUCKETS_US: [u64; 10] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 1_000_000,
];

pub struct Metrics {
    pub requests_verify: Counter,
    pub requests_batch: Counter,
    pub requests_image: Counter,
    pub verdict_valid: Counter,
    pub verdict_invalid: Counter,
    pub errors_by_code: Vec<(ErrorCode, Counter)>,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    /// Verdicts that used a stale source's key (`TRUST_STALE`).
    pub stale_verdicts: Counter,
    /// Quota lease calls to Redis (one per block of tokens, not per request).
    pub lease_calls: Counter,
    pub rate_limited: Counter,
    /// Connections refused by the per-IP connection cap.
    pub connections_refused: Counter,
    /// Request bodies cut off by the body deadline.
    pub body_timeouts: Counter,
    pub redis_errors: Counter,
    latency_buckets: [Counter; 10],
    latency_count: Counter,
    latency_sum_us: Counter,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    requests_verify: Counter::default(),
    requests_batch: Counter::default(),
    requests_image: Counter::default(),
    verdict_valid: Counter::default(),
    verdict_invalid: Counter::default(),
    errors_by_code: ErrorCode::ALL
        .iter()
        .map(|c| (*c, Counter::default()))
        .collect(),
    cache_hits: Counter::default(),
    cache_misses: Counter::default(),
    stale_verdicts: Counter::default(),
    lease_calls: Counter::default(),
    rate_limited: Counter::default(),
    connections_refused: Counter::default(),
    body_timeouts: Counter::default(),
    redis_errors: Counter::default(),
    latency_buckets: Default::default(),
    latency_count: Counter::default(),
    latency_sum_us: Counter::default(),
});

impl Metrics {
    pub fn verdict(&self, result: &crate::hcert::VerificationResult) {
        if result.valid {
            self.verdict_valid.inc();
        } else {
            self.verdict_invalid.inc();
        }
        for f in &result.errors {
            if let Some((_, c)) = self.errors_by_code.iter().find(|(code, _)| *code == f.code) {
                c.inc();
            }
        }
    }

    pub fn observe_latency(&self, d: std::time::Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        for (bound, counter) in BUCKETS_US.iter().zip(&self.latency_buckets) {
            if us <= *bound {
                counter.inc();
            }
        }
        self.latency_count.inc();
        self.latency_sum_us.add(us);
    }

    /// Prometheus text exposition format.
    pub fn render(
        &self,
        snapshot_dscs: usize,
        snapshot_version: u64,
        cache_entries: usize,
    ) -> String {
        use std::fmt::Write;
        let mut o = String::with_capacity(4096);
        let mut line = |s: String| {
            let _ = writeln!(o, "{s}");
        };
        line("# TYPE dccgw_requests_total counter".into());
        for (ep, c) in [
            ("verify", &self.requests_verify),
            ("batch", &self.requests_batch),
            ("image", &self.requests_image),
        ] {
            line(format!(
                "dccgw_requests_total{{endpoint=\"{ep}\"}} {}",
                c.get()
            ));
        }
        line("# TYPE dccgw_verdicts_total counter".into());
        line(format!(
            "dccgw_verdicts_total{{valid=\"true\"}} {}",
            self.verdict_valid.get()
        ));
        line(format!(
            "dccgw_verdicts_total{{valid=\"false\"}} {}",
            self.verdict_invalid.get()
        ));
        line("# TYPE dccgw_verdict_errors_total counter".into());
        for (code, c) in &self.errors_by_code {
            line(format!(
                "dccgw_verdict_errors_total{{code=\"{code}\"}} {}",
                c.get()
            ));
        }
        line("# TYPE dccgw_cache_total counter".into());
        line(format!(
            "dccgw_cache_total{{result=\"hit\"}} {}",
            self.cache_hits.get()
        ));
        line(format!(
            "dccgw_cache_total{{result=\"miss\"}} {}",
            self.cache_misses.get()
        ));
        line("# TYPE dccgw_stale_verdicts_total counter".into());
        line(format!(
            "dccgw_stale_verdicts_total {}",
            self.stale_verdicts.get()
        ));
        line("# TYPE dccgw_quota_lease_calls_total counter".into());
        line(format!(
            "dccgw_quota_lease_calls_total {}",
            self.lease_calls.get()
        ));
        line("# TYPE dccgw_cache_entries gauge".into());
        line(format!("dccgw_cache_entries {cache_entries}"));
        line("# TYPE dccgw_rate_limited_total counter".into());
        line(format!(
            "dccgw_rate_limited_total {}",
            self.rate_limited.get()
        ));
        line("# TYPE dccgw_connections_refused_total counter".into());
        line(format!(
            "dccgw_connections_refused_total {}",
            self.connections_refused.get()
        ));
        line("# TYPE dccgw_body_timeouts_total counter".into());
        line(format!(
            "dccgw_body_timeouts_total {}",
            self.body_timeouts.get()
        ));
        line("# TYPE dccgw_redis_errors_total counter".into());
        line(format!(
            "dccgw_redis_errors_total {}",
            self.redis_errors.get()
        ));
        line("# TYPE dccgw_trust_dscs gauge".into());
        line(format!("dccgw_trust_dscs {snapshot_dscs}"));
        line("# TYPE dccgw_trust_snapshot_version gauge".into());
        line(format!("dccgw_trust_snapshot_version {snapshot_version}"));
        line("# TYPE dccgw_verify_latency_seconds histogram".into());
        for (bound, c) in BUCKETS_US.iter().zip(&self.latency_buckets) {
            line(format!(
                "dccgw_verify_latency_seconds_bucket{{le=\"{}\"}} {}",
                *bound as f64 / 1e6,
                c.get()
            ));
        }
        line(format!(
            "dccgw_verify_latency_seconds_bucket{{le=\"+Inf\"}} {}",
            self.latency_count.get()
        ));
        line(format!(
            "dccgw_verify_latency_seconds_sum {}",
            self.latency_sum_us.get() as f64 / 1e6
        ));
        line(format!(
            "dccgw_verify_latency_seconds_count {}",
            self.latency_count.get()
        ));
        o
    }
}

/// Series that need the snapshot or the route table: requests by route and status, keys per
/// trust source, snapshot age, cache hit ratio.
pub fn render_extra(
    out: &mut String,
    snapshot: Option<&crate::trust::model::TrustSnapshot>,
    age_secs: Option<i64>,
    sources: &[crate::trust::refresh::SourceStatus],
) {
    use std::fmt::Write;
    let _ = writeln!(out, "# TYPE dccgw_http_requests_total counter");
    if let Ok(map) = super::observe::BY_ROUTE.lock() {
        let mut rows: Vec<_> = map.iter().collect();
        rows.sort();
        for ((route, status), n) in rows {
            let _ = writeln!(
                out,
                "dccgw_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
    }
    let _ = writeln!(out, "# TYPE dccgw_trust_source_dscs gauge");
    if let Some(snap) = snapshot {
        let mut by_source: std::collections::BTreeMap<&str, usize> =
            std::collections::BTreeMap::new();
        for dsc in snap.iter() {
            *by_source.entry(dsc.source.as_str()).or_default() += 1;
        }
        for (source, n) in by_source {
            let _ = writeln!(
                out,
                "dccgw_trust_source_dscs{{source=\"{}\"}} {n}",
                escape(source)
            );
        }
    }
    let _ = writeln!(out, "# TYPE dccgw_trust_snapshot_age_seconds gauge");
    let _ = writeln!(
        out,
        "dccgw_trust_snapshot_age_seconds {}",
        age_secs.unwrap_or(-1)
    );
    let (hits, misses) = (METRICS.cache_hits.get(), METRICS.cache_misses.get());
    render_sources(out, sources);
    let ratio = if hits + misses == 0 {
        0.0
    } else {
        hits as f64 / (hits + misses) as f64
    };
    let _ = writeln!(out, "# TYPE dccgw_cache_hit_ratio gauge");
    let _ = writeln!(out, "dccgw_cache_hit_ratio {ratio:.4}");
}

/// Per-source refresh outcomes, diffs, failing state and rejected entries by reason.
fn render_sources(out: &mut String, sources: &[crate::trust::refresh::SourceStatus]) {
    use std::fmt::Write;
    let _ = writeln!(out, "# TYPE dccgw_trust_refresh_total counter");
    for s in sources {
        let id = escape(&s.id);
        let _ = writeln!(
            out,
            "dccgw_trust_refresh_total{{source=\"{id}\",outcome=\"ok\"}} {}",
            s.refreshes_ok
        );
        let _ = writeln!(
            out,
            "dccgw_trust_refresh_total{{source=\"{id}\",outcome=\"failed\"}} {}",
            s.refreshes_failed
        );
    }
    type PerSource = fn(&crate::trust::refresh::SourceStatus) -> u64;
    let series: [(&str, &str, PerSource); 4] = [
        ("dccgw_trust_kids_added_total", "counter", |s| s.added_total),
        ("dccgw_trust_kids_removed_total", "counter", |s| {
            s.removed_total
        }),
        ("dccgw_trust_source_failing", "gauge", |s| {
            u64::from(s.status == "failing")
        }),
        ("dccgw_trust_source_stale", "gauge", |s| u64::from(s.stale)),
    ];
    for (name, kind, value) in series {
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in sources {
            let _ = writeln!(out, "{name}{{source=\"{}\"}} {}", escape(&s.id), value(s));
        }
    }
    let _ = writeln!(out, "# TYPE dccgw_trust_rejected_entries gauge");
    for s in sources {
        for (reason, n) in &s.rejected {
            let _ = writeln!(
                out,
                "dccgw_trust_rejected_entries{{source=\"{}\",reason=\"{}\"}} {n}",
                escape(&s.id),
                escape(reason)
            );
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', " ")
}
