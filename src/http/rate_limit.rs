//! Rate limiting: a per-instance `governor` limiter per tier as the cheap first line, and a
//! cluster-wide GCRA quota in Redis (one atomic Lua script, Redis's own clock) so N instances
//! enforce one quota per client.
//!
//! **Leased quotas.** An instance does not ask Redis for every request: it leases a block of
//! tokens at once (the script charges the whole block to the client's GCRA state, granting as
//! many as the quota allows, up to [`lease_block`] = per_second / 20, at least 1, at most 50)
//! and spends them locally for up to [`LEASE_TTL`]; what is left then is dropped. Every token
//! an instance admits was charged in Redis first, so N instances together never admit more
//! than the quota's GCRA does, shifted by at most one lease lifetime: over any window of `W`
//! seconds a client gets at most `rate × (W + 1 s) + burst`, i.e. ε = 1 s / W (1.7 % over a
//! minute). The cost is the other way: tokens leased by an instance the client stops using
//! expire unused (at most one block per instance per second). Small tiers (under 40/s) lease
//! one token at a time, which is exactly the per-request check.
//!
//! If Redis is unreachable, slow (> 50 ms) or answers the script with an error, the cluster
//! check is skipped for [`REDIS_PAUSE`] (no request waits on, or pays for, a Redis that is
//! failing): the local limiter still applies and verification goes on. Answers carry `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` (seconds); a 429 also carries `Retry-After`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::auth::Caller;
use super::error::ApiError;
use crate::config::Tier;

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// What a caller has left after an accepted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

/// GCRA charging up to ARGV[3] tokens at once: grants `n` = as many as the quota allows now
/// (0 when none). Returns {granted, remaining, retry_after_or_reset (µs)}.
const LEASE_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local n = math.floor((now - tat + interval * burst) / interval)
if n > want then n = want end
if n < 1 then
  return {0, 0, tat + interval - interval * burst - now}
end
local new_tat = tat + n * interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {n, math.floor((now - (new_tat - interval * burst)) / interval), new_tat - now}
"#;

/// How long leased tokens may be spent.
pub const LEASE_TTL: Duration = Duration::from_secs(1);

/// Tokens leased at once for a tier: per_second / 20, within 1..=50.
pub fn lease_block(tier: &Tier) -> u32 {
    (tier.per_second / 20).clamp(1, 50)
}

/// Tokens an instance holds for one client.
#[derive(Debug, Clone, Copy)]
struct Lease {
    tokens: u32,
    until: std::time::Instant,
    remaining: u32,
    reset_secs: u64,
}

/// Local and cluster-wide limiters.
pub struct Limiter {
    tiers: HashMap<String, (Tier, Arc<Keyed>)>,
    redis: Arc<OnceLock<crate::redis::Conn>>,
    script: redis::Script,
    prefix: String,
    leases: std::sync::Mutex<HashMap<String, Lease>>,
    /// After a failed script call, the cluster check is skipped until this instant.
    paused: crate::redis::Pause,
}

/// How long the cluster check is skipped after a failed script call.
pub const REDIS_PAUSE: Duration = Duration::from_secs(1);

/// The GCRA emission interval of `per_second`, in whole microseconds, never 0 (a tier above
/// 1 000 000/s is limited at 1 000 000/s: the script divides by it).
fn interval_us(per_second: u32) -> u64 {
    (1_000_000 / u64::from(per_second.max(1))).max(1)
}

impl Limiter {
    pub fn new(
        tiers: &HashMap<String, Tier>,
        redis: Arc<OnceLock<crate::redis::Conn>>,
        prefix: &str,
    ) -> Limiter {
        let tiers = tiers
            .iter()
            .map(|(name, tier)| {
                let per_second = NonZeroU32::new(tier.per_second).unwrap_or(NonZeroU32::MIN);
                let burst = NonZeroU32::new(tier.burst).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::per_second(per_second).allow_burst(burst);
                let limiter =
                    RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>();
                (name.clone(), (*tier, Arc::new(limiter)))
            })
            .collect();
        Limiter {
            tiers,
            redis,
            script: redis::Script::new(LEASE_LUA),
            prefix: prefix.to_owned(),
            leases: std::sync::Mutex::new(HashMap::new()),
            paused: crate::redis::Pause::default(),
        }
    }

    /// Admits or refuses one request of `caller`.
    pub async fn check(&self, caller: &Caller) -> Result<Allowance, ApiError> {
        let (tier, limiter) = self.tiers.get(&caller.tier).ok_or(ApiError::Internal)?;
        let local = match limiter.check_key(&caller.key) {
            Ok(snapshot) => Allowance {
                limit: tier.burst,
                remaining: snapshot.remaining_burst_capacity(),
                reset_secs: 1,
            },
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                crate::http::metrics::METRICS.rate_limited.inc();
                return Err(ApiError::RateLimited {
                    retry_after_secs: wait.as_secs().max(1),
                    limit: tier.burst,
                });
            }
        };
        match self.cluster_check(caller, tier).await {
            Some(Err(e)) => {
                crate::http::metrics::METRICS.rate_limited.inc();
                Err(e)
            }
            Some(Ok(cluster)) => Ok(Allowance {
                remaining: cluster.remaining.min(local.remaining),
                ..cluster
            }),
            None => Ok(local),
        }
    }

    /// Spends a leased token of `key`, if one is held and fresh.
    fn spend_lease(&self, key: &str, tier: &Tier) -> Option<Allowance> {
        let mut leases = self.leases.lock().ok()?;
        let lease = leases.get_mut(key)?;
        if lease.tokens == 0 || std::time::Instant::now() >= lease.until {
            leases.remove(key);
            return None;
        }
        lease.tokens -= 1;
        Some(Allowance {
            limit: tier.burst,
            remaining: lease.remaining.max(lease.tokens),
            reset_secs: lease.reset_secs,
        })
    }

    async fn cluster_check(
        &self,
        caller: &Caller,
        tier: &Tier,
    ) -> Option<Result<Allowance, ApiError>> {
        let redis = self.redis.get()?;
        if let Some(allowance) = self.spend_lease(&caller.key, tier) {
            return Some(Ok(allowance));
        }
        if self.paused.active() {
            return None;
        }
        let mut conn = redis.clone();
        let interval_us = interval_us(tier.per_second);
        let key = format!("{}:rl:{}", self.prefix, caller.key);
        let block = lease_block(tier);
        let mut invocation = self.script.key(key);
        invocation.arg(interval_us).arg(tier.burst).arg(block);
        let call = invocation.invoke_async::<(i64, i64, i64)>(&mut conn);
        let (granted, remaining, micros) =
            match tokio::time::timeout(Duration::from_millis(50), call).await {
                Ok(Ok(v)) => v,
                failed => {
                    crate::http::metrics::METRICS.redis_errors.inc();
                    if self.paused.start(REDIS_PAUSE) {
                        let why = match &failed {
                            Ok(Err(e)) => format!("{:?}", e.kind()),
                            _ => "timeout".to_owned(),
                        };
                        tracing::warn!(
                            reason = %why,
                            "cluster quota check failed; local limits only for 1 s"
                        );
                    }
                    return None;
                }
            };
        let secs = u64::try_from(micros)
            .unwrap_or(0)
            .div_ceil(1_000_000)
            .max(1);
        Some(if granted >= 1 {
            let remaining = u32::try_from(remaining).unwrap_or(0);
            let extra = u32::try_from(granted - 1).unwrap_or(0);
            if extra > 0
                && let Ok(mut leases) = self.leases.lock()
            {
                // Concurrent requests may each have leased a block: the tokens add up, never
                // replace each other (a replaced lease would be charged and never spent).
                let now = std::time::Instant::now();
                let lease = leases.entry(caller.key.clone()).or_insert(Lease {
                    tokens: 0,
                    until: now,
                    remaining,
                    reset_secs: secs,
                });
                if now >= lease.until {
                    lease.tokens = 0;
                }
                lease.tokens = lease.tokens.saturating_add(extra);
                lease.until = now + LEASE_TTL;
                lease.remaining = remaining;
                lease.reset_secs = secs;
            }
            crate::http::metrics::METRICS.lease_calls.inc();
            Ok(Allowance {
                limit: tier.burst,
                remaining: remaining.max(extra),
                reset_secs: secs,
            })
        } else {
            Err(ApiError::RateLimited {
                retry_after_secs: secs,
                limit: tier.burst,
            })
        })
    }

    /// Forgets idle per-key state (bounded memory under many client IPs).
    pub fn housekeeping(&self) {
        if let Ok(mut leases) = self.leases.lock() {
            let now = std::time::Instant::now();
            leases.retain(|_, l| l.until > now && l.tokens > 0);
        }
        for (_, limiter) in self.tiers.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
