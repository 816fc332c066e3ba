//! [`GrpcClassifier`]: gRPC status codes of an `http::Response`.

use http::{Response, StatusCode};
use tripline_core::Outcome;

use super::Classify;

const UNKNOWN: i32 = 2;
const DEADLINE_EXCEEDED: i32 = 4;
const UNIMPLEMENTED: i32 = 12;
const PERMISSION_DENIED: i32 = 7;
const RESOURCE_EXHAUSTED: i32 = 8;
const INTERNAL: i32 = 13;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;
/// The highest code gRPC defines; any other is read as UNKNOWN.
const LAST_CODE: i32 = 16;

/// Classifies gRPC calls by status code, at the HTTP level of a tonic
/// `Channel` (or any tower service answering `http::Response<B>`).
///
/// Failures by default: UNAVAILABLE (14), DEADLINE_EXCEEDED (4),
/// RESOURCE_EXHAUSTED (8), INTERNAL (13) and UNKNOWN (2), the codes that
/// speak of the server's health; every other code, OK (0) and the caller's
/// own mistakes (NOT_FOUND, INVALID_ARGUMENT, ...), succeeds. A code gRPC
/// does not define counts as UNKNOWN. A transport error (`Err`) fails.
///
/// Where the code is read from:
/// - the `grpc-status` header: a gRPC server answers an error before any
///   message as HTTP 200 with the status in the headers ("trailers-only");
/// - with no `grpc-status` and an HTTP status other than 200 (a proxy or
///   load balancer answered), the code gRPC maps that status to: 429, 502,
///   503, 504 UNAVAILABLE, 400 INTERNAL, 401 UNAUTHENTICATED, 403
///   PERMISSION_DENIED, 404 UNIMPLEMENTED, any other UNKNOWN;
/// - HTTP 200 with no `grpc-status` header is a success: the call's status
///   comes in the trailers after the messages, which the breaker does not
///   wait for (it records when the response head arrives).
///
/// With the `tonic` feature it also classifies
/// `Result<tonic::Response<T>, tonic::Status>`, the answer of a tower
/// service wrapped around a generated client: by the status's code.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use http::Response;
/// use tripline::Outcome;
/// use tripline::{Classify, GrpcClassifier};
///
/// let grpc = GrpcClassifier::new();
/// let status = |code: &str| Ok::<_, ()>(Response::builder().header("grpc-status", code).body(()).unwrap());
/// assert_eq!(grpc.classify(&status("0")), Outcome::Success);
/// assert_eq!(grpc.classify(&status("14")), Outcome::Failure); // UNAVAILABLE
/// assert_eq!(grpc.classify(&status("5")), Outcome::Success); // NOT_FOUND: the caller's business
/// let from_a_proxy = Ok::<_, ()>(Response::builder().status(503).body(()).unwrap());
/// assert_eq!(grpc.classify(&from_a_proxy), Outcome::Failure);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GrpcClassifier {
    /// Bit `c` set: code `c` fails.
    failing: u32,
}

impl GrpcClassifier {
    /// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL and
    /// UNKNOWN fail, every other code succeeds.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::Outcome;
    /// use tripline::GrpcClassifier;
    ///
    /// assert_eq!(GrpcClassifier::new().code_outcome(4), Outcome::Failure); // DEADLINE_EXCEEDED
    /// assert_eq!(GrpcClassifier::new().code_outcome(3), Outcome::Success); // INVALID_ARGUMENT
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        GrpcClassifier {
            failing: 1 << UNAVAILABLE
                | 1 << DEADLINE_EXCEEDED
                | 1 << RESOURCE_EXHAUSTED
                | 1 << INTERNAL
                | 1 << UNKNOWN,
        }
    }

    /// Makes `code` (0 to 16, as `tonic::Code::Aborted as i32` gives it)
    /// fail or succeed. A code outside 0 to 16 stands for UNKNOWN (2).
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::Outcome;
    /// use tripline::GrpcClassifier;
    ///
    /// // ABORTED (10) fails too; INTERNAL (13) is an application bug here, not an outage.
    /// let grpc = GrpcClassifier::new().code_fails(10, true).code_fails(13, false);
    /// assert_eq!(grpc.code_outcome(10), Outcome::Failure);
    /// assert_eq!(grpc.code_outcome(13), Outcome::Success);
    /// ```
    #[must_use]
    pub const fn code_fails(mut self, code: i32, fails: bool) -> Self {
        let bit = 1 << known(code);
        if fails {
            self.failing |= bit;
        } else {
            self.failing &= !bit;
        }
        self
    }

    /// How a call that ended with gRPC status `code` counts.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
    /// use tripline::Outcome;
    /// use tripline::GrpcClassifier;
    ///
    /// assert_eq!(GrpcClassifier::new().code_outcome(0), Outcome::Success);
    /// assert_eq!(GrpcClassifier::new().code_outcome(14), Outcome::Failure);
    /// assert_eq!(GrpcClassifier::new().code_outcome(99), Outcome::Failure); // read as UNKNOWN
    /// ```
    #[must_use]
    pub const fn code_outcome(&self, code: i32) -> Outcome {
        if self.failing & (1 << known(code)) != 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        }
    }

    fn response_code<B>(response: &Response<B>) -> Option<i32> {
        match response.headers().get("grpc-status") {
            Some(value) => Some(parse_code(value.as_bytes())),
            None if response.status() == StatusCode::OK => None,
            None => Some(http_status_code(response.status())),
        }
    }
}

impl Default for GrpcClassifier {
    /// [`GrpcClassifier::new`].
    fn default() -> Self {
        GrpcClassifier::new()
    }
}

impl<B, E> Classify<Response<B>, E> for GrpcClassifier {
    fn classify(&self, result: &Result<Response<B>, E>) -> Outcome {
        match result {
            Ok(response) => match GrpcClassifier::response_code(response) {
                Some(code) => self.code_outcome(code),
                None => Outcome::Success,
            },
            Err(_) => Outcome::Failure,
        }
    }
}

/// With the `tonic` feature: the answer of a tower service around a
/// generated tonic client, `Ok` a success and a `Status` counted by its code.
///
/// ```
/// # mod tripline { pub use tripline_core::*; pub use tripline_std::*; }
/// use tonic::{Response, Status};
/// use tripline::Outcome;
/// use tripline::{Classify, GrpcClassifier};
///
/// let grpc = GrpcClassifier::new();
/// assert_eq!(grpc.classify(&Ok::<_, Status>(Response::new(7))), Outcome::Success);
/// assert_eq!(grpc.classify(&Err::<Response<u8>, _>(Status::unavailable("draining"))), Outcome::Failure);
/// assert_eq!(grpc.classify(&Err::<Response<u8>, _>(Status::not_found("no such sku"))), Outcome::Success);
/// ```
#[cfg(feature = "tonic")]
impl<T> Classify<tonic::Response<T>, tonic::Status> for GrpcClassifier {
    fn classify(&self, result: &Result<tonic::Response<T>, tonic::Status>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(status) => self.code_outcome(i32::from(status.code())),
        }
    }
}

/// `code` if gRPC defines it, else UNKNOWN.
const fn known(code: i32) -> i32 {
    if code >= 0 && code <= LAST_CODE {
        code
    } else {
        UNKNOWN
    }
}

/// A `grpc-status` value: decimal digits, else UNKNOWN.
fn parse_code(value: &[u8]) -> i32 {
    if value.is_empty() || value.len() > 2 || !value.iter().all(u8::is_ascii_digit) {
        return UNKNOWN;
    }
    known(
        value
            .iter()
            .fold(0, |code, digit| code * 10 + i32::from(digit - b'0')),
    )
}

/// The code gRPC assigns to an HTTP status that came without `grpc-status`.
fn http_status_code(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 => INTERNAL,
        401 => UNAUTHENTICATED,
        403 => PERMISSION_DENIED,
        404 => UNIMPLEMENTED,
        429 | 502 | 503 | 504 => UNAVAILABLE,
        _ => UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "tonic")]
    #[test]
    fn a_tonic_status_counts_by_its_code() {
        use tonic::{Code, Status};
        let grpc = GrpcClassifier::new();
        let failing = [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Internal,
            Code::Unknown,
        ];
        for code in 0..=16 {
            let code = Code::from(code);
            let status: Result<tonic::Response<()>, _> = Err(Status::new(code, "x"));
            let want = if failing.contains(&code) {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            assert_eq!(grpc.classify(&status), want, "{code:?}");
        }
        let ok: Result<_, Status> = Ok(tonic::Response::new(()));
        assert_eq!(grpc.classify(&ok), Outcome::Success);
    }

    fn with_status(code: &[u8]) -> Result<Response<()>, ()> {
        let mut response = Response::new(());
        response
            .headers_mut()
            .insert("grpc-status", http::HeaderValue::from_bytes(code).unwrap());
        Ok(response)
    }

    fn http_only(status: u16) -> Result<Response<()>, ()> {
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        Ok(response)
    }

    #[test]
    fn the_five_health_codes_fail_the_others_succeed() {
        let grpc = GrpcClassifier::new();
        let failing = [2, 4, 8, 13, 14];
        for code in 0..=16 {
            let want = if failing.contains(&code) {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            assert_eq!(grpc.code_outcome(code), want, "{code}");
            let header = code.to_string();
            assert_eq!(
                grpc.classify(&with_status(header.as_bytes())),
                want,
                "{code}"
            );
        }
    }

    #[test]
    fn undefined_or_garbled_codes_are_unknown() {
        let grpc = GrpcClassifier::new();
        for code in [-1, 17, 99, i32::MIN, i32::MAX] {
            assert_eq!(grpc.code_outcome(code), Outcome::Failure, "{code}");
        }
        for bad in [
            &b""[..],
            b"17",
            b"-1",
            b" 0",
            b"0x0",
            b"ok",
            b"000",
            b"99999999999999999999",
            b"\xff",
        ] {
            assert_eq!(
                grpc.classify(&with_status(bad)),
                Outcome::Failure,
                "{bad:?}"
            );
        }
        let lenient = grpc.code_fails(UNKNOWN, false);
        assert_eq!(lenient.classify(&with_status(b"garbage")), Outcome::Success);
        assert_eq!(lenient.code_outcome(40), Outcome::Success);
    }

    #[test]
    fn an_http_status_without_grpc_status_maps_as_grpc_says() {
        let grpc = GrpcClassifier::new();
        assert_eq!(grpc.classify(&http_only(200)), Outcome::Success);
        for status in [429, 502, 503, 504, 400, 500, 418] {
            assert_eq!(
                grpc.classify(&http_only(status)),
                Outcome::Failure,
                "{status}"
            );
        }
        for status in [401, 403, 404] {
            assert_eq!(
                grpc.classify(&http_only(status)),
                Outcome::Success,
                "{status}"
            );
        }
        let mut proxied = http_only(503).unwrap();
        proxied
            .headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static("0"));
        assert_eq!(grpc.classify(&Ok::<_, ()>(proxied)), Outcome::Success);
    }

    #[test]
    fn a_transport_error_fails_and_codes_are_configurable() {
        let grpc = GrpcClassifier::new();
        assert_eq!(grpc.classify(&Err::<Response<()>, _>(())), Outcome::Failure);
        let grpc = grpc.code_fails(10, true).code_fails(14, false);
        assert_eq!(grpc.classify(&with_status(b"10")), Outcome::Failure);
        assert_eq!(grpc.classify(&with_status(b"14")), Outcome::Success);
        assert_eq!(
            grpc.code_fails(99, false).code_outcome(UNKNOWN),
            Outcome::Success
        );
    }
}
