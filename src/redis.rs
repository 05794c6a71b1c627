//! The one way this gateway connects to Redis: a `ConnectionManager` (it reconnects by itself)
//! put into a shared cell once the first connection succeeds. Start-up makes one bounded
//! attempt ([`connect_once`]) so the stored snapshot can come first; the server keeps trying
//! in the background ([`connect_in_background`]) when Redis was not there yet. Pub/sub needs
//! a dedicated connection: [`subscribe`].

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// One bounded attempt to connect to Redis (start-up: the stored snapshot comes first).
pub async fn connect_once(
    url: &str,
    cell: &OnceLock<redis::aio::ConnectionManager>,
    budget: Duration,
) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_millis(500)));
    match tokio::time::timeout(budget, client.get_connection_manager_with_config(config)).await {
        Ok(Ok(manager)) => {
            let _ = cell.set(manager);
            tracing::info!("redis connected");
            true
        }
        _ => false,
    }
}

/// Connects to Redis in the background, retrying until it answers.
pub fn connect_in_background(url: String, cell: Arc<OnceLock<redis::aio::ConnectionManager>>) {
    tokio::task::spawn_local(async move {
        loop {
            if let Ok(client) = redis::Client::open(url.as_str()) {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(Duration::from_millis(200)));
                let attempt = tokio::time::timeout(
                    Duration::from_secs(2),
                    client.get_connection_manager_with_config(config),
                )
                .await;
                if let Ok(Ok(manager)) = attempt {
                    let _ = cell.set(manager);
                    tracing::info!("redis connected");
                    return;
                }
            }
            tracing::warn!("redis not reachable yet; local rate limits only, retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// A dedicated pub/sub connection subscribed to `channel` (bounded: 2 s to connect); `None`
/// when Redis does not answer (the caller retries).
pub async fn subscribe(url: &str, channel: &str) -> Option<redis::aio::PubSub> {
    let client = redis::Client::open(url).ok()?;
    let mut pubsub = tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub())
        .await
        .ok()?
        .ok()?;
    pubsub.subscribe(channel).await.ok()?;
    Some(pubsub)
}
