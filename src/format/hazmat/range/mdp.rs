//! Minimum dominating partition (MDP).

use super::error::RangeError;
use super::params::{Digits, RangeParams};

/// MDP of `value` as digit vectors, `value` first, then by increasing
/// position `i` of the decremented digit (decreasing numeric value).
///
/// With `v = (v_{n-1} … v_0)`: `{v}` plus, for each position `i >= 1` with
/// `v_i >= 1` and not all of `v_0 … v_{i-1}` equal to `b - 1`, the element
/// `z_i = (v_{n-1} … v_{i+1}, v_i - 1, b-1, …, b-1)`.
/// `value` must be `<= params.max_value()`.
pub(crate) fn mdp_digits(params: &RangeParams, value: u64) -> Vec<Digits> {
    let n = params.digits();
    let top = params.max_digit();
    let v = params.digits_of(value);
    let mut out = Vec::with_capacity(n);
    out.push(v);
    // Invariant at position i: all digits below i equal b - 1.
    let mut lower_all_top = v[0] == top;
    for i in 1..n {
        if v[i] >= 1 && !lower_all_top {
            let mut z = v;
            z[i] = v[i] - 1;
            for d in z.iter_mut().take(i) {
                *d = top;
            }
            out.push(z);
        }
        lower_all_top = lower_all_top && v[i] == top;
    }
    out
}

/// `x` dominates `t` digit-wise (`x_i >= t_i` for every position).
pub(crate) fn dominates(params: &RangeParams, x: &Digits, t: &Digits) -> bool {
    x.iter().zip(t.iter()).take(params.digits()).all(|(a, b)| a >= b)
}

/// The minimum dominating partition of `value` in base `params.base()`.
///
/// Returns the smallest set `S` of values `<= value` such that every
/// `y <= value` is dominated digit-wise by some `x ∈ S` (`x_i >= y_i` for all
/// digit positions), and no `y > value` is. Ordered: `value` first, then
/// decreasing. Example (base 10): `mdp(3413) = [3413, 3409, 3399, 2999]`.
///
/// # Errors
/// [`RangeError::ValueOutOfRange`] if `value > params.max_value()`.
pub fn mdp(params: &RangeParams, value: u64) -> Result<Vec<u64>, RangeError> {
    if value > params.max_value() {
        return Err(RangeError::ValueOutOfRange);
    }
    Ok(mdp_digits(params, value).iter().map(|d| params.value_of(d)).collect())
}
