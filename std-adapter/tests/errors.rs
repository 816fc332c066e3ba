//! The error wrappers compose with `Box<dyn Error + Send + Sync>` (tower's
//! `BoxError`): they are `std::error::Error`, convert with `?`, and keep the
//! chain below a boxed inner error.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use tripline_core::{CallError, RetryError, TimeoutError};

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Debug)]
struct Refused;
impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection refused")
    }
}
impl Error for Refused {}

#[derive(Debug)]
struct Connect(Refused);
impl fmt::Display for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("error trying to connect")
    }
}
impl Error for Connect {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

fn boxed_inner() -> CallError<BoxError> {
    CallError::Inner(Box::new(Connect(Refused)))
}

fn chain(e: &dyn Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        out.push(s.to_string());
        next = s.source();
    }
    out
}

#[test]
fn a_call_error_around_a_box_error_is_an_error_and_keeps_the_chain() {
    let e = boxed_inner();
    assert_eq!(chain(&e), ["error trying to connect", "connection refused"]);
    let timeout: TimeoutError<BoxError> = TimeoutError::Inner(Box::new(Connect(Refused)));
    assert_eq!(
        chain(&timeout),
        ["error trying to connect", "connection refused"]
    );
    let retry: RetryError<BoxError> = RetryError::Exhausted {
        attempts: 3,
        last: Box::new(Connect(Refused)),
    };
    assert_eq!(
        chain(&retry),
        [
            "gave up after 3 attempts: error trying to connect",
            "connection refused"
        ]
    );
}

#[test]
fn question_mark_converts_every_wrapper_into_a_box_error() {
    fn call() -> Result<(), BoxError> {
        Err(boxed_inner())?;
        Ok(())
    }
    fn timed() -> Result<(), BoxError> {
        Err(TimeoutError::<BoxError>::Elapsed(Duration::from_secs(1)))?;
        Ok(())
    }
    let e = call().unwrap_err();
    assert!(e.downcast_ref::<CallError<BoxError>>().is_some());
    assert_eq!(e.to_string(), "error trying to connect");
    let e = timed().unwrap_err();
    assert!(e.downcast_ref::<TimeoutError<BoxError>>().is_some());
}

#[test]
fn a_concrete_inner_error_stays_reachable_typed() {
    let e: CallError<Connect> = CallError::Inner(Connect(Refused));
    let as_box: BoxError = e.into();
    let back = as_box.downcast::<CallError<Connect>>().unwrap();
    assert_eq!(
        back.into_inner().unwrap().0.to_string(),
        "connection refused"
    );
}

#[test]
fn wrappers_around_a_box_error_are_box_errors_themselves() {
    fn is_box_error<E: Error + Send + Sync + 'static>(e: E) -> BoxError {
        BoxError::from(e)
    }
    let call = is_box_error(boxed_inner());
    assert!(call.is::<CallError<BoxError>>());
    let timeout = is_box_error(TimeoutError::<BoxError>::Elapsed(Duration::from_secs(2)));
    assert!(timeout.is::<TimeoutError<BoxError>>());
    let nested = is_box_error(CallError::<BoxError>::Inner(call));
    assert_eq!(
        chain(&*nested),
        ["error trying to connect", "connection refused"]
    );
}
