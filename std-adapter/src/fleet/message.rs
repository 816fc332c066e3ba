//! What replicas exchange through Redis: the [`FleetKey`], the
//! [`FleetMessage`]s on the breakers' channels and the [`FleetEntry`]s of the
//! state hashes, and their HMAC-SHA256 tags.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tripline_core::{Reason, State};

use super::FleetConfigError;

/// The secret shared by a fleet's replicas: every message is signed with
/// HMAC-SHA256 under it, and a follower drops what does not verify.
///
/// Make one with `openssl rand -hex 32`, hand it to every replica as a
/// secret (an environment variable, a mounted file), and read it with
/// [`from_hex`](FleetKey::from_hex).
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{FleetConfigError, FleetKey};
/// let key = FleetKey::from_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")?;
/// assert_eq!(format!("{key:?}"), "FleetKey(..)"); // never printed
/// assert_eq!(FleetKey::new(b"short").unwrap_err(), FleetConfigError::Key);
/// # Ok::<(), FleetConfigError>(())
/// ```
#[derive(Clone)]
pub struct FleetKey {
    mac: Hmac<Sha256>,
}

impl FleetKey {
    /// The shortest key accepted, in bytes; 32 is what `openssl rand -hex 32` gives.
    pub const MIN_LEN: usize = 16;

    /// A key of raw bytes.
    ///
    /// # Errors
    /// [`FleetConfigError::Key`] if shorter than [`MIN_LEN`](FleetKey::MIN_LEN).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// assert!(tripline::FleetKey::new([1; 32]).is_ok());
    /// ```
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, FleetConfigError> {
        let key = key.as_ref();
        if key.len() < FleetKey::MIN_LEN {
            return Err(FleetConfigError::Key);
        }
        let mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| FleetConfigError::Key)?;
        Ok(FleetKey { mac })
    }

    /// A key written in hex (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`FleetConfigError::Key`] if not hex or shorter than [`MIN_LEN`](FleetKey::MIN_LEN) bytes.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// assert!(tripline::FleetKey::from_hex("not hex").is_err());
    /// ```
    pub fn from_hex(hex: &str) -> Result<Self, FleetConfigError> {
        let hex = hex.trim().as_bytes();
        if !hex.len().is_multiple_of(2) {
            return Err(FleetConfigError::Key);
        }
        let bytes: Option<Vec<u8>> = hex
            .chunks_exact(2)
            .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
            .collect();
        FleetKey::new(bytes.ok_or(FleetConfigError::Key)?)
    }
}

impl std::fmt::Debug for FleetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FleetKey(..)")
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Feeds one length-prefixed field to a MAC, so no two field lists encode alike.
fn field(mac: &mut Hmac<Sha256>, bytes: &[u8]) {
    mac.update(&(bytes.len() as u64).to_le_bytes());
    mac.update(bytes);
}

/// Checks a hex tag in constant time (the comparison is `hmac`'s).
fn verify_tag(mac: Hmac<Sha256>, tag: Option<&str>) -> bool {
    let Some(tag) = tag else {
        return false;
    };
    let tag = tag.as_bytes();
    if tag.len() != 64 {
        return false;
    }
    let mut raw = [0_u8; 32];
    for (out, pair) in raw.iter_mut().zip(tag.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
            return false;
        };
        *out = hi << 4 | lo;
    }
    mac.verify_slice(&raw).is_ok()
}

/// One event on a breaker's channel, as JSON, signed with the fleet key.
///
/// The tag is HMAC-SHA256 over a fixed label, the replica, the breaker,
/// the event, the send time and the sequence number, each length-prefixed:
/// changing any of them, or moving the message to another breaker's
/// channel, makes a follower drop it.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tripline::{FleetEvent, FleetKey, FleetMessage};
///
/// let key = FleetKey::new([7; 32])?;
/// let mut message = FleetMessage {
///     replica: "eu-1".into(),
///     breaker: "payments".into(),
///     kind: FleetEvent::Rejections { count: 3 },
///     sent_ms: 1_700_000_000_000,
///     seq: 1,
///     mac: None,
/// };
/// message.sign(&key);
/// assert!(message.verify(&key));
/// message.kind = FleetEvent::Rejections { count: 4 };
/// assert!(!message.verify(&key));
/// # Ok::<(), tripline::FleetConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FleetMessage {
    /// The replica that sent it.
    pub replica: String,
    /// The breaker's name; a follower drops a message whose name is not its channel's.
    pub breaker: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: FleetEvent,
    /// When it was sent: ms since the Unix epoch, by the sender's clock.
    #[serde(default)]
    pub sent_ms: u64,
    /// The sender's sequence number: rises by one per message, and starts
    /// from the time the sender started (µs since the epoch), so it keeps
    /// rising across restarts.
    #[serde(default)]
    pub seq: u64,
    /// The HMAC-SHA256 tag, in hex; absent when the fleet runs without a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl FleetMessage {
    fn tag(&self, key: &FleetKey) -> Hmac<Sha256> {
        let mut mac = key.mac.clone();
        mac.update(b"tripline-fleet-message-v1");
        field(&mut mac, self.replica.as_bytes());
        field(&mut mac, self.breaker.as_bytes());
        field(
            &mut mac,
            &serde_json::to_vec(&self.kind).unwrap_or_default(),
        );
        mac.update(&self.sent_ms.to_le_bytes());
        mac.update(&self.seq.to_le_bytes());
        mac
    }

    /// Sets [`mac`](FleetMessage::mac) to this message's tag under `key`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// # use tripline::{FleetEvent, FleetKey, FleetMessage};
    /// # let mut message = FleetMessage { replica: "a".into(), breaker: "b".into(),
    /// #     kind: FleetEvent::Rejections { count: 1 }, sent_ms: 0, seq: 0, mac: None };
    /// message.sign(&FleetKey::new([7; 32])?);
    /// assert_eq!(message.mac.as_ref().map(String::len), Some(64));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn sign(&mut self, key: &FleetKey) {
        self.mac = Some(to_hex(&self.tag(key).finalize().into_bytes()));
    }

    /// Whether [`mac`](FleetMessage::mac) is this message's tag under `key`
    /// (compared in constant time).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// # use tripline::{FleetEvent, FleetKey, FleetMessage};
    /// # let mut message = FleetMessage { replica: "a".into(), breaker: "b".into(),
    /// #     kind: FleetEvent::Rejections { count: 1 }, sent_ms: 0, seq: 0, mac: None };
    /// let key = FleetKey::new([7; 32])?;
    /// assert!(!message.verify(&key)); // unsigned
    /// message.sign(&FleetKey::new([8; 32])?);
    /// assert!(!message.verify(&key)); // another key
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn verify(&self, key: &FleetKey) -> bool {
        verify_tag(self.tag(key), self.mac.as_deref())
    }
}

/// What a [`FleetMessage`] reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FleetEvent {
    /// The breaker changed state.
    StateChanged {
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        reason: Reason,
        /// For Open: how long it stays open from when this was sent, in ms.
        open_for_ms: Option<u64>,
    },
    /// Calls rejected since the last such message (sent at most once per second).
    Rejections {
        /// How many.
        count: u64,
    },
}

/// One breaker of one replica, from the fleet's state hashes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FleetEntry {
    /// The replica.
    #[serde(default)]
    pub replica: String,
    /// The breaker's name.
    #[serde(default)]
    pub breaker: String,
    /// Its state at the last refresh.
    pub state: State,
    /// How long it stays open, in ms, if open.
    pub retry_after_ms: Option<u64>,
    /// Calls it rejected since it started.
    pub rejected: u64,
    /// When the entry was written: ms since the Unix epoch, by the replica's clock.
    #[serde(default)]
    pub sent_ms: u64,
    /// The HMAC-SHA256 tag over the replica, breaker, state, open time,
    /// rejections and write time, in hex; absent without a fleet key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl FleetEntry {
    fn tag(&self, key: &FleetKey) -> Hmac<Sha256> {
        let mut mac = key.mac.clone();
        mac.update(b"tripline-fleet-entry-v1");
        field(&mut mac, self.replica.as_bytes());
        field(&mut mac, self.breaker.as_bytes());
        let body = (&self.state, self.retry_after_ms, self.rejected);
        field(&mut mac, &serde_json::to_vec(&body).unwrap_or_default());
        mac.update(&self.sent_ms.to_le_bytes());
        mac
    }

    /// Sets [`mac`](FleetEntry::mac) to this entry's tag under `key`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{FleetEntry, FleetKey, State};
    /// let key = FleetKey::new([7; 32])?;
    /// let mut entry = FleetEntry { replica: "eu-1".into(), breaker: "db".into(), state: State::Closed,
    ///     retry_after_ms: None, rejected: 0, sent_ms: 0, mac: None };
    /// entry.sign(&key);
    /// assert!(entry.verify(&key));
    /// entry.replica = "eu-2".into(); // copied under another replica's hash
    /// assert!(!entry.verify(&key));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    pub fn sign(&mut self, key: &FleetKey) {
        self.mac = Some(to_hex(&self.tag(key).finalize().into_bytes()));
    }

    /// Whether [`mac`](FleetEntry::mac) is this entry's tag under `key`.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::{FleetEntry, FleetKey, State};
    /// let entry = FleetEntry { replica: "eu-1".into(), breaker: "db".into(), state: State::Open,
    ///     retry_after_ms: Some(5_000), rejected: 9, sent_ms: 0, mac: None };
    /// assert!(!entry.verify(&FleetKey::new([7; 32])?));
    /// # Ok::<(), tripline::FleetConfigError>(())
    /// ```
    #[must_use]
    pub fn verify(&self, key: &FleetKey) -> bool {
        verify_tag(self.tag(key), self.mac.as_deref())
    }
}
