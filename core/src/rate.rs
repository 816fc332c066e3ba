//! [`Rate`]: a share of calls (or of a duration), in whole permille, so that
//! `50 %` is written `Rate::percent(50)` and never read as 5 %.

/// A share: a failure or slow-call threshold, or a jitter bound.
///
/// Made with [`Rate::percent`] or [`Rate::permille`], both `const`, so a
/// `Rate` can sit in a `const` configuration. It is kept as whole permille
/// (tenths of a percent): no float, and `2.5 %` is exact.
///
/// The constructors neither fail nor saturate: `Rate::percent(150)` is a
/// `Rate` of 150 %, and the builder that receives it
/// ([`ConfigBuilder::build`](crate::ConfigBuilder::build),
/// [`BackoffBuilder::build`](crate::backoff::BackoffBuilder::build)) reports it
/// as an error carrying the value. Saturating would quietly turn a typo into
/// a different, valid threshold; failing would need a `Result` in every
/// `const` item. Which rates are valid depends on the use: a threshold must
/// be above 0 %, a jitter may be 0 %, and none may exceed 100 %.
///
/// ```
/// # mod tripline { pub use tripline_core::*; }
/// use tripline::{Config, ConfigError, Rate};
///
/// const HALF: Rate = Rate::percent(50);
/// assert_eq!(HALF, Rate::permille(500));
/// assert_eq!(HALF.to_string(), "50 %");
/// assert_eq!(Rate::permille(25).to_string(), "2.5 %");
///
/// // Out of range is an error of `build`, with the value.
/// let err = Config::builder().failure_rate(Rate::percent(150)).build().unwrap_err();
/// assert_eq!(err, ConfigError::FailureRateOutOfRange { permille: 1_500 });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Rate(u16);

impl Rate {
    /// `percent` per hundred. Above 100 is kept as given and rejected by the
    /// builder that receives it; above 255 does not compile.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Rate;
    /// assert_eq!(Rate::percent(20).as_permille(), 200);
    /// ```
    #[must_use]
    pub const fn percent(percent: u8) -> Rate {
        // 255 × 10 < u16::MAX.
        #[allow(clippy::arithmetic_side_effects)]
        Rate(percent as u16 * 10)
    }

    /// `permille` per thousand (tenths of a percent): `Rate::permille(25)`
    /// is 2.5 %. Above 1000 is kept as given and rejected by the builder
    /// that receives it.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Rate;
    /// assert_eq!(Rate::permille(25).as_permille(), 25);
    /// ```
    #[must_use]
    pub const fn permille(permille: u16) -> Rate {
        Rate(permille)
    }

    /// The rate in permille, as given.
    ///
    /// ```
    /// # mod tripline { pub use tripline_core::*; }
    /// use tripline::Rate;
    /// assert_eq!(Rate::percent(5).as_permille(), 50);
    /// ```
    #[must_use]
    pub const fn as_permille(self) -> u16 {
        self.0
    }
}

/// Writes a permille value as a percentage: `500` is "50 %", `25` is "2.5 %".
/// The division happens here only, so an image that never formats a rate
/// carries none.
pub(crate) fn write_percent(f: &mut core::fmt::Formatter<'_>, permille: u16) -> core::fmt::Result {
    let (whole, tenth) = (permille / 10, permille % 10);
    if tenth == 0 {
        write!(f, "{whole} %")
    } else {
        write!(f, "{whole}.{tenth} %")
    }
}

impl core::fmt::Display for Rate {
    /// As a percentage: "50 %", "2.5 %".
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write_percent(f, self.0)
    }
}

impl core::fmt::Debug for Rate {
    /// `Rate(50 %)`: the unit is never left to guess.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rate(")?;
        write_percent(f, self.0)?;
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn display_and_debug_show_percent() {
        let cases = [
            (Rate::percent(50), "50 %"),
            (Rate::permille(25), "2.5 %"),
            (Rate::permille(1), "0.1 %"),
            (Rate::percent(0), "0 %"),
            (Rate::percent(100), "100 %"),
            (Rate::percent(150), "150 %"),
            (Rate::permille(u16::MAX), "6553.5 %"),
        ];
        for (rate, text) in cases {
            assert_eq!(format!("{rate}"), text);
            assert_eq!(format!("{rate:?}"), format!("Rate({text})"));
        }
    }

    #[test]
    fn constructors_keep_out_of_range_values() {
        assert_eq!(Rate::percent(255).as_permille(), 2_550);
        assert_eq!(Rate::permille(1_001).as_permille(), 1_001);
        assert!(Rate::percent(2) < Rate::permille(25));
    }
}
