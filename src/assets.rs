//! The small inputs nnlab makes itself and ships under `assets/`: five handwritten-style
//! "7" digits and a bank of eight 4×4 kernels, the default inputs of `nnlab conv`.
//!
//! The generators here are the source of truth; `cargo run --example make_assets` rewrites
//! the files, and a test checks the shipped files equal what the generators produce.

use crate::npy::HostArray;

/// Shape of the digit samples: five 1-channel 28×28 images (as the course's `samples_X.npy`).
pub const DIGITS_SHAPE: [usize; 4] = [5, 1, 28, 28];
/// Shape of the kernel bank: eight 1-channel 4×4 kernels (as the course's `kernel.npy`).
pub const KERNELS_SHAPE: [usize; 4] = [8, 1, 4, 4];
/// The shipped digits, `assets/digits_7.npy` (uint8).
pub const DIGITS_NPY: &[u8] = include_bytes!("../assets/digits_7.npy");
/// The shipped kernel bank, `assets/kernels.npy` (float32).
pub const KERNELS_NPY: &[u8] = include_bytes!("../assets/kernels.npy");
/// Names of the kernels in the bank, in order, for figure labels.
pub const KERNEL_NAMES: [&str; 8] = [
    "horizontal edge",
    "vertical edge",
    "diagonal edge",
    "anti-diagonal edge",
    "blur",
    "corner",
    "centre-surround",
    "random",
];

/// A tiny xorshift generator: the assets must not change when a dependency's RNG does.
struct XorShift(u64);

impl XorShift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

/// Distance from point p to the segment a–b.
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

/// Five "7"s as uint8 `[5, 1, 28, 28]`: a top bar and a slanted stem drawn as anti-aliased
/// strokes, each with its own jittered corners, thickness, slight curve and (for some)
/// a crossbar, so they look written by different hands.
pub fn digit_sevens() -> Vec<u8> {
    let mut rng = XorShift(0x5EED_0007);
    let [n, _, h, w] = DIGITS_SHAPE;
    let mut out = Vec::with_capacity(n * h * w);
    for k in 0..n {
        let top_left = (rng.uniform(5.0, 9.0), rng.uniform(4.5, 7.5));
        let top_right = (rng.uniform(19.0, 23.0), rng.uniform(4.0, 7.0));
        let bottom = (rng.uniform(9.0, 14.0), rng.uniform(22.5, 25.0));
        // The stem bends slightly: its midpoint is pushed sideways.
        let bend = rng.uniform(-1.5, 1.5);
        let mid = ((top_right.0 + bottom.0) / 2.0 + bend, (top_right.1 + bottom.1) / 2.0);
        let radius = rng.uniform(1.1, 1.8);
        let mut strokes = vec![(top_left, top_right), (top_right, mid), (mid, bottom)];
        if k % 2 == 1 {
            let cy = rng.uniform(13.0, 15.0);
            let cx = (top_right.0 + bottom.0) / 2.0;
            strokes.push(((cx - 4.0, cy), (cx + 4.0, cy - 0.5)));
        }
        for y in 0..h {
            for x in 0..w {
                let p = (x as f64 + 0.5, y as f64 + 0.5);
                let d = strokes.iter().map(|&(a, b)| segment_distance(p, a, b)).fold(f64::INFINITY, f64::min);
                // Full ink inside the stroke, a one-pixel soft edge outside it.
                let ink = (1.0 - (d - radius)).clamp(0.0, 1.0);
                out.push((255.0 * ink).round() as u8);
            }
        }
    }
    out
}

/// The kernel bank as float32 `[8, 1, 4, 4]`, in the order of [`KERNEL_NAMES`].
pub fn kernel_bank() -> HostArray {
    let mut rng = XorShift(0x5EED_4444);
    let mut data = Vec::with_capacity(8 * 16);
    let cell = |f: &dyn Fn(usize, usize) -> f64, data: &mut Vec<f32>| {
        for i in 0..4 {
            for j in 0..4 {
                data.push(f(i, j) as f32);
            }
        }
    };
    // Edges: +1 on one side, −1 on the other (each sums to 0, responds to a step).
    cell(&|i, _| if i < 2 { 0.25 } else { -0.25 }, &mut data);
    cell(&|_, j| if j < 2 { 0.25 } else { -0.25 }, &mut data);
    let sign = |d: f64| {
        if d > 0.0 {
            0.25
        } else if d < 0.0 {
            -0.25
        } else {
            0.0
        }
    };
    cell(&|i, j| sign(j as f64 - i as f64), &mut data);
    cell(&|i, j| sign((i + j) as f64 - 3.0), &mut data);
    // Blur: the mean of the 4×4 window.
    cell(&|_, _| 1.0 / 16.0, &mut data);
    // Corner: the top and left borders against the rest (an "L" shape), zero sum.
    cell(&|i, j| if i == 0 || j == 0 { 9.0 / 7.0 / 4.0 } else { -0.25 }, &mut data);
    // Centre-surround: the middle 2×2 against the 12-pixel ring, zero sum.
    cell(&|i, j| if (1..3).contains(&i) && (1..3).contains(&j) { 0.75 } else { -0.25 }, &mut data);
    // Random: uniform in [−0.5, 0.5).
    let random: Vec<f64> = (0..16).map(|_| rng.uniform(-0.5, 0.5)).collect();
    cell(&|i, j| random[i * 4 + j], &mut data);
    HostArray { shape: KERNELS_SHAPE.to_vec(), data }
}
