//! `size_of` on the target, read back from the symbol table: every static
//! below is a byte array exactly as large as one type, kept alive by
//! `black_box`, so `nm -S` prints the type's size on this target.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::mem::size_of;

use cortex_m_rt::entry;
use tripline_core::{Breaker, CountWindow, SharedBreaker, TimeWindow};
use tripline_mcu_size::SysTick;

macro_rules! probes {
    ($($name:ident: $ty:ty;)*) => {
        $(
            #[doc = concat!("As large as `", stringify!($ty), "`.")]
            static $name: [u8; size_of::<$ty>()] = [0; size_of::<$ty>()];
        )*

        #[entry]
        fn main() -> ! {
            loop {
                $(black_box(&$name);)*
            }
        }
    };
}

probes! {
    SIZE_COUNT_WINDOW_1: CountWindow<1>;
    SIZE_COUNT_WINDOW_16: CountWindow<16>;
    SIZE_COUNT_WINDOW_100: CountWindow<100>;
    SIZE_TIME_WINDOW_1: TimeWindow<1>;
    SIZE_TIME_WINDOW_10: TimeWindow<10>;
    SIZE_BREAKER_COUNT_1: Breaker<CountWindow<1>, SysTick>;
    SIZE_BREAKER_COUNT_16: Breaker<CountWindow<16>, SysTick>;
    SIZE_BREAKER_COUNT_100: Breaker<CountWindow<100>, SysTick>;
    SIZE_BREAKER_TIME_10: Breaker<TimeWindow<10>, SysTick>;
    SIZE_SHARED_COUNT_16: SharedBreaker<CountWindow<16>, SysTick>;
}
