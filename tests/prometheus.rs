//! `examples/prometheus.rs` served on loopback, scraped with a real HTTP
//! client, and the Prometheus text format parsed.

#[path = "../examples/prometheus.rs"]
mod example;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>;

async fn get(client: &Http, url: &str) -> (StatusCode, String) {
    let resp = client
        .get(url.parse().expect("a valid url"))
        .await
        .expect("the server answers");
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("a whole body")
        .to_bytes();
    (status, String::from_utf8(body.to_vec()).expect("utf-8"))
}

/// Samples of the text format: `name{labels} value` → value; comments skipped.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .expect("a sample line: series, space, value");
            (series.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_serves_the_breakers_in_the_prometheus_text_format() {
    let app = example::App::new(example::install_recorder());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let serve = axum::serve(listener, example::router(app));
    let server = tokio::spawn(async move { serve.await });
    let client: Http = Client::builder(TokioExecutor::new()).build_http();

    assert_eq!(
        get(&client, &format!("{base}/work/ok")).await.0,
        StatusCode::OK
    );
    for _ in 0..2 {
        assert_eq!(
            get(&client, &format!("{base}/work/fail")).await.0,
            StatusCode::BAD_GATEWAY
        );
    }
    let rejected = get(&client, &format!("{base}/work/ok")).await.0;
    assert_eq!(rejected, StatusCode::SERVICE_UNAVAILABLE);

    let (status, text) = get(&client, &format!("{base}/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("# TYPE tripline_calls_total counter"),
        "{text}"
    );
    assert!(text.contains("# TYPE tripline_state gauge"), "{text}");
    let s = samples(&text);
    let value = |series: &str| {
        *s.get(series)
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(
        value(r#"tripline_calls_total{breaker="backend",outcome="success"}"#),
        1.0
    );
    assert_eq!(
        value(r#"tripline_calls_total{breaker="backend",outcome="failure"}"#),
        2.0
    );
    assert_eq!(
        value(r#"tripline_rejections_total{breaker="backend",reason="open"}"#),
        1.0
    );
    assert_eq!(
        value(r#"tripline_transitions_total{breaker="backend",from="closed",to="open"}"#),
        1.0
    );
    assert_eq!(
        value(r#"tripline_state{breaker="backend",state="open"}"#),
        1.0
    );
    assert_eq!(
        value(r#"tripline_state{breaker="backend",state="closed"}"#),
        0.0
    );
    server.abort();
}
