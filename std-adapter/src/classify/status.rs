//! [`HttpClassifier`]: HTTP responses by status, `Retry-After` as the open time.

use std::time::{Duration, SystemTime};

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use tripline_core::Outcome;

use super::Classify;

/// Classifies `Result<http::Response<B>, E>`: the answer of a hyper, axum
/// or reqwest-style tower service.
///
/// By default a 5xx or a 429 is a failure, every other status a success,
/// and a transport error (`Err`) a failure. A 429 or 503 that carries
/// `Retry-After` (delta-seconds, or an HTTP-date taken relative to
/// [`SystemTime::now`], clamped at zero) becomes
/// [`Outcome::FailureRetryAfter`], so the breaker opens for as long as the
/// server asked: at most the breaker configuration's `max_retry_after`
/// (10 minutes by default), which the breaker applies, so one setting
/// caps every source of retry-after. A `Retry-After` that is neither is
/// ignored: the response is a plain failure.
///
/// It is a `Copy` value with a nameable type, so a guarded service can be
/// stored in a struct or an axum state.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use std::time::Duration;
/// use http::{Response, StatusCode};
/// use tripline::Outcome;
/// use tripline::{Classify, HttpClassifier};
///
/// let http = HttpClassifier::new();
/// let answer = |status: u16, retry_after: &str| {
///     let mut r = Response::builder().status(status);
///     if !retry_after.is_empty() {
///         r = r.header("retry-after", retry_after);
///     }
///     Ok::<_, std::io::Error>(r.body(()).unwrap())
/// };
/// assert_eq!(http.classify(&answer(200, "")), Outcome::Success);
/// assert_eq!(http.classify(&answer(404, "")), Outcome::Success);
/// assert_eq!(http.classify(&answer(502, "")), Outcome::Failure);
/// assert_eq!(http.classify(&answer(429, "30")), Outcome::FailureRetryAfter(Duration::from_secs(30)));
/// assert_eq!(http.classify(&Err::<Response<()>, _>("reset")), Outcome::Failure);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HttpClassifier {
    is_failure: fn(StatusCode) -> bool,
    client_errors_fail: bool,
    honour_retry_after: bool,
}

impl HttpClassifier {
    /// 5xx and 429 fail, `Retry-After` honoured on 429 and 503.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use http::Response;
    /// use tripline::Outcome;
    /// use tripline::{Classify, HttpClassifier};
    ///
    /// let ok = Ok::<_, ()>(Response::builder().status(503).body(()).unwrap());
    /// assert_eq!(HttpClassifier::new().classify(&ok), Outcome::Failure);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        HttpClassifier {
            is_failure: HttpClassifier::default_failure,
            client_errors_fail: false,
            honour_retry_after: true,
        }
    }

    /// The default failing statuses: every 5xx, and 429 Too Many Requests.
    /// A building block for [`failure_statuses`](Self::failure_statuses).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use http::StatusCode;
    /// use tripline::HttpClassifier;
    ///
    /// assert!(HttpClassifier::default_failure(StatusCode::BAD_GATEWAY));
    /// assert!(HttpClassifier::default_failure(StatusCode::TOO_MANY_REQUESTS));
    /// assert!(!HttpClassifier::default_failure(StatusCode::NOT_FOUND));
    /// ```
    #[must_use]
    pub fn default_failure(status: StatusCode) -> bool {
        status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
    }

    /// Which statuses fail, instead of [`default_failure`](Self::default_failure).
    /// Any other status succeeds (or fails as a 4xx, see
    /// [`client_errors_fail`](Self::client_errors_fail)).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use http::{Response, StatusCode};
    /// use tripline::Outcome;
    /// use tripline::{Classify, HttpClassifier};
    ///
    /// // 501 Not Implemented is a wrong request, not a sick backend; 408 is a slow one.
    /// fn failing(status: StatusCode) -> bool {
    ///     status == StatusCode::REQUEST_TIMEOUT
    ///         || (HttpClassifier::default_failure(status) && status != StatusCode::NOT_IMPLEMENTED)
    /// }
    /// let http = HttpClassifier::new().failure_statuses(failing);
    /// let answer = |status: u16| Ok::<_, ()>(Response::builder().status(status).body(()).unwrap());
    /// assert_eq!(http.classify(&answer(501)), Outcome::Success);
    /// assert_eq!(http.classify(&answer(408)), Outcome::Failure);
    /// ```
    #[must_use]
    pub const fn failure_statuses(mut self, is_failure: fn(StatusCode) -> bool) -> Self {
        self.is_failure = is_failure;
        self
    }

    /// Whether every 4xx counts as a failure too (default: no, a 4xx is
    /// the caller's mistake, not the backend's health; 429 fails by default
    /// all the same).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use http::Response;
    /// use tripline::Outcome;
    /// use tripline::{Classify, HttpClassifier};
    ///
    /// let not_found = Ok::<_, ()>(Response::builder().status(404).body(()).unwrap());
    /// assert_eq!(HttpClassifier::new().classify(&not_found), Outcome::Success);
    /// assert_eq!(HttpClassifier::new().client_errors_fail(true).classify(&not_found), Outcome::Failure);
    /// ```
    #[must_use]
    pub const fn client_errors_fail(mut self, fail: bool) -> Self {
        self.client_errors_fail = fail;
        self
    }

    /// Whether a failing 429 or 503 with `Retry-After` sets the open time
    /// (default: yes). When not, it is a plain [`Outcome::Failure`].
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use http::Response;
    /// use tripline::Outcome;
    /// use tripline::{Classify, HttpClassifier};
    ///
    /// let busy = Ok::<_, ()>(Response::builder().status(503).header("retry-after", "5").body(()).unwrap());
    /// assert_eq!(HttpClassifier::new().retry_after(false).classify(&busy), Outcome::Failure);
    /// ```
    #[must_use]
    pub const fn retry_after(mut self, honour: bool) -> Self {
        self.honour_retry_after = honour;
        self
    }

    fn response_outcome(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        now: impl FnOnce() -> SystemTime,
    ) -> Outcome {
        if (self.is_failure)(status) {
            let asks_to_wait = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE;
            let wait = match headers.get(RETRY_AFTER) {
                Some(value) if asks_to_wait && self.honour_retry_after => {
                    parse_retry_after(value, now)
                }
                _ => None,
            };
            match wait {
                Some(wait) => Outcome::FailureRetryAfter(wait),
                None => Outcome::Failure,
            }
        } else if self.client_errors_fail && status.is_client_error() {
            Outcome::Failure
        } else {
            Outcome::Success
        }
    }
}

impl Default for HttpClassifier {
    /// [`HttpClassifier::new`].
    fn default() -> Self {
        HttpClassifier::new()
    }
}

impl<B, E> Classify<Response<B>, E> for HttpClassifier {
    fn classify(&self, result: &Result<Response<B>, E>) -> Outcome {
        match result {
            Ok(response) => {
                self.response_outcome(response.status(), response.headers(), SystemTime::now)
            }
            Err(_) => Outcome::Failure,
        }
    }
}

/// `Retry-After` as a wait: delta-seconds (saturating, never overflowing)
/// or an HTTP-date relative to `now` (zero if past); `None` if neither.
fn parse_retry_after(value: &HeaderValue, now: impl FnOnce() -> SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim_matches([' ', '\t']);
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text.bytes().fold(0u64, |secs, digit| {
            secs.saturating_mul(10)
                .saturating_add(u64::from(digit - b'0'))
        });
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_SECS: u64 = 1_784_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn outcome(http: HttpClassifier, status: u16, retry_after: Option<&[u8]>) -> Outcome {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_bytes(value).unwrap());
        }
        http.response_outcome(StatusCode::from_u16(status).unwrap(), &headers, now)
    }

    fn secs(s: u64) -> Outcome {
        Outcome::FailureRetryAfter(Duration::from_secs(s))
    }

    #[test]
    fn server_errors_and_429_fail_everything_else_succeeds() {
        let http = HttpClassifier::new();
        for status in [500, 501, 502, 503, 504, 599, 429] {
            assert_eq!(outcome(http, status, None), Outcome::Failure, "{status}");
        }
        for status in [100, 200, 204, 301, 304, 400, 401, 404, 408, 499] {
            assert_eq!(outcome(http, status, None), Outcome::Success, "{status}");
        }
    }

    #[test]
    fn a_transport_error_fails() {
        let err: Result<Response<()>, &str> = Err("connection reset");
        assert_eq!(HttpClassifier::new().classify(&err), Outcome::Failure);
    }

    #[test]
    fn retry_after_seconds_on_429_and_503_only() {
        let http = HttpClassifier::new();
        assert_eq!(outcome(http, 429, Some(b"30")), secs(30));
        assert_eq!(outcome(http, 503, Some(b"0")), secs(0));
        assert_eq!(outcome(http, 503, Some(b" 7\t")), secs(7));
        assert_eq!(outcome(http, 500, Some(b"30")), Outcome::Failure);
        assert_eq!(outcome(http, 502, Some(b"30")), Outcome::Failure);
        assert_eq!(outcome(http, 200, Some(b"30")), Outcome::Success);
        assert_eq!(outcome(http, 301, Some(b"30")), Outcome::Success);
    }

    #[test]
    fn retry_after_as_an_http_date_counts_from_now_and_clamps_at_zero() {
        let http = HttpClassifier::new();
        let later = httpdate::fmt_http_date(now() + Duration::from_secs(120));
        assert_eq!(outcome(http, 503, Some(later.as_bytes())), secs(120));
        let earlier = httpdate::fmt_http_date(now() - Duration::from_secs(3600));
        assert_eq!(outcome(http, 429, Some(earlier.as_bytes())), secs(0));
        assert_eq!(
            outcome(http, 429, Some(b"Sun, 06 Nov 1994 08:49:37 GMT")),
            secs(0)
        );
    }

    #[test]
    fn huge_retry_after_values_saturate_without_overflow() {
        // The breaker caps them (its `max_retry_after`); parsing only must
        // not overflow.
        let http = HttpClassifier::new();
        assert_eq!(outcome(http, 429, Some(b"99999999")), secs(99_999_999));
        let digits = [b'9'; 400];
        assert_eq!(outcome(http, 429, Some(&digits)), secs(u64::MAX));
        assert_eq!(
            outcome(http, 429, Some(b"18446744073709551616")),
            secs(u64::MAX)
        );
        assert_eq!(
            outcome(http, 429, Some(b"18446744073709551615")),
            secs(u64::MAX)
        );
        let far = outcome(http, 503, Some(b"Fri, 31 Dec 9999 23:59:59 GMT"));
        assert!(
            matches!(far, Outcome::FailureRetryAfter(d) if d > Duration::from_secs(200 * 365 * 86_400))
        );
    }

    #[test]
    fn a_bad_retry_after_is_a_plain_failure() {
        let http = HttpClassifier::new();
        for bad in [
            &b""[..],
            b"   ",
            b"-5",
            b"+5",
            b"1.5",
            b"30s",
            b"0x10",
            b"soon",
            b"Sun, 31 Feb 2026 08:49:37 GMT",
            b"Sun, 06 Nov 1994 25:49:37 GMT",
            b"\xff\xfe",
        ] {
            assert_eq!(outcome(http, 503, Some(bad)), Outcome::Failure, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_can_be_turned_off() {
        let http = HttpClassifier::new().retry_after(false);
        assert_eq!(outcome(http, 429, Some(b"30")), Outcome::Failure);
    }

    #[test]
    fn failing_statuses_and_client_errors_are_configurable() {
        let only_503 =
            HttpClassifier::new().failure_statuses(|s| s == StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(outcome(only_503, 500, None), Outcome::Success);
        assert_eq!(outcome(only_503, 429, Some(b"30")), Outcome::Success);
        assert_eq!(outcome(only_503, 503, Some(b"30")), secs(30));

        let strict = HttpClassifier::new().client_errors_fail(true);
        assert_eq!(outcome(strict, 404, None), Outcome::Failure);
        assert_eq!(outcome(strict, 400, None), Outcome::Failure);
        assert_eq!(outcome(strict, 429, Some(b"2")), secs(2));
        assert_eq!(outcome(strict, 302, None), Outcome::Success);
        assert_eq!(outcome(strict, 200, None), Outcome::Success);
    }
}
