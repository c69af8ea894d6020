//! A CPU conv2d (stride 1, zero padding) on plain `f32` slices in NCHW layout, with its own
//! weight and input gradients: im2col per image, then one matrix product per image through
//! the `gemm` crate, images spread over the rayon pool.
//!
//! Why: Burn's generic backward for conv2d (a transposed convolution for the input gradient
//! and a large-kernel convolution for the weight gradient) runs 3–4× slower than the forward
//! on small-channel nets. Here all three products are one well-shaped matrix product each:
//!
//! - forward: `Yᵀ (P×O) = colsᵀ (P×K) · Wᵀ (K×O)`
//! - weight gradient: `dWᵀ (K×O) = Σₙ cols (K×P) · dYᵀ (P×O)`
//! - input gradient: `dcolsᵀ (P×K) = dYᵀ (P×O) · W (O×K)`, added back onto the image
//!   (col2im, the transpose of im2col),
//!
//! where `K = in·kh·kw` and `P = out_h·out_w`, the output pixels of one image.

use rayon::prelude::*;

/// The geometry of one conv2d call: batch, channels, input size, kernel and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (filters).
    pub out_channels: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Zero padding added on each side (height, width).
    pub padding: [usize; 2],
}

impl ConvShape {
    /// Output height and width (stride 1).
    pub fn output(&self) -> [usize; 2] {
        [0, 1].map(|i| self.input[i] + 2 * self.padding[i] + 1 - self.kernel[i])
    }

    /// Whether the kernel fits in the padded input.
    pub fn is_valid(&self) -> bool {
        (0..2).all(|i| self.kernel[i] >= 1 && self.input[i] + 2 * self.padding[i] >= self.kernel[i])
    }

    /// Rows of one image's im2col matrix: in·kh·kw.
    fn patch(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Output pixels of one image.
    fn pixels(&self) -> usize {
        let [h, w] = self.output();
        h * w
    }

    /// Input values of one image.
    fn image_len(&self) -> usize {
        self.in_channels * self.input[0] * self.input[1]
    }
}

/// Writes one image's im2col matrix into `cols` (K rows of P, each row starting
/// `row_stride` after the previous): row `(c, i, j)` holds the input value under kernel tap
/// `(i, j)` of channel `c` for every output pixel, 0 in padding.
pub fn im2col(s: &ConvShape, image: &[f32], cols: &mut [f32], row_stride: usize) {
    let [h, w] = s.input;
    let [kh, kw] = s.kernel;
    let [ph, pw] = s.padding;
    let [oh, ow] = s.output();
    let mut rows = cols.chunks_mut(row_stride);
    for c in 0..s.in_channels {
        let plane = &image[c * h * w..(c + 1) * h * w];
        for i in 0..kh {
            for j in 0..kw {
                let row = &mut rows.next().expect("K rows")[..oh * ow];
                // Output columns whose input column x + j − pw lies inside the image.
                let x0 = pw.saturating_sub(j).min(ow);
                let x1 = (w + pw).saturating_sub(j).min(ow).max(x0);
                for (y, out) in row.chunks_exact_mut(ow).enumerate() {
                    let src_y = y + i;
                    if src_y < ph || src_y >= h + ph {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &plane[(src_y - ph) * w..(src_y - ph + 1) * w];
                    out[..x0].fill(0.0);
                    out[x0..x1].copy_from_slice(&src[x0 + j - pw..x1 + j - pw]);
                    out[x1..].fill(0.0);
                }
            }
        }
    }
}

/// `dst (m×n) = [dst +] lhs (m×k) · rhs (k×n)`, every matrix given by its element strides
/// (row stride, column stride), on the calling thread.
#[allow(clippy::too_many_arguments)]
fn matmul(
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
    assert!(
        last(dst_strides, m, n) < dst.len() as isize,
        "dst too small"
    );
    assert!(
        last(lhs_strides, m, k) < lhs.len() as isize,
        "lhs too small"
    );
    assert!(
        last(rhs_strides, k, n) < rhs.len() as isize,
        "rhs too small"
    );
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

/// Forward conv: `x` is `[batch, in, h, w]`, `weight` `[out, in, kh, kw]`, `bias` `[out]`;
/// returns `[batch, out, out_h, out_w]`.
pub fn forward(s: &ConvShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    assert_eq!(x.len(), s.batch * s.image_len(), "input length");
    assert_eq!(weight.len(), o * k, "weight length");
    let mut y = vec![0.0f32; s.batch * o * p];
    if p == 0 || o == 0 {
        return y;
    }
    y.par_chunks_mut(o * p)
        .zip(x.par_chunks(s.image_len().max(1)))
        .for_each_init(
            || vec![0.0f32; k * p],
            |cols, (out, image)| {
                im2col(s, image, cols, p);
                if let Some(b) = bias {
                    for (plane, &b) in out.chunks_exact_mut(p).zip(b) {
                        plane.fill(b);
                    }
                }
                // Yᵀ (P×O), element (p, o) at out[o·P + p]; colsᵀ (P×K) at cols[k·P + p];
                // Wᵀ (K×O) at weight[o·K + k].
                matmul(
                    p,
                    o,
                    k,
                    out,
                    [1, p as isize],
                    bias.is_some(),
                    cols,
                    [1, p as isize],
                    weight,
                    [1, k as isize],
                );
            },
        );
    y
}

/// Weight and bias gradients from the forward input `x` and the output gradient `dy`
/// (`[batch, out, out_h, out_w]`): `([out, in, kh, kw], [out])`.
pub fn weight_gradient(s: &ConvShape, x: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    assert_eq!(x.len(), s.batch * s.image_len(), "input length");
    assert_eq!(dy.len(), s.batch * o * p, "output gradient length");
    let zero = || (vec![0.0f32; o * k], vec![0.0f32; o]);
    if p == 0 || s.batch == 0 {
        return zero();
    }
    let (dw_t, db) = dy
        .par_chunks(o * p)
        .zip(x.par_chunks(s.image_len().max(1)))
        .fold(
            || (zero(), vec![0.0f32; k * p]),
            |((mut dw_t, mut db), mut cols), (g, image)| {
                im2col(s, image, &mut cols, p);
                // dW (O×K), held column-major at dw_t[k·O + o], += dY (O×P) · colsᵀ (P×K).
                // (This orientation measured 15–35 % faster than dWᵀ = cols · dYᵀ.)
                matmul(
                    o,
                    k,
                    p,
                    &mut dw_t,
                    [1, o as isize],
                    true,
                    g,
                    [p as isize, 1],
                    &cols,
                    [1, p as isize],
                );
                for (d, plane) in db.iter_mut().zip(g.chunks_exact(p)) {
                    *d += plane.iter().sum::<f32>();
                }
                ((dw_t, db), cols)
            },
        )
        .map(|(sums, _)| sums)
        .reduce(zero, |(mut w1, mut b1), (w2, b2)| {
            w1.iter_mut().zip(w2).for_each(|(a, b)| *a += b);
            b1.iter_mut().zip(b2).for_each(|(a, b)| *a += b);
            (w1, b1)
        });
    let dw = (0..o * k).map(|i| dw_t[(i % k) * o + i / k]).collect();
    (dw, db)
}

/// Adds one image's column-gradient matrix `dcols` (K rows of P, the layout of [`im2col`])
/// back onto the input gradient `dx` of that image: the transpose of im2col.
pub fn col2im(s: &ConvShape, dcols: &[f32], dx: &mut [f32]) {
    let [h, w] = s.input;
    let [kh, kw] = s.kernel;
    let [ph, pw] = s.padding;
    let [oh, ow] = s.output();
    let mut rows = dcols.chunks_exact(oh * ow);
    for c in 0..s.in_channels {
        let plane = &mut dx[c * h * w..(c + 1) * h * w];
        for i in 0..kh {
            for j in 0..kw {
                let row = rows.next().expect("K rows");
                let x0 = pw.saturating_sub(j).min(ow);
                let x1 = (w + pw).saturating_sub(j).min(ow).max(x0);
                for (y, src) in row.chunks_exact(ow).enumerate() {
                    let dst_y = y + i;
                    if dst_y < ph || dst_y >= h + ph {
                        continue;
                    }
                    let dst =
                        &mut plane[(dst_y - ph) * w + x0 + j - pw..(dst_y - ph) * w + x1 + j - pw];
                    dst.iter_mut().zip(&src[x0..x1]).for_each(|(d, s)| *d += s);
                }
            }
        }
    }
}

/// Input gradient `[batch, in, h, w]` from the weight and the output gradient `dy`:
/// `dcolsᵀ (P×K) = dYᵀ (P×O) · W (O×K)` per image, added back by [`col2im`]. (Measured
/// 1.1–2.2× faster on 5×5 kernels than a forward conv of `dy` padded by `k − 1`.)
pub fn input_gradient(s: &ConvShape, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    let mut dx = vec![0.0f32; s.batch * s.image_len()];
    if p == 0 || k == 0 {
        return dx;
    }
    dx.par_chunks_mut(s.image_len())
        .zip(dy.par_chunks(o * p))
        .for_each_init(
            || vec![0.0f32; k * p],
            |dcols, (dx, g)| {
                // dcolsᵀ (P×K) at dcols[k·P + p]; dYᵀ (P×O) at g[o·P + p]; W (O×K) at weight[o·K + k].
                matmul(
                    p,
                    k,
                    o,
                    dcols,
                    [1, p as isize],
                    false,
                    g,
                    [1, p as isize],
                    weight,
                    [k as isize, 1],
                );
                col2im(s, dcols, dx);
            },
        );
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, loop by loop.
    fn naive(s: &ConvShape, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let [h, wd] = s.input;
        let [kh, kw] = s.kernel;
        let [ph, pw] = s.padding;
        let [oh, ow] = s.output();
        let mut y = vec![0.0; s.batch * s.out_channels * oh * ow];
        for n in 0..s.batch {
            for o in 0..s.out_channels {
                for yy in 0..oh {
                    for xx in 0..ow {
                        let mut acc = b[o];
                        for c in 0..s.in_channels {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let (sy, sx) = (
                                        (yy + i) as isize - ph as isize,
                                        (xx + j) as isize - pw as isize,
                                    );
                                    if sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < wd
                                    {
                                        acc += w[((o * s.in_channels + c) * kh + i) * kw + j]
                                            * x[((n * s.in_channels + c) * h + sy as usize) * wd
                                                + sx as usize];
                                    }
                                }
                            }
                        }
                        y[((n * s.out_channels + o) * oh + yy) * ow + xx] = acc;
                    }
                }
            }
        }
        y
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn forward_matches_the_definition_with_and_without_padding() {
        for padding in [[0, 0], [1, 2], [2, 0]] {
            let s = ConvShape {
                batch: 3,
                in_channels: 2,
                out_channels: 5,
                input: [7, 6],
                kernel: [3, 4],
                padding,
            };
            let [oh, ow] = s.output();
            let (x, w, b) = (values(3 * 2 * 42, 1), values(5 * 2 * 12, 2), values(5, 3));
            let got = forward(&s, &x, &w, Some(&b));
            let want = naive(&s, &x, &w, &b);
            assert_eq!(got.len(), 3 * 5 * oh * ow);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-4, "{g} vs {w} at padding {padding:?}");
            }
        }
    }

    #[test]
    fn gradients_match_finite_sums_of_the_definition() {
        // L = Σ r·y for a fixed r: dL/dx and dL/dw are linear, so they are exact sums that
        // the definition gives by differentiating one input at a time (y is linear in each).
        for padding in [[0, 0], [1, 2]] {
            let s = ConvShape {
                batch: 2,
                in_channels: 3,
                out_channels: 4,
                input: [6, 5],
                kernel: [3, 2],
                padding,
            };
            let [oh, ow] = s.output();
            let (x, w, b) = (values(2 * 3 * 30, 5), values(4 * 3 * 6, 6), vec![0.0; 4]);
            let r = values(forward(&s, &x, &w, None).len(), 7);
            let loss = |x: &[f32], w: &[f32]| -> f32 {
                naive(&s, x, w, &b).iter().zip(&r).map(|(y, r)| y * r).sum()
            };
            let base = loss(&x, &w);
            let (dw, db) = weight_gradient(&s, &x, &r);
            let dx = input_gradient(&s, &w, &r);
            for idx in 0..w.len() {
                let mut w1 = w.clone();
                w1[idx] += 1.0;
                assert!((loss(&x, &w1) - base - dw[idx]).abs() < 1e-3, "dw[{idx}]");
            }
            for idx in 0..x.len() {
                let mut x1 = x.clone();
                x1[idx] += 1.0;
                assert!((loss(&x1, &w) - base - dx[idx]).abs() < 1e-3, "dx[{idx}]");
            }
            for (o, d) in db.iter().enumerate() {
                let want: f32 = r.chunks(oh * ow).skip(o).step_by(4).flatten().sum();
                assert!((d - want).abs() < 1e-3, "db[{o}]");
            }
        }
    }
}
