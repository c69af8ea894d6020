//! A CPU conv2d (stride 1, zero padding) on plain `f32` slices in NCHW layout, with its own
//! weight and input gradients, each a direct convolution in hand-vectorised loops (AVX-512,
//! AVX2 + FMA, or a portable copy), images spread over the rayon pool.
//!
//! Why: Burn's generic backward for conv2d (a transposed convolution for the input gradient
//! and a large-kernel convolution for the weight gradient) runs 3–4× slower than the forward
//! on small-channel nets. Here, with `K = in·kh·kw` rows `(c, i, j)`:
//!
//! - forward: `Y[o, p] = Σ_r W[o, r] · x[r + p]` (`Direct`);
//! - weight gradient: `dW[o, r] = Σₙ Σₚ dY[o, p] · x[r + p]` (`Correlation`);
//! - input gradient: the forward's loop over `dY`, with the kernel turned by 180° and in and
//!   out swapped.
//!
//! Pixels are "wide": `p` runs over whole rows of the padded input (`out_h · W`), so that
//! row `r = (c, i, j)` is one contiguous run of the image starting at `(c, i, j)`, read in
//! place, at the price of computing `kw − 1` discarded pixels per output row. The discarded
//! pixels' output gradients are zero, so they add nothing to the gradients, and in the input
//! gradient they also stand for the zeros left and right of each gradient row.
//!
//! These loops replaced im2col + one `gemm` matrix product per image (measured on a 2-core
//! Intel Xeon VM: cnn4's four layers' forward and gradients 2.5× faster, see
//! docs/PERFORMANCE.md): the products are small (`O` = 8 or 16 rows, half of `gemm`'s 16-row
//! tile idle at 8), and im2col copied each image `kh·kw` times before `gemm` packed the copy
//! again.

use super::simd::{Isa, Lanes, Portable};
use rayon::prelude::*;
use std::cell::RefCell;
use std::mem::MaybeUninit;

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

    /// Rows `(c, i, j)` of the kernel: in·kh·kw.
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

    /// Padded input height and width.
    fn padded(&self) -> [usize; 2] {
        [0, 1].map(|i| self.input[i] + 2 * self.padding[i])
    }

    /// Wide pixels of one image: output rows × padded input width.
    fn wide(&self) -> usize {
        self.output()[0] * self.padded()[1]
    }

    /// Values of one padded image.
    fn padded_len(&self) -> usize {
        let [h, w] = self.padded();
        self.in_channels * h * w
    }

    /// Start of row `(c, i, j)` in the padded image (pixel `(c, i, j)`), for every row in order.
    fn row_starts(&self) -> impl Iterator<Item = usize> + '_ {
        let [h, w] = self.padded();
        let [kh, kw] = self.kernel;
        (0..self.in_channels).flat_map(move |c| (0..kh).flat_map(move |i| (0..kw).map(move |j| c * h * w + i * w + j)))
    }
}

thread_local! {
    /// Per-thread scratch memory for the kernels (padded images, wide outputs and gradients),
    /// kept between calls: fresh large buffers would cost page faults on every step.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `sizes.len()` scratch buffers of those lengths, contents unspecified.
fn with_scratch<const N: usize, R>(sizes: [usize; N], f: impl FnOnce([&mut [f32]; N]) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut buffer = cell.take();
        let total: usize = sizes.iter().sum();
        if buffer.len() < total {
            buffer.resize(total, 0.0);
        }
        let mut rest = &mut buffer[..];
        let parts = sizes.map(|n| {
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(n);
            rest = tail;
            part
        });
        let out = f(parts);
        cell.replace(buffer);
        out
    })
}

crate::multiversion! {
    /// Keeps each wide output row's first `out_w` pixels (`y_wide`, O planes `stride`
    /// values apart), adding the bias and then taking ReLU where `relu`, into `out` (O planes
    /// of `out_h × out_w`), writing every value of `out`.
    fn compact[_fma](
        s: &ConvShape,
        y_wide: &[f32],
        stride: usize,
        bias: Option<&[f32]>,
        relu: bool,
        out: &mut [MaybeUninit<f32>],
    ) {
        let p = s.pixels();
        let (ow, wp) = (s.output()[1], s.padded()[1]);
        // Every value of `out` is written: O planes, each of out_h rows from a wide plane.
        assert_eq!(out.len(), s.out_channels * p, "output length");
        assert!(stride >= s.wide() && y_wide.len() >= s.out_channels * stride, "wide output too short");
        for (c, (plane, wide_plane)) in out.chunks_exact_mut(p).zip(y_wide.chunks_exact(stride)).enumerate() {
            let b = bias.map_or(0.0, |b| b[c]);
            for (dst, src) in plane.chunks_exact_mut(ow).zip(wide_plane.chunks_exact(wp)) {
                if relu {
                    dst.iter_mut().zip(src).for_each(|(d, v)| {
                        d.write((v + b).max(0.0));
                    });
                } else {
                    dst.iter_mut().zip(src).for_each(|(d, v)| {
                        d.write(v + b);
                    });
                }
            }
        }
    }
}

/// The sum of `values` in 16 interleaved partial sums, which vectorise (one running sum is
/// a chain of dependent adds).
#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let chunks = values.chunks_exact(16);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        acc.iter_mut().zip(chunk).for_each(|(a, v)| *a += v);
    }
    acc.iter().sum::<f32>() + rest
}

/// Copies one image's output gradient (`O` planes of `out_h × out_w`) into wide rows,
/// zero in the discarded pixels.
#[inline(always)]
fn widen(s: &ConvShape, dy: &[f32], wide: &mut [f32]) {
    let ow = s.output()[1];
    let wp = s.padded()[1];
    for (src, dst) in dy.chunks_exact(ow).zip(wide.chunks_exact_mut(wp)) {
        dst[..ow].copy_from_slice(src);
        dst[ow..].fill(0.0);
    }
}

/// Forward conv: `x` is `[batch, in, h, w]`, `weight` `[out, in, kh, kw]`, `bias` `[out]`;
/// returns `[batch, out, out_h, out_w]`.
pub fn forward(s: &ConvShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    forward_then(s, x, weight, bias, false)
}

/// [`forward`] followed by ReLU (`max(v, 0)`, which makes a NaN 0, as flex's ReLU), in the
/// same pass over the output: for evaluation, where a conv layer's ReLU needs no gradient
/// (a separate ReLU read and wrote every output again: 11 % of a validation pass).
pub fn forward_relu(s: &ConvShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    forward_then(s, x, weight, bias, true)
}

/// [`forward`], then ReLU where `relu`.
fn forward_then(s: &ConvShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>, relu: bool) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    assert_eq!(x.len(), s.batch * s.image_len(), "input length");
    assert_eq!(weight.len(), o * k, "weight length");
    if p == 0 || o == 0 {
        return vec![0.0f32; s.batch * o * p];
    }
    if k == 0 {
        // No input values: every output is its bias.
        let mut y = vec![0.0f32; s.batch * o * p];
        for (plane, &b) in y.chunks_exact_mut(p).zip(bias.unwrap_or(&[]).iter().cycle()) {
            plane.fill(if relu { b.max(0.0) } else { b });
        }
        return y;
    }
    let starts: Vec<usize> = s.row_starts().collect();
    let [oh, ow] = s.output();
    let len = (oh - 1) * s.padded()[1] + ow;
    let stride = s.wide().next_multiple_of(MAX_LANES);
    let image = s.padded_len() + MAX_LANES;
    // Not zeroed first: `compact` writes every output (zeroing took 5 % of a validation pass).
    let mut y = Vec::with_capacity(s.batch * o * p);
    y.spare_capacity_mut()[..s.batch * o * p].par_chunks_mut(o * p).enumerate().for_each(|(n, out)| {
        let rest = &x[n * s.image_len()..];
        with_scratch([image, o * stride], |[pad, y_wide]| {
            // Unpadded, an image followed by another is read in place: the vector loop's reads
            // past its end land in the next image, in discarded pixels. Others are copied.
            let x = if s.padding == [0, 0] && rest.len() >= s.image_len() + MAX_LANES {
                rest
            } else {
                pad_with_slack(s, &rest[..s.image_len()], pad);
                pad
            };
            direct(&Direct { x, starts: &starts, w: weight, o, len }, y_wide, stride);
            compact(s, y_wide, stride, bias, relu, out);
        })
    });
    // SAFETY: `compact` wrote every one of the O planes of out_h × out_w values of each image.
    unsafe { y.set_len(s.batch * o * p) };
    y
}

/// Weight and bias gradients from the forward input `x` and the output gradient `dy`
/// (`[batch, out, out_h, out_w]`): `([out, in, kh, kw], [out])`.
///
/// Each weight's gradient is a dot product of an output-gradient plane with the input
/// plane shifted by the weight's offset, `dW[o, (c, i, j)] = Σₚ dY[o, p] · x[c, i, j + p]`
/// over wide pixels `p`, computed by `correlate` straight from the image: no im2col copy
/// and no packing, where a matrix product with only `O` = 8 or 16 rows packs both operands
/// and leaves half of `gemm`'s 16-row tile idle at `O` = 8.
pub fn weight_gradient(s: &ConvShape, x: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    assert_eq!(x.len(), s.batch * s.image_len(), "input length");
    assert_eq!(dy.len(), s.batch * o * p, "output gradient length");
    let zero = || (vec![0.0f32; o * k], vec![0.0f32; o]);
    if p == 0 || s.batch == 0 {
        return zero();
    }
    let starts: Vec<usize> = s.row_starts().collect();
    // Wide pixels up to the last kept one: the dot products' length. Row (c, i, j) read that
    // far ends exactly at the end of plane c; the vector loop reads on to a multiple of its
    // lanes, into the slack after each image copy and after each gradient row (zeros).
    let [oh, ow] = s.output();
    let len = (oh - 1) * s.padded()[1] + ow;
    let stride = s.wide().next_multiple_of(MAX_LANES);
    let (image, grads) = (s.padded_len() + MAX_LANES, o * stride);
    // Images per task: enough pixels that the partial sums' final additions (a dozen
    // instructions per weight) stay small beside the products on small planes.
    let chunk = MIN_PIXELS.div_ceil(len).clamp(1, s.batch.div_ceil(rayon::current_num_threads()));
    let image_len = s.image_len().max(1);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dy
        .par_chunks(chunk * o * p)
        .zip(x.par_chunks(chunk * image_len))
        .map(|(g, x)| {
            let (mut dw_t, mut db) = zero();
            let images = g.len() / (o * p);
            with_scratch([images * image, images * grads], |[pads, g_wide]| {
                for (x, pad) in x.chunks_exact(image_len).zip(pads.chunks_exact_mut(image)) {
                    pad_with_slack(s, x, pad);
                }
                for (g, rows) in g.chunks_exact(o * p).zip(g_wide.chunks_exact_mut(grads)) {
                    widen_rows(s, g, rows, stride);
                }
                let operands = Correlation { x: pads, g: g_wide, image, grads, stride, len, starts: &starts, o };
                correlate(&operands, &mut dw_t);
            });
            for (i, plane) in g.chunks_exact(p).enumerate() {
                db[i % o] += sum(plane);
            }
            (dw_t, db)
        })
        .collect();
    // Each task's sums added in the order of its images: the same bits however the threads
    // shared the tasks. (rayon's `fold` + `reduce` added them in the order they ran, so two
    // runs of one seed parted in the sixth digit of the loss within 40 steps. One fixed run
    // of images per thread instead, deterministic too, made cnn3 steps about 15 % slower:
    // no thread could take over another's work.)
    let (dw_t, db) = partials
        .into_iter()
        .reduce(|(mut w1, mut b1), (w2, b2)| {
            w1.iter_mut().zip(w2).for_each(|(a, b)| *a += b);
            b1.iter_mut().zip(b2).for_each(|(a, b)| *a += b);
            (w1, b1)
        })
        .unwrap_or_else(zero);
    let dw = (0..o * k).map(|i| dw_t[(i % k) * o + i / k]).collect();
    (dw, db)
}

/// A convolution of one image as wide rows: `out[o·stride + p] = Σ_r w[o·K + r] ·
/// x[starts[r] + p]` for every output `o` and pixel `p < len`, `K` rows (c, i, j) starting
/// at `starts` in the image `x`.
struct Direct<'a> {
    x: &'a [f32],
    starts: &'a [usize],
    /// `O × K`, row-major.
    w: &'a [f32],
    /// `O`, outputs.
    o: usize,
    len: usize,
}

/// Computes a [`Direct`] convolution into `out` (rows `stride` apart) with the widest
/// vectors this CPU has: each vector of pixels is a sum over the rows of a weight times the
/// image read from the row's start, so the image is read in place, without im2col's copy or
/// a matrix product's packing. Writes pixels up to `len` rounded up to [`MAX_LANES`]; `x`
/// must hold [`MAX_LANES`] readable values past every row's `len`.
fn direct(d: &Direct, out: &mut [f32], stride: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use super::simd::{Avx2, Avx512};
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512(d: &Direct, out: &mut [f32], stride: usize) {
            direct_all::<Avx512, 8, 3>(d, out, stride)
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(d: &Direct, out: &mut [f32], stride: usize) {
            direct_all::<Avx2, 4, 3>(d, out, stride)
        }
        match Isa::get() {
            // SAFETY: `Isa::get` names only instructions this CPU has.
            Isa::Avx512 => return unsafe { avx512(d, out, stride) },
            // SAFETY: as above.
            Isa::Avx2 => return unsafe { avx2(d, out, stride) },
            Isa::Portable => {}
        }
    }
    direct_all::<Portable, 2, 2>(d, out, stride)
}

/// [`direct`] in vectors `V`, `OB` outputs × `PV` vectors of pixels at a time (their sums
/// stay in registers), the remainders one output or one vector at a time.
#[inline(always)]
fn direct_all<V: Lanes, const OB: usize, const PV: usize>(d: &Direct, out: &mut [f32], stride: usize) {
    let (k, o) = (d.starts.len(), d.o);
    let n = d.len.next_multiple_of(V::LANES);
    assert_eq!(d.w.len(), o * k, "weight length");
    assert!(V::LANES <= MAX_LANES && n <= stride && o * stride <= out.len(), "output rows too short");
    assert!(d.starts.iter().all(|&at| at + n <= d.x.len()), "image too short");
    let tile = PV * V::LANES;
    let tiles = n - n % tile;
    let outputs = o - o % OB;
    for p0 in (0..tiles).step_by(tile) {
        for o0 in (0..outputs).step_by(OB) {
            // SAFETY: the asserts above keep every read and write in bounds.
            unsafe { direct_block::<V, OB, PV>(d, out, stride, o0, p0) };
        }
        for o0 in outputs..o {
            // SAFETY: as above.
            unsafe { direct_block::<V, 1, PV>(d, out, stride, o0, p0) };
        }
    }
    for p0 in (tiles..n).step_by(V::LANES) {
        for o0 in (0..outputs).step_by(OB) {
            // SAFETY: as above.
            unsafe { direct_block::<V, OB, 1>(d, out, stride, o0, p0) };
        }
        for o0 in outputs..o {
            // SAFETY: as above.
            unsafe { direct_block::<V, 1, 1>(d, out, stride, o0, p0) };
        }
    }
}

/// Outputs `o0..o0 + OB` × pixels `p0..p0 + PV·LANES` of [`direct`].
///
/// # Safety
/// Every read `x[starts[r] + p]` and write `out[o·stride + p]` of the block must be in
/// bounds, and the CPU must have `V`'s instructions.
#[inline(always)]
unsafe fn direct_block<V: Lanes, const OB: usize, const PV: usize>(
    d: &Direct,
    out: &mut [f32],
    stride: usize,
    o0: usize,
    p0: usize,
) {
    let k = d.starts.len();
    let (x, w) = (d.x.as_ptr(), d.w.as_ptr());
    // SAFETY: the caller asserts `V`'s instructions.
    let mut acc = [[unsafe { V::zero() }; PV]; OB];
    for (r, &start) in d.starts.iter().enumerate() {
        // SAFETY: the caller keeps these reads in bounds.
        let xv: [V; PV] = std::array::from_fn(|v| unsafe { V::load(x.add(start + p0 + v * V::LANES)) });
        for (b, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `(o0 + b)·K + r` is inside `w` (o0 + b < O, r < K).
            let wv = unsafe { V::splat(*w.add((o0 + b) * k + r)) };
            for (acc, xv) in acc.iter_mut().zip(xv) {
                *acc = acc.mul_add(wv, xv);
            }
        }
    }
    let out = out.as_mut_ptr();
    for (b, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate() {
            // SAFETY: the caller keeps these writes in bounds.
            unsafe { acc.store(out.add((o0 + b) * stride + p0 + v * V::LANES)) };
        }
    }
}

/// Pixels a weight-gradient task sums over before adding up its partial sums.
const MIN_PIXELS: usize = 512;

/// The most lanes a compiled copy of [`correlate`] reads at once: the slack its buffers
/// keep after their last value.
const MAX_LANES: usize = 16;

/// Copies one image into `out` zero-padded (the layout whose rows `ConvShape::row_starts`
/// gives), zeros after it.
fn pad_with_slack(s: &ConvShape, image: &[f32], out: &mut [f32]) {
    if s.padding == [0, 0] {
        out[..image.len()].copy_from_slice(image);
        out[image.len()..].fill(0.0);
        return;
    }
    let [h, w] = s.input;
    let [hp, wp] = s.padded();
    let [ph, pw] = s.padding;
    out.fill(0.0);
    for (c, plane) in image.chunks_exact(h * w).enumerate() {
        for (y, row) in plane.chunks_exact(w).enumerate() {
            let at = c * hp * wp + (y + ph) * wp + pw;
            out[at..at + w].copy_from_slice(row);
        }
    }
}

/// Copies one image's output gradient (`O` planes of `out_h × out_w`) into wide rows of
/// `stride` values each, zero in the discarded pixels and after the last row.
fn widen_rows(s: &ConvShape, dy: &[f32], out: &mut [f32], stride: usize) {
    let wide = s.wide();
    for (plane, row) in dy.chunks_exact(s.pixels()).zip(out.chunks_exact_mut(stride)) {
        widen(s, plane, &mut row[..wide]);
        row[wide..].fill(0.0);
    }
}

/// The weight gradient of a few images as dot products: image `m`'s row `r` starts at
/// `x[m·image + starts[r]]`, its output `o`'s gradient row at `g[m·grads + o·stride]`.
struct Correlation<'a> {
    /// The padded images, `image` values apart.
    x: &'a [f32],
    /// The wide output-gradient rows, `grads` values apart per image, `stride` per output.
    g: &'a [f32],
    image: usize,
    grads: usize,
    stride: usize,
    /// Pixels in each dot product.
    len: usize,
    /// Start of each row (c, i, j) in an image.
    starts: &'a [usize],
    /// Outputs.
    o: usize,
}

/// `dw_t[r·O + o] += Σ_m Σ_{p < len} g[m, o, p] · x[m, starts[r] + p]` (see
/// [`Correlation`]) for every output `o` and row `r`, with the widest vectors this CPU has.
/// Images and gradient rows must hold [`MAX_LANES`] readable values past `len` (their
/// products are added too: keep the gradient zero there).
fn correlate(c: &Correlation, dw_t: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use super::simd::{Avx2, Avx512};
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512(c: &Correlation, dw_t: &mut [f32]) {
            correlate_all::<Avx512, 4, 4>(c, dw_t)
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(c: &Correlation, dw_t: &mut [f32]) {
            correlate_all::<Avx2, 4, 3>(c, dw_t)
        }
        match Isa::get() {
            // SAFETY: `Isa::get` names only instructions this CPU has.
            Isa::Avx512 => return unsafe { avx512(c, dw_t) },
            // SAFETY: as above.
            Isa::Avx2 => return unsafe { avx2(c, dw_t) },
            Isa::Portable => {}
        }
    }
    correlate_all::<Portable, 2, 4>(c, dw_t)
}

/// [`correlate`] in vectors `V`, `OB` outputs × `RB` rows at a time (their partial sums
/// stay in registers), the remainders one output or one row at a time.
#[inline(always)]
fn correlate_all<V: Lanes, const OB: usize, const RB: usize>(c: &Correlation, dw_t: &mut [f32]) {
    let n = c.len.next_multiple_of(V::LANES);
    let images = c.g.len() / c.grads.max(1);
    assert!(V::LANES <= MAX_LANES && n <= c.stride && c.o * c.stride <= c.grads, "gradient rows too short");
    assert!(images * c.image <= c.x.len() && images * c.grads <= c.g.len(), "fewer images than gradients");
    assert!(c.starts.iter().all(|&at| at + n <= c.image), "image too short");
    assert_eq!(dw_t.len(), c.starts.len() * c.o, "weight gradient length");
    let rows = c.starts.len() - c.starts.len() % RB;
    let outputs = c.o - c.o % OB;
    let block = Block { c, n, images };
    for o0 in (0..outputs).step_by(OB) {
        for r0 in (0..rows).step_by(RB) {
            // SAFETY: the asserts above keep every read inside `x` and `g`.
            unsafe { block.accumulate::<V, OB, RB>(o0, r0, dw_t) };
        }
        for r0 in rows..c.starts.len() {
            // SAFETY: as above.
            unsafe { block.accumulate::<V, OB, 1>(o0, r0, dw_t) };
        }
    }
    for o0 in outputs..c.o {
        for r0 in (0..rows).step_by(RB) {
            // SAFETY: as above.
            unsafe { block.accumulate::<V, 1, RB>(o0, r0, dw_t) };
        }
        for r0 in rows..c.starts.len() {
            // SAFETY: as above.
            unsafe { block.accumulate::<V, 1, 1>(o0, r0, dw_t) };
        }
    }
}

/// A [`Correlation`] with its vector length `n` (a multiple of the lanes) and image count.
struct Block<'a> {
    c: &'a Correlation<'a>,
    n: usize,
    images: usize,
}

impl Block<'_> {
    /// Outputs `o0..o0 + OB` × rows `r0..r0 + RB`: `OB·RB` vector partial sums over `n`
    /// pixels of every image, then each one's lanes added into `dw_t`.
    ///
    /// # Safety
    /// Every read (`x[m·image + starts[r] + p]`, `g[m·grads + o·stride + p]` for the block's
    /// rows and outputs, `p < n`, `m < images`) must be in bounds.
    #[inline(always)]
    unsafe fn accumulate<V: Lanes, const OB: usize, const RB: usize>(&self, o0: usize, r0: usize, dw_t: &mut [f32]) {
        let c = self.c;
        let starts: [usize; RB] = std::array::from_fn(|r| c.starts[r0 + r]);
        // SAFETY: the dispatch in `correlate` runs this copy only on CPUs with `V`.
        let mut acc = [[unsafe { V::zero() }; RB]; OB];
        for m in 0..self.images {
            // SAFETY: the caller keeps these offsets and the reads below in bounds.
            let (x, g) = unsafe { (c.x.as_ptr().add(m * c.image), c.g.as_ptr().add(m * c.grads + o0 * c.stride)) };
            let mut p = 0;
            while p < self.n {
                // SAFETY: as above.
                let xv: [V; RB] = std::array::from_fn(|r| unsafe { V::load(x.add(starts[r] + p)) });
                for (b, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: as above.
                    let gv = unsafe { V::load(g.add(b * c.stride + p)) };
                    for (acc, xv) in acc.iter_mut().zip(xv) {
                        *acc = acc.mul_add(gv, xv);
                    }
                }
                p += V::LANES;
            }
        }
        for (b, acc) in acc.iter().enumerate() {
            for (r, acc) in acc.iter().enumerate() {
                dw_t[(r0 + r) * c.o + o0 + b] += acc.sum();
            }
        }
    }
}

/// Input gradient `[batch, in, h, w]` from the weight and the output gradient `dy`: a
/// `Direct` convolution of `dy` with the kernel turned by 180° and in and out swapped,
/// `dx[c, q] = Σ_{o, i, j} W[o, c, kh−1−i, kw−1−j] · dY[o, q + (i, j) − (kh−1, kw−1)]`, over
/// wide rows of `dy` with `(kh−1)·W + kw−1` zeros before them (the discarded pixels' zeros
/// also stand for the columns left and right of the image).
pub fn input_gradient(s: &ConvShape, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    let (k, p, o, c) = (s.patch(), s.pixels(), s.out_channels, s.in_channels);
    assert_eq!(weight.len(), o * k, "weight length");
    assert_eq!(dy.len(), s.batch * o * p, "output gradient length");
    let mut dx = vec![0.0f32; s.batch * s.image_len()];
    if p == 0 || k == 0 {
        return dx;
    }
    let [h, w] = s.input;
    let [hp, wp] = s.padded();
    let [ph, pw] = s.padding;
    let [kh, kw] = s.kernel;
    let (before, plane, wide) = ((kh - 1) * wp + kw - 1, hp * wp, s.wide());
    // One plane of the padded-out gradient per output: zeros, the wide rows, zeros, long
    // enough for every row read to end inside it.
    let g_plane = before + plane + MAX_LANES;
    let starts: Vec<usize> =
        (0..o).flat_map(|m| (0..kh).flat_map(move |i| (0..kw).map(move |j| m * g_plane + i * wp + j))).collect();
    let turned: Vec<f32> = (0..c)
        .flat_map(|ci| {
            (0..o).flat_map(move |m| {
                (0..kh)
                    .flat_map(move |i| (0..kw).map(move |j| weight[((m * c + ci) * kh + kh - 1 - i) * kw + kw - 1 - j]))
            })
        })
        .collect();
    let stride = plane.next_multiple_of(MAX_LANES);
    dx.par_chunks_mut(s.image_len()).zip(dy.par_chunks(o * p)).for_each(|(dx, g)| {
        with_scratch([o * g_plane, c * stride], |[g_out, dpad]| {
            for (dy, row) in g.chunks_exact(p).zip(g_out.chunks_exact_mut(g_plane)) {
                row[..before].fill(0.0);
                widen(s, dy, &mut row[before..before + wide]);
                row[before + wide..].fill(0.0);
            }
            direct(&Direct { x: g_out, starts: &starts, w: &turned, o: c, len: plane }, dpad, stride);
            for (ci, dx) in dx.chunks_exact_mut(h * w).enumerate() {
                for (y, row) in dx.chunks_exact_mut(w).enumerate() {
                    let at = ci * stride + (y + ph) * wp + pw;
                    row.copy_from_slice(&dpad[at..at + w]);
                }
            }
        })
    });
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
                                    let (sy, sx) = ((yy + i) as isize - ph as isize, (xx + j) as isize - pw as isize);
                                    if sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < wd {
                                        acc += w[((o * s.in_channels + c) * kh + i) * kw + j]
                                            * x[((n * s.in_channels + c) * h + sy as usize) * wd + sx as usize];
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
        (0..len).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    #[test]
    fn forward_matches_the_definition_with_and_without_padding_in_every_vector_width() {
        for isa in Isa::available() {
            let _isa = isa.force();
            forward_matches_the_definition();
        }
    }

    fn forward_matches_the_definition() {
        for padding in [[0, 0], [1, 2], [2, 0]] {
            // 9 outputs: a full block of every vector width's outputs and a remainder.
            let s = ConvShape { batch: 3, in_channels: 2, out_channels: 9, input: [7, 6], kernel: [3, 4], padding };
            let [oh, ow] = s.output();
            let (x, w, b) = (values(3 * 2 * 42, 1), values(9 * 2 * 12, 2), values(9, 3));
            let got = forward(&s, &x, &w, Some(&b));
            let want = naive(&s, &x, &w, &b);
            assert_eq!(got.len(), 3 * 9 * oh * ow);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-4, "{g} vs {w} at padding {padding:?}");
            }
            let relu = forward_relu(&s, &x, &w, Some(&b));
            assert!(want.iter().any(|&v| v < -1e-3) && want.iter().any(|&v| v > 1e-3), "outputs of both signs");
            for (r, w) in relu.iter().zip(&want) {
                assert!((r - w.max(0.0)).abs() < 1e-4, "ReLU: {r} vs max({w}, 0) at padding {padding:?}");
            }
        }
    }

    #[test]
    fn a_conv_without_input_channels_gives_its_bias() {
        let s = ConvShape { batch: 2, in_channels: 0, out_channels: 3, input: [4, 5], kernel: [2, 2], padding: [0, 0] };
        let y = forward(&s, &[], &[], Some(&[1.0, -2.0, 0.5]));
        let [oh, ow] = s.output();
        let want: Vec<f32> = (0..2).flat_map(|_| [1.0, -2.0, 0.5].map(|b| vec![b; oh * ow]).concat()).collect();
        assert_eq!(y, want);
        let relu: Vec<f32> = want.iter().map(|v| v.max(0.0)).collect();
        assert_eq!(forward_relu(&s, &[], &[], Some(&[1.0, -2.0, 0.5])), relu);
    }

    #[test]
    fn gradients_match_finite_sums_of_the_definition_in_every_vector_width() {
        for isa in Isa::available() {
            let _isa = isa.force();
            gradients_match_finite_sums_of_the_definition();
        }
    }

    fn gradients_match_finite_sums_of_the_definition() {
        // L = Σ r·y for a fixed r: dL/dx and dL/dw are linear, so they are exact sums that
        // the definition gives by differentiating one input at a time (y is linear in each).
        for padding in [[0, 0], [1, 2]] {
            let s = ConvShape { batch: 2, in_channels: 3, out_channels: 4, input: [6, 5], kernel: [3, 2], padding };
            let [oh, ow] = s.output();
            let (x, w, b) = (values(2 * 3 * 30, 5), values(4 * 3 * 6, 6), vec![0.0; 4]);
            let r = values(forward(&s, &x, &w, None).len(), 7);
            let loss = |x: &[f32], w: &[f32]| -> f32 { naive(&s, x, w, &b).iter().zip(&r).map(|(y, r)| y * r).sum() };
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
