//! Summary statistics shared by the dashboard, the simulator's report and the benchmarks.

/// The nearest-rank percentile `p` (0 < p ≤ 100; 0 gives the minimum, above 100 the maximum)
/// of `sorted` (ascending): the value at rank ⌈p/100 · n⌉. `None` for an empty slice.
pub fn percentile<T: Copy>(sorted: &[T], p: u32) -> Option<T> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let p = u128::from(p.min(100));
    let rank = (p * n as u128).div_ceil(100).max(1) as usize;
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::percentile;

    #[test]
    fn nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 90), Some(90));
        assert_eq!(percentile(&v, 99), Some(99));
        assert_eq!(percentile(&v, 100), Some(100));
        assert_eq!(percentile(&v, 0), Some(1));
        assert_eq!(percentile(&[7i64], 50), Some(7));
        assert_eq!(percentile(&[7i64], 99), Some(7));
        assert_eq!(percentile::<i64>(&[], 50), None);
        assert_eq!(percentile(&[10i64, 20, 30, 40], 50), Some(20));
        assert_eq!(percentile(&[10i64, 20, 30, 40], 90), Some(40));
        assert_eq!(percentile(&[10i64, 20, 30, 40], 25), Some(10));
    }

    proptest! {
        /// A percentile is one of the values, at least p% of the values are at most it, and it
        /// never decreases as p grows.
        #[test]
        fn is_a_value_with_p_percent_at_or_below(
            mut v in prop::collection::vec(any::<i32>(), 1..200),
            p in 0u32..=100,
            q in 0u32..=100,
        ) {
            v.sort_unstable();
            let x = percentile(&v, p).unwrap();
            prop_assert!(v.contains(&x));
            let at_or_below = v.iter().filter(|&&y| y <= x).count();
            prop_assert!(at_or_below * 100 >= p as usize * v.len());
            let (lo, hi) = (p.min(q), p.max(q));
            prop_assert!(percentile(&v, lo).unwrap() <= percentile(&v, hi).unwrap());
        }
    }
}
