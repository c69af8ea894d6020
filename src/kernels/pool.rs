//! Max pooling with a square window equal to its stride (the study's `MaxPool-k×k`) on `f32`
//! NCHW slices, with the argmax of every window kept for the backward pass.
//!
//! Why: flex runs this through its general 3-D pooling with indices, which took 12 % of a
//! cnn4 training step; a 2×2 window needs four compares per output.

use rayon::prelude::*;

/// The geometry of one pooling call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolShape {
    /// Planes: batch × channels.
    pub planes: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Window size, also the stride.
    pub size: usize,
}

impl PoolShape {
    /// Output height and width (rows and columns that do not fill a window are dropped).
    pub fn output(&self) -> [usize; 2] {
        self.input.map(|d| d / self.size.max(1))
    }
}

/// Pooled values and, for each, the offset of its maximum inside its input plane (the first
/// one on ties, as PyTorch).
pub fn max_pool(s: &PoolShape, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let [h, w] = s.input;
    let [oh, ow] = s.output();
    assert_eq!(x.len(), s.planes * h * w, "input length");
    let mut y = vec![0.0f32; s.planes * oh * ow];
    let mut arg = vec![0u32; s.planes * oh * ow];
    if oh * ow == 0 {
        return (y, arg);
    }
    y.par_chunks_mut(oh * ow)
        .zip(arg.par_chunks_mut(oh * ow))
        .zip(x.par_chunks(h * w))
        .with_min_len(planes_per_task(h * w))
        .for_each(|((y, arg), plane)| match s.size {
            2 => pool_plane_2x2(plane, w, y, Some(arg)),
            k => pool_plane(plane, w, k, y, arg),
        });
    (y, arg)
}

/// The pooled values alone, for evaluation, where no gradient is routed back: [`max_pool`]'s
/// values without the work of keeping the argmaxes.
pub fn max_pool_values(s: &PoolShape, x: &[f32]) -> Vec<f32> {
    if s.size != 2 {
        return max_pool(s, x).0;
    }
    let [h, w] = s.input;
    let [oh, ow] = s.output();
    assert_eq!(x.len(), s.planes * h * w, "input length");
    let mut y = vec![0.0f32; s.planes * oh * ow];
    if oh * ow == 0 {
        return y;
    }
    y.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .with_min_len(planes_per_task(h * w))
        .for_each(|(y, plane)| pool_plane_2x2(plane, w, y, None));
    y
}

/// Planes of `plane_len` inputs per rayon task: enough that a task reads some 16 KiB (one 8×8
/// plane per task spent more time scheduling than pooling).
fn planes_per_task(plane_len: usize) -> usize {
    (4096 / plane_len.max(1)).max(1)
}

/// Whether `v` takes a window's maximum from `best`: it is larger, or NaN where `best` is not.
/// A NaN wins and then stays, so NaN propagates as in PyTorch; a tie keeps `best`, the first.
#[inline(always)]
fn beats(v: f32, best: f32) -> bool {
    (v > best) | (v.is_nan() & !best.is_nan())
}

/// Max-pools one plane of width `w` with 2×2 windows into the output rows `y`, and their
/// argmaxes into `arg` where given. Each window takes the larger of each input row's pair, then
/// the larger of the two rows: the same first maximum as a row-major scan of the window, in
/// loops without a carried dependency, which the compiler vectorises (pairs of columns as two
/// interleaved vectors). The scan in [`pool_plane`] took 3.3 ns per input on one thread.
fn pool_plane_2x2(plane: &[f32], w: usize, y: &mut [f32], mut arg: Option<&mut [u32]>) {
    let ow = w / 2;
    for (r, y) in y.chunks_exact_mut(ow).enumerate() {
        let top = &plane[2 * r * w..][..2 * ow];
        let bottom = &plane[(2 * r + 1) * w..][..2 * ow];
        match arg.as_deref_mut() {
            Some(arg) => {
                let arg = &mut arg[r * ow..][..ow];
                let at = (2 * r * w) as u32;
                for c in 0..ow {
                    let (t, b) = ([top[2 * c], top[2 * c + 1]], [bottom[2 * c], bottom[2 * c + 1]]);
                    let (t_right, b_right) = (beats(t[1], t[0]), beats(b[1], b[0]));
                    let top_max = if t_right { t[1] } else { t[0] };
                    let bottom_max = if b_right { b[1] } else { b[0] };
                    let lower = beats(bottom_max, top_max);
                    y[c] = if lower { bottom_max } else { top_max };
                    let column = if lower { b_right } else { t_right } as u32;
                    arg[c] = at + 2 * c as u32 + column + if lower { w as u32 } else { 0 };
                }
            }
            None => {
                for c in 0..ow {
                    let top_max = if beats(top[2 * c + 1], top[2 * c]) { top[2 * c + 1] } else { top[2 * c] };
                    let bottom_max =
                        if beats(bottom[2 * c + 1], bottom[2 * c]) { bottom[2 * c + 1] } else { bottom[2 * c] };
                    y[c] = if beats(bottom_max, top_max) { bottom_max } else { top_max };
                }
            }
        }
    }
}

/// Max-pools one plane of width `w` with `k`×`k` windows into the output rows `y` with their
/// argmaxes, scanning each window in row-major order (any `k`; 2×2 goes to [`pool_plane_2x2`]).
fn pool_plane(plane: &[f32], w: usize, k: usize, y: &mut [f32], arg: &mut [u32]) {
    let ow = w / k;
    for (r, (y, arg)) in y.chunks_exact_mut(ow).zip(arg.chunks_exact_mut(ow)).enumerate() {
        let rows = &plane[r * k * w..(r + 1) * k * w];
        for (c, (y, arg)) in y.iter_mut().zip(arg.iter_mut()).enumerate() {
            let mut at = (c * k) as u32;
            let mut best = rows[at as usize];
            for i in 0..k {
                for j in 0..k {
                    let idx = i * w + c * k + j;
                    let v = rows[idx];
                    // Masks, not a branch (on activations it is a coin flip, and the compiler
                    // turns plain selects back into branches).
                    let mask = (beats(v, best) as u32).wrapping_neg();
                    best = f32::from_bits((v.to_bits() & mask) | (best.to_bits() & !mask));
                    at = (idx as u32 & mask) | (at & !mask);
                }
            }
            *y = best;
            *arg = (r * k * w) as u32 + at;
        }
    }
}

/// Input gradient: each output gradient goes to its window's maximum.
pub fn max_pool_backward(s: &PoolShape, dy: &[f32], arg: &[u32]) -> Vec<f32> {
    let [h, w] = s.input;
    let [oh, ow] = s.output();
    assert_eq!(dy.len(), s.planes * oh * ow, "output gradient length");
    assert_eq!(arg.len(), dy.len(), "argmax length");
    let mut dx = vec![0.0f32; s.planes * h * w];
    if oh * ow == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w).zip(dy.par_chunks(oh * ow)).zip(arg.par_chunks(oh * ow)).for_each(|((dx, dy), arg)| {
        for (&g, &a) in dy.iter().zip(arg) {
            dx[a as usize] += g;
        }
    });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_windows_drops_ragged_edges_and_routes_gradients_to_the_max() {
        // One 5×5 plane, 2×2 windows: a 2×2 output, row and column 4 dropped.
        let x: Vec<f32> = (0..25).map(|i| ((i * 7) % 11) as f32).collect();
        let s = PoolShape { planes: 1, input: [5, 5], size: 2 };
        let (y, arg) = max_pool(&s, &x);
        let want: Vec<f32> = [(0, 0), (0, 2), (2, 0), (2, 2)]
            .iter()
            .map(|&(r, c)| {
                [x[r * 5 + c], x[r * 5 + c + 1], x[(r + 1) * 5 + c], x[(r + 1) * 5 + c + 1]]
                    .into_iter()
                    .fold(f32::MIN, f32::max)
            })
            .collect();
        assert_eq!(y, want);
        for (v, &a) in y.iter().zip(&arg) {
            assert_eq!(x[a as usize], *v);
        }
        let dx = max_pool_backward(&s, &[1.0, 2.0, 3.0, 4.0], &arg);
        assert_eq!(dx.iter().sum::<f32>(), 10.0);
        assert_eq!(dx[arg[3] as usize], 4.0);
    }

    /// The first maximum of each window in row-major order, NaN winning: PyTorch's rule, by
    /// its definition, one window at a time.
    fn first_maxima(s: &PoolShape, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
        let ([h, w], [oh, ow], k) = (s.input, s.output(), s.size);
        let (mut y, mut arg) = (Vec::new(), Vec::new());
        for p in 0..s.planes {
            for r in 0..oh {
                for c in 0..ow {
                    let window = (0..k).flat_map(|i| (0..k).map(move |j| (r * k + i) * w + c * k + j));
                    let first = window.clone().find(|&at| x[p * h * w + at].is_nan());
                    let best = window.clone().map(|at| x[p * h * w + at]).fold(f32::MIN, f32::max);
                    let at = first.unwrap_or_else(|| window.clone().find(|&at| x[p * h * w + at] == best).unwrap());
                    y.push(x[p * h * w + at]);
                    arg.push(at as u32);
                }
            }
        }
        (y, arg)
    }

    #[test]
    fn every_window_gives_its_first_maximum_and_nan_wins() {
        // Values from a small set, so that windows tie often; some NaNs; odd and even sizes,
        // 2×2 (its own loop) and 3×3 windows.
        for (planes, [h, w], size) in [(3, [5, 7], 2), (2, [8, 8], 2), (70, [6, 4], 2), (2, [7, 9], 3)] {
            let s = PoolShape { planes, input: [h, w], size };
            let x: Vec<f32> = (0..planes * h * w)
                .map(|i| match (i * 7919 + 13) % 23 {
                    0 => f32::NAN,
                    v => (v % 5) as f32 - 2.0,
                })
                .collect();
            let (want, want_arg) = first_maxima(&s, &x);
            let (y, arg) = max_pool(&s, &x);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&want), "{planes}×{h}×{w}, {size}×{size}: values");
            assert_eq!(arg, want_arg, "{planes}×{h}×{w}, {size}×{size}: argmaxes");
            assert_eq!(bits(&max_pool_values(&s, &x)), bits(&want), "{planes}×{h}×{w}, {size}×{size}: values alone");
        }
    }
}
