//! Two replicas of a service sharing breaker news through Redis.
//! Start a Redis first (`redis-server --port 6379 --save ''`), then run
//! `cargo run --example fleet --features redis` (or set `REDIS_URL`, and
//! `TRIPLINE_FLEET_KEY` to 64 hex digits).
//!
//! Replica "eu-1" sees the payments backend fail and opens; replica "eu-2"
//! follows it without paying the failures itself, then probes on its own.
//! The fleet view is read back from Redis.

use std::time::Duration;

use tripline::{fleet_status, Config, Fleet, FleetConfig, FleetKey, State};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let config = Config::builder()
        .consecutive_failures(3)
        .open_duration(Duration::from_secs(2))
        .build()?;

    // The fleet key: `openssl rand -hex 32`, shared by every replica as a secret.
    let hex = std::env::var("TRIPLINE_FLEET_KEY").unwrap_or_else(|_| "5eed".repeat(16));
    let key = FleetKey::from_hex(&hex)?;
    let replica = |name| {
        FleetConfig::builder(url.as_str(), name)
            .key(key.clone())
            .build()
    };
    let eu1 = Fleet::new(replica("eu-1")?);
    let eu2 = Fleet::new(replica("eu-2")?);
    eu2.follow("payments", Duration::from_secs(1));
    let (_t1, _t2) = (eu1.start(), eu2.start());
    let payments1 = eu1.registry().get_or_create("payments", config);
    let payments2 = eu2.registry().get_or_create("payments", config);
    eu1.registry().get_or_create("search", config);

    wait(
        || eu1.stats().connected && eu2.stats().subscribed,
        "both replicas to reach Redis",
    )
    .await?;
    for _ in 0..3 {
        let _ = payments1.call(|| Err::<(), _>("503 from the payments API"));
    }
    println!("eu-1 payments: {}", payments1.state());
    wait(|| payments2.state() == State::Open, "eu-2 to follow").await?;
    println!(
        "eu-2 payments: {} (followed eu-1; retry in {:?})",
        payments2.state(),
        payments2.retry_after().unwrap_or_default()
    );
    tokio::time::sleep(Duration::from_millis(300)).await; // let the heartbeat land

    println!("\nfleet view from Redis:");
    for e in fleet_status(&url, Some(&key)).await? {
        println!(
            "  {:<6} {:<10} {:<10} retry_after_ms={:?}",
            e.replica,
            e.breaker,
            e.state.as_str(),
            e.retry_after_ms
        );
    }
    println!("\neu-1 {:?}\neu-2 {:?}", eu1.stats(), eu2.stats());
    Ok(())
}

async fn wait(mut done: impl FnMut() -> bool, what: &str) -> Result<(), String> {
    for _ in 0..500 {
        if done() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(format!("timed out waiting for {what} (is Redis running?)"))
}
