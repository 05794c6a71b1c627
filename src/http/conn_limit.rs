//! Per-IP cap on concurrent connections (`http.max_connections_per_ip`, 0 = off).
//!
//! Counted at accept time, in actix-web's `on_connect` hook: every connection gets a
//! [`ConnGuard`] in its connection extensions, which the HTTP dispatcher drops when the
//! connection ends, and the drop gives the slot back. A connection over the cap is answered at
//! once, before any request is read, with `429 Too Many Requests`
//! (`{"error":{"code":"TOO_MANY_CONNECTIONS",…}}`, `Connection: close`, `Retry-After: 1`) and
//! shut down, so it holds no worker slot for the header timeout. Connections that are idle or
//! slow count too: that is what stops one address from pinning every slot with slowloris
//! sockets. Other addresses are not affected.
//!
//! The address is the TCP peer. Behind a load balancer every connection comes from the
//! balancer's address: raise the cap to the balancer's pool size there, or set it to 0 and let
//! the balancer enforce it (README "Scaling out").
//!
//! The table holds one entry per address with live connections (entries at zero are removed),
//! so it is bounded by the number of open connections.

use std::any::Any;
use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Shutdown};
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::dev::Extensions;

use super::error::ApiError;
use super::metrics::METRICS;

/// Live connections per peer address.
#[derive(Debug)]
pub struct ConnLimiter {
    cap: usize,
    live: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; dropping it releases the slot.
#[derive(Debug)]
pub struct ConnGuard {
    limiter: Arc<ConnLimiter>,
    ip: IpAddr,
}

impl ConnLimiter {
    /// A limiter allowing `cap` concurrent connections per address (`0` = unlimited).
    pub fn new(cap: usize) -> Arc<ConnLimiter> {
        Arc::new(ConnLimiter {
            cap,
            live: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a new connection from `ip`; `None` when the address is at its cap (nothing is
    /// counted then).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnGuard> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let n = live.get(&ip).copied().unwrap_or(0);
        if self.cap != 0 && n >= self.cap {
            return None;
        }
        live.insert(ip, n + 1);
        Some(ConnGuard {
            limiter: Arc::clone(self),
            ip,
        })
    }

    /// Live connections from `ip`.
    #[cfg(test)]
    fn live(&self, ip: IpAddr) -> usize {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.get(&ip).copied().unwrap_or(0)
    }

    /// The `on_connect` hook: counts the connection or refuses it.
    pub fn on_connect(self: &Arc<Self>, conn: &dyn Any, ext: &mut Extensions) {
        let Some(stream) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(peer) = stream.peer_addr() else {
            return;
        };
        match self.admit(peer.ip()) {
            Some(guard) => {
                ext.insert(guard);
            }
            None => {
                METRICS.connections_refused.inc();
                refuse(stream);
            }
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut live = self
            .limiter
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = live.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                live.remove(&self.ip);
            }
        }
    }
}

/// Writes the 429 answer (it fits any socket buffer, so the non-blocking write completes) and
/// shuts the socket down; the dispatcher then reads end-of-stream and drops the connection.
fn refuse(stream: &actix_web::rt::net::TcpStream) {
    let err = ApiError::TooManyConnections;
    let body = err.body_json();
    let mut reply = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in super::SECURITY_HEADERS {
        reply.push_str(&format!("{name}: {value}\r\n"));
    }
    reply.push_str("\r\n");
    reply.push_str(&body);
    let sock = socket2::SockRef::from(stream);
    let _ = (&*sock).write_all(reply.as_bytes());
    let _ = sock.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_address_and_given_back() {
        let limiter = ConnLimiter::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let g1 = limiter.admit(a).unwrap();
        let g2 = limiter.admit(a).unwrap();
        assert!(
            limiter.admit(a).is_none(),
            "the third connection is refused"
        );
        assert!(
            limiter.admit(b).is_some(),
            "another address is not affected"
        );
        assert_eq!(limiter.live(a), 2);
        drop(g1);
        assert_eq!(limiter.live(a), 1);
        let _g3 = limiter.admit(a).expect("a released slot is reusable");
        drop(g2);
        assert_eq!(limiter.live(a), 1);
        assert_eq!(
            limiter.live.lock().unwrap().len(),
            1,
            "b's entry was removed"
        );
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = ConnLimiter::new(0);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let guards: Vec<_> = (0..1000).map(|_| limiter.admit(a).unwrap()).collect();
        assert_eq!(limiter.live(a), 1000);
        drop(guards);
        assert_eq!(limiter.live(a), 0);
        assert!(limiter.live.lock().unwrap().is_empty());
    }
}
