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
    let k = s.size;
    assert_eq!(x.len(), s.planes * h * w, "input length");
    let mut y = vec![0.0f32; s.planes * oh * ow];
    let mut arg = vec![0u32; s.planes * oh * ow];
    if oh * ow == 0 {
        return (y, arg);
    }
    y.par_chunks_mut(oh * ow)
        .zip(arg.par_chunks_mut(oh * ow))
        .zip(x.par_chunks(h * w))
        .for_each(|((y, arg), plane)| pool_plane(plane, w, k, y, arg));
    (y, arg)
}

/// Max-pools one plane of width `w` into the output rows `y` with their argmaxes.
/// (Compiled for the baseline only: the AVX-512 copy measured 2.5× slower.)
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
                    // A NaN wins and then stays, so NaN propagates as in PyTorch.
                    // Masks, not a branch (on activations it is a coin flip, and
                    // the compiler turns plain selects back into branches).
                    let better = (v > best) | (v.is_nan() & !best.is_nan());
                    let mask = (better as u32).wrapping_neg();
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
}
