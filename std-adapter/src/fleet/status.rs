//! The fleet's state, read back: every replica's state hash, found with
//! `SCAN`.

use redis::AsyncCommands;

use super::link::{fault, Fault};
use super::{FleetEntry, FleetKey, FLEET_PREFIX};

/// Every breaker of every replica whose state hash has not expired, read
/// with `SCAN` (never `KEYS`, which blocks a large Redis); a key under the
/// prefix that is not a hash, or an entry that does not decode, is skipped.
/// With a `key`, so is every entry whose tag does not verify for the
/// replica whose hash holds it: forged hashes do not show up as replicas.
///
/// # Errors
/// Redis' error if it cannot be reached.
///
/// ```no_run
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = tripline::FleetKey::from_hex(&std::env::var("TRIPLINE_FLEET_KEY")?)?;
/// for e in tripline::fleet_status("redis://127.0.0.1:6379/", Some(&key)).await? {
///     println!("{:>12} {:>10} {}", e.replica, e.breaker, e.state);
/// }
/// # Ok(()) }
/// ```
pub async fn fleet_status(
    url: &str,
    fleet_key: Option<&FleetKey>,
) -> redis::RedisResult<Vec<FleetEntry>> {
    status(&redis::Client::open(url)?, fleet_key).await
}

pub(super) async fn status(
    client: &redis::Client,
    fleet_key: Option<&FleetKey>,
) -> redis::RedisResult<Vec<FleetEntry>> {
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{FLEET_PREFIX}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    let mut entries = Vec::new();
    for key in keys {
        let replica = key.trim_start_matches(FLEET_PREFIX).to_string();
        let fields: Vec<(String, String)> = match conn.hgetall(&key).await {
            Ok(fields) => fields,
            Err(e) if matches!(fault(&e), Fault::Refused) => continue,
            Err(e) => return Err(e),
        };
        for (breaker, json) in fields {
            if let Ok(mut entry) = serde_json::from_str::<FleetEntry>(&json) {
                entry.replica.clone_from(&replica);
                entry.breaker = breaker;
                if fleet_key.is_none_or(|k| entry.verify(k)) {
                    entries.push(entry);
                }
            }
        }
    }
    Ok(entries)
}
