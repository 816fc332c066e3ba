//! Breakers scraped by Prometheus: `/metrics` in the text format, on loopback.
//! Run with `cargo run --example prometheus --features metrics,tokio`, then
//! `curl 127.0.0.1:9898/metrics`. With `--features metrics,dashboard` the
//! live dashboard is at `http://127.0.0.1:9898/dashboard` too.
//!
//! `/work/ok` and `/work/fail` are calls through the breaker `backend`; two
//! failures in a row open it. Nothing is recorded on a call's path: the
//! `/metrics` handler folds the breakers' own counters into the recorder,
//! then renders.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tripline::{BreakerMetrics, CallError, Config, Registry};

/// What the handlers share.
#[derive(Clone)]
pub struct App {
    /// The service's breakers, built through `metrics`.
    pub registry: Arc<Registry>,
    /// Folds the registry into the recorder.
    pub metrics: BreakerMetrics,
    /// Renders the recorder.
    pub prometheus: PrometheusHandle,
}

impl App {
    /// A registry whose breakers report through `metrics`, rendered by `prometheus`.
    pub fn new(prometheus: PrometheusHandle) -> Self {
        let metrics = BreakerMetrics::new();
        let registry = Arc::new(Registry::with_factory(metrics.factory()));
        // Created up front, so the dashboard and `/metrics` show it at once.
        registry.get_or_create("backend", config());
        App {
            registry,
            metrics,
            prometheus,
        }
    }
}

/// Trips after two failures in a row, for 30 s.
pub fn config() -> Config {
    Config::builder()
        .consecutive_failures(2)
        .open_duration(Duration::from_secs(30))
        .build()
        .expect("a valid configuration")
}

async fn work(State(app): State<App>, ok: bool) -> StatusCode {
    let backend = app.registry.get_or_create("backend", config());
    match backend.call(|| if ok { Ok(()) } else { Err("backend down") }) {
        Ok(()) => StatusCode::OK,
        Err(CallError::Inner(_)) => StatusCode::BAD_GATEWAY,
        Err(CallError::Rejected(_)) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn scrape(State(app): State<App>) -> String {
    app.metrics.record_registry(&app.registry);
    app.prometheus.render()
}

/// The service: `/work/ok`, `/work/fail`, `/metrics` (and `/dashboard`).
pub fn router(app: App) -> Router {
    let routes = Router::new()
        .route("/work/ok", get(|s| work(s, true)))
        .route("/work/fail", get(|s| work(s, false)))
        .route("/metrics", get(scrape));
    #[cfg(feature = "dashboard")]
    let routes = routes.nest(
        "/dashboard",
        tripline::dashboard::router(Arc::clone(&app.registry)),
    );
    routes.with_state(app)
}

/// Installs the Prometheus recorder as the global one.
pub fn install_recorder() -> PrometheusHandle {
    PrometheusBuilder::new()
        .install_recorder()
        .expect("no other global recorder")
}

#[allow(dead_code)] // the test includes this file for `router` only
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = App::new(install_recorder());
    let addr = SocketAddr::from(([127, 0, 0, 1], 9898));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "serving http://{addr}/metrics (and /work/ok, /work/fail, /dashboard with the feature)"
    );
    axum::serve(listener, router(app)).await
}
