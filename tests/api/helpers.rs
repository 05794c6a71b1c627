//! `spawn_app()` on port 0 and a real `redis-server` on a free port.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dcc_gateway::app::{Application, TrustSetup};
use dcc_gateway::config::{ClientConfig, Endpoint, Settings, Tier};
use dcc_gateway::http::AppState;
use dcc_gateway::trust::model::TrustSnapshot;

pub const KEY_PARTNER: &str = "partner-key-0123456789";
pub const KEY_LIMITED: &str = "limited-key-0123456789";
pub const KEY_VERIFY_ONLY: &str = "verify-only-key-012345";
pub const KEY_REVOKED: &str = "revoked-key-0123456789";

pub fn sha256_hex(s: &str) -> String {
    dcc_gateway::util::hex(ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref())
}

/// Test settings: three clients, no anonymous access, one worker.
pub fn settings() -> Settings {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut s = Settings {
        data_dir: std::env::temp_dir().join(format!("dccgw-api-{}-{n}", std::process::id())),
        bind: "127.0.0.1:0".into(),
        workers: Some(1),
        anonymous_tier: None,
        ..Settings::default()
    };
    s.tiers.insert(
        "tiny".into(),
        Tier {
            per_second: 1,
            burst: 3,
        },
    );
    s.clients = vec![
        ClientConfig {
            id: "airline".into(),
            key_sha256: sha256_hex(KEY_PARTNER),
            tier: "partner".into(),
            endpoints: vec![Endpoint::Verify, Endpoint::Batch, Endpoint::Image],
            revoked: false,
        },
        ClientConfig {
            id: "kiosk".into(),
            key_sha256: sha256_hex(KEY_LIMITED),
            tier: "tiny".into(),
            endpoints: vec![Endpoint::Verify],
            revoked: false,
        },
        ClientConfig {
            id: "gate".into(),
            key_sha256: sha256_hex(KEY_VERIFY_ONLY),
            tier: "partner".into(),
            endpoints: vec![Endpoint::Verify],
            revoked: false,
        },
        ClientConfig {
            id: "former".into(),
            key_sha256: sha256_hex(KEY_REVOKED),
            tier: "partner".into(),
            endpoints: vec![Endpoint::Verify],
            revoked: true,
        },
    ];
    s
}

pub struct TestApp {
    pub base: String,
    /// The admin listener's base URL, when the settings enable it.
    pub admin: Option<String>,
    pub state: Arc<AppState>,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` (a fresh client), the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        let res = http_client().get(self.url(path)).send().await.unwrap();
        res.text().await.unwrap()
    }

    /// `GET path` (a fresh client), the body as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let res = http_client().get(self.url(path)).send().await.unwrap();
        res.json().await.unwrap()
    }

    /// The JSON answer of `POST path` with `body` (JSON) and the partner key.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        self.post_bytes(path, "application/json", body.to_string().into_bytes())
            .await
    }

    /// The JSON answer of `POST path` with a raw `body` of `content_type` and the partner key.
    pub async fn post_bytes(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> serde_json::Value {
        http_client()
            .post(self.url(path))
            .header("X-API-Key", KEY_PARTNER)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The `/v1/trust/summary` entry of source `id`.
    pub async fn source_status(&self, id: &str) -> serde_json::Value {
        let summary = self.get_json("/v1/trust/summary").await;
        summary["sources"]
            .as_array()
            .and_then(|list| list.iter().find(|s| s["source"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no source {id} in {summary}"))
    }

    /// The verdict of `POST /v1/verify {"qr": qr}` with the partner key.
    pub async fn verdict(&self, qr: &str) -> serde_json::Value {
        self.post_json("/v1/verify", &serde_json::json!({ "qr": qr }))
            .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent at once; the returned future only awaits completion.
        drop(self.handle.stop(false));
    }
}

/// Starts the gateway on 127.0.0.1:0 in its own thread and actix system.
pub fn spawn_app(settings: Settings, snapshot: Option<TrustSnapshot>) -> TestApp {
    launch(settings, TrustSetup::Fixed(snapshot))
}

/// Starts an instance through the production start-up path ([`Application`]) on the
/// settings' listeners (port 0 in tests), in its own actix system.
pub fn launch(settings: Settings, trust: TrustSetup) -> TestApp {
    let app = Application::build_with(settings, trust).unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let admin = app.admin_addr().map(|a| format!("http://{a}"));
    let state = app.state();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = app.start().await.unwrap();
            tx.send(server.handle()).unwrap();
            let _ = server.await;
        });
    });
    let handle = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    TestApp {
        base,
        admin,
        state,
        handle,
    }
}

/// Starts `program` (a Debian redis binary) with `args` and waits until it listens on `port`.
pub fn spawn_listening(program: &str, args: &[&str], port: u16) -> Child {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} must be installed (scripts/test installs it): {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{program} on {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// A real redis-server, killed on drop.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
}

impl Redis {
    pub fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Redis { child: None, port };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn restart(&mut self) {
        let port = self.port.to_string();
        let args = [
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        self.child = Some(spawn_listening("redis-server", &args, self.port));
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `f` is true or panics after `secs`.
pub async fn eventually(secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            Instant::now() < deadline,
            "condition not reached in {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Installs rustls's ring provider (the gateway's reqwest has TLS without a default provider).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client builder for the tests (with the TLS provider installed, which reqwest's
/// `rustls-no-provider` build needs before any client is built).
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto();
    reqwest::Client::builder()
}

/// An HTTP client for the tests.
pub fn http_client() -> reqwest::Client {
    client_builder().build().unwrap()
}
