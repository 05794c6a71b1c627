//! Rate limiting: a per-instance `governor` limiter per tier as the cheap first line, and a
//! cluster-wide GCRA quota in Redis (one atomic Lua script, Redis's own clock) so N instances
//! enforce one quota per client.
//!
//! If Redis is unreachable or slow (> 50 ms) the cluster check is skipped: the local limiter
//! still applies and verification goes on. Answers carry `RateLimit-Limit`,
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

/// GCRA in Redis: KEYS[1] = bucket; ARGV = emission interval (µs), burst. Returns
/// {allowed (1/0), remaining, retry_after_or_reset (µs)}.
const GCRA_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if allow_at > now then
  return {0, 0, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, math.floor((now - allow_at) / interval), new_tat - now}
"#;

/// Local and cluster-wide limiters.
pub struct Limiter {
    tiers: HashMap<String, (Tier, Arc<Keyed>)>,
    redis: Arc<OnceLock<redis::aio::ConnectionManager>>,
    script: redis::Script,
    prefix: String,
}

impl Limiter {
    pub fn new(
        tiers: &HashMap<String, Tier>,
        redis: Arc<OnceLock<redis::aio::ConnectionManager>>,
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
            script: redis::Script::new(GCRA_LUA),
            prefix: prefix.to_owned(),
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

    async fn cluster_check(
        &self,
        caller: &Caller,
        tier: &Tier,
    ) -> Option<Result<Allowance, ApiError>> {
        let mut conn = self.redis.get()?.clone();
        let interval_us = 1_000_000 / u64::from(tier.per_second.max(1));
        let key = format!("{}:rl:{}", self.prefix, caller.key);
        let mut invocation = self.script.key(key);
        invocation.arg(interval_us).arg(tier.burst);
        let call = invocation.invoke_async::<(i64, i64, i64)>(&mut conn);
        let (allowed, remaining, micros) =
            match tokio::time::timeout(Duration::from_millis(50), call).await {
                Ok(Ok(v)) => v,
                _ => {
                    crate::http::metrics::METRICS.redis_errors.inc();
                    return None;
                }
            };
        let secs = u64::try_from(micros)
            .unwrap_or(0)
            .div_ceil(1_000_000)
            .max(1);
        Some(if allowed == 1 {
            Ok(Allowance {
                limit: tier.burst,
                remaining: u32::try_from(remaining).unwrap_or(0),
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
        for (_, limiter) in self.tiers.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
