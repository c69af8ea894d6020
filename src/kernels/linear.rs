//! A fully connected layer's forward pass on `f32` slices, for evaluation: the batch split
//! into one block of rows per thread, one matrix product each, the bias written first.
//!
//! Why: flex hands a `[1 000, 3 072] · [3 072, 32]` product to `gemm`'s own threading,
//! which kept most of the work on one thread (measured: the MLP validation pass ran at
//! 1.5× PyTorch's time).

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

/// `dst (m×n) = [dst +] lhs (m×k) · rhs (k×n)`, every matrix given by its element strides
/// (row stride, column stride), on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_strides: [isize; 2],
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: [isize; 2],
    rhs: &[f32],
    rhs_strides: [isize; 2],
) {
    let last = |strides: [isize; 2], rows: usize, cols: usize| {
        (rows.max(1) - 1) as isize * strides[0] + (cols.max(1) - 1) as isize * strides[1]
    };
    assert!(last(dst_strides, m, n) < dst.len() as isize, "dst too small");
    assert!(last(lhs_strides, m, k) < lhs.len() as isize, "lhs too small");
    assert!(last(rhs_strides, k, n) < rhs.len() as isize, "rhs too small");
    // SAFETY: the asserts above keep every index the strides reach inside its slice (all
    // strides are non-negative), and `dst` is borrowed mutably, so it aliases nothing.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides[1],
            dst_strides[0],
            accumulate,
            lhs.as_ptr(),
            lhs_strides[1],
            lhs_strides[0],
            rhs.as_ptr(),
            rhs_strides[1],
            rhs_strides[0],
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}
