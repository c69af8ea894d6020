//! A fully connected layer's forward pass on `f32` slices, for evaluation: the batch split
//! into one block of rows per thread, one matrix product each, the bias written first.
//!
//! Why: flex hands a `[1 000, 3 072] · [3 072, 32]` product to `gemm`'s own threading,
//! which kept most of the work on one thread (measured: the MLP validation pass ran at
//! 1.5× PyTorch's time).

use super::conv2d::matmul;
use rayon::prelude::*;

/// `x [n, inputs] · weight [inputs, outputs] + bias [outputs]` → `[n, outputs]`.
pub fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, inputs: usize, outputs: usize) -> Vec<f32> {
    assert_eq!(weight.len(), inputs * outputs, "weight length");
    let n = x.len().checked_div(inputs).unwrap_or(0);
    assert_eq!(x.len(), n * inputs, "input length");
    let mut y = vec![0.0f32; n * outputs];
    if n == 0 || outputs == 0 {
        return y;
    }
    let rows = n.div_ceil(rayon::current_num_threads()).max(1);
    y.par_chunks_mut(rows * outputs).zip(x.par_chunks(rows * inputs)).for_each(|(y, x)| {
        if let Some(b) = bias {
            y.chunks_exact_mut(outputs).for_each(|row| row.copy_from_slice(b));
        }
        let m = x.len() / inputs.max(1);
        let (i, o) = (inputs as isize, outputs as isize);
        matmul(m, outputs, inputs, y, [o, 1], bias.is_some(), x, [i, 1], weight, [o, 1]);
    });
    y
}
