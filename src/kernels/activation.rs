//! The logistic sigmoid and its gradient on `f32` slices: vectorised, over the rayon pool.
//!
//! Why: flex computes the sigmoid one element at a time on one thread, through the C
//! library's `expf` with a branch on the sign, and Burn's autodiff computes it a second time
//! in the backward pass. On cnn3 (1 epoch of 5 000 images, 2-core Xeon) the sigmoid run took
//! 2× the time of the ReLU run; `perf` put `expf` and flex's unary loop at a fifth of the
//! process. Here `e^x` is a branch-free polynomial the compiler vectorises (the Cephes
//! `expf` reduction: `x = n·ln 2 + r`, a degree-6 polynomial in `r`, `2ⁿ` from the exponent
//! bits; within 2 ulp of the true value), and the backward reuses the forward's output.
//!
//! Outputs below `f32::MIN_POSITIVE` (inputs under about −87.3) are 0, not subnormal:
//! a subnormal operand makes a multiply on an x86 CPU take a slow microcode assist, and
//! the gradients of a saturated sigmoid would carry them into every later product.

use rayon::prelude::*;

/// Elements below which a call stays on the calling thread (a pool hand-off costs more).
const SERIAL: usize = 1 << 15;

/// `e^x` for `x` in [−87.34, 88.38] (clamped to it), branch-free.
#[inline(always)]
fn exp(fma: bool, x: f32) -> f32 {
    let madd = |a: f32, b: f32, c: f32| if fma { a.mul_add(b, c) } else { a * b + c };
    let x = x.clamp(-87.336_54, 88.376_26);
    // n = round(x / ln 2) by the 1.5·2²³ trick (exact for |n| < 2²²; vectorises without
    // SSE4.1's round instruction); its low bits are n in two's complement.
    const SHIFT: f32 = 12_582_912.0;
    let t = madd(x, std::f32::consts::LOG2_E, SHIFT);
    let n = t - SHIFT;
    let bits = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    // r = x − n·ln 2, with ln 2 in two parts so that n·ln 2 is exact enough.
    let r = madd(n, -0.693_359_4, x);
    let r = madd(n, 2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4;
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = madd(p, r, c);
    }
    let p = madd(p * r, r, r) + 1.0;
    // 2ⁿ: n + 127 is in [1, 254] after the clamp, a normal exponent.
    p * f32::from_bits(((bits + 127) as u32) << 23)
}

/// σ(x) = 1 / (1 + e^−x), with results under `f32::MIN_POSITIVE` flushed to 0; NaN stays NaN.
#[inline(always)]
fn sigmoid_one(fma: bool, x: f32) -> f32 {
    let s = 1.0 / (1.0 + exp(fma, -x));
    // A mask, not a branch, so that the loop vectorises: all ones unless `s < MIN`, which
    // is false for NaN, so NaN stays.
    let keep = ((s < f32::MIN_POSITIVE) as u32).wrapping_sub(1);
    f32::from_bits(s.to_bits() & keep)
}

crate::multiversion! {
    fn sigmoid_block[fma](x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = sigmoid_one(fma, x);
        }
    }
}

crate::multiversion! {
    fn sigmoid_grad_block[_fma](s: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((dx, &s), &g) in dx.iter_mut().zip(s).zip(dy) {
            *dx = g * (s * (1.0 - s));
        }
    }
}

/// Runs `block` over matching pieces of `a`, `b` and `out`: on this thread for small
/// inputs, else one piece per pool thread.
fn blocks(a: &[f32], b: &[f32], out: &mut [f32], block: impl Fn(&[f32], &[f32], &mut [f32]) + Sync) {
    if out.len() <= SERIAL {
        return block(a, b, out);
    }
    let piece = out.len().div_ceil(rayon::current_num_threads()).max(SERIAL / 4);
    out.par_chunks_mut(piece)
        .zip(a.par_chunks(piece))
        .zip(b.par_chunks(piece))
        .for_each(|((out, a), b)| block(a, b, out));
}

/// The logistic sigmoid of every element of `x`.
pub fn sigmoid(x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    blocks(x, x, &mut y, |x, _, y| sigmoid_block(x, y));
    y
}

/// The sigmoid's input gradient `dy · s · (1 − s)`, from its output `s` and the gradient of
/// its output `dy` (the same length).
pub fn sigmoid_backward(s: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(s.len(), dy.len(), "output and gradient lengths");
    let mut dx = vec![0.0f32; s.len()];
    blocks(s, dy, &mut dx, sigmoid_grad_block);
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, in f64.
    fn reference(x: f32) -> f64 {
        1.0 / (1.0 + (-(x as f64)).exp())
    }

    #[test]
    fn matches_the_definition_within_a_few_ulp_over_the_whole_range() {
        // Every 1/64 from −100 to 100 (past both saturation points), on both the serial
        // and the threaded path.
        let x: Vec<f32> = (-6400..=6400).map(|i| i as f32 / 64.0).collect();
        let long: Vec<f32> = x.iter().cycle().take(3 * SERIAL).copied().collect();
        for (xs, ys) in [(&x, sigmoid(&x)), (&long, sigmoid(&long))] {
            for (&x, &y) in xs.iter().zip(&ys) {
                let want = reference(x);
                if want < f32::MIN_POSITIVE as f64 {
                    assert_eq!(y, 0.0, "σ({x}) is under the smallest normal f32: flushed to 0");
                } else {
                    let ulp = (want as f32).to_bits().abs_diff(y.to_bits());
                    assert!(ulp <= 4, "σ({x}) = {y}, want {want} ({ulp} ulp apart)");
                }
            }
        }
    }

    #[test]
    fn keeps_nan_and_saturates_at_the_infinities() {
        let y = sigmoid(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -1e30, 1e30]);
        assert!(y[0].is_nan());
        assert_eq!(&y[1..], &[1.0, 0.0, 0.5, 0.0, 1.0]);
        assert!(y.iter().all(|v| v.is_nan() || v.is_normal() || *v == 0.0));
    }

    #[test]
    fn gradient_is_the_derivative_times_the_output_gradient() {
        let x: Vec<f32> = (0..2 * SERIAL).map(|i| (i as f32 * 0.37).sin() * 12.0).collect();
        let dy: Vec<f32> = (0..x.len()).map(|i| (i as f32 * 0.11).cos()).collect();
        let s = sigmoid(&x);
        let dx = sigmoid_backward(&s, &dy);
        for ((&x, &g), &d) in x.iter().zip(&dy).zip(&dx) {
            // d/dx σ = e^−x / (1 + e^−x)², in f64. The kernel gets σ rounded to f32, so
            // 1 − σ is known only to within an ulp of 1 (Burn's backward shares this): the
            // bound is a few ulps of σ, times the incoming gradient, on top of 2·10⁻⁶.
            let e = (-(x as f64)).exp();
            let want = g as f64 * e / ((1.0 + e) * (1.0 + e));
            let tolerance = 2e-6 * want.abs() + 4.0 * f32::EPSILON as f64 * (g as f64).abs() * reference(x);
            assert!((d as f64 - want).abs() <= tolerance, "x {x}: {d} vs {want}");
        }
    }
}
