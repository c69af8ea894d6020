//! conv2d from scratch: both versions against Burn's conv2d, known values, the course's
//! files, the shipped assets, and every bad input.

use crate::common::{host, max_abs_diff};
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};
use nnlab::conv::{conv2d_on, conv2d_reference, conv2d_tensor, output_shape};
use nnlab::npy::{HostArray, encode_npy, parse_npy, read_npy};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::path::Path;
#[cfg(feature = "cli")]
use std::process::Command;

fn random(shape: &[usize], rng: &mut StdRng) -> HostArray {
    let n = shape.iter().product();
    HostArray::new(shape.to_vec(), (0..n).map(|_| rng.random_range(-0.5f32..0.5)).collect()).unwrap()
}

fn tensor<B: Backend>(a: &HostArray, device: &B::Device) -> Tensor<B, 4> {
    Tensor::from_data(TensorData::new(a.data.clone(), [a.shape[0], a.shape[1], a.shape[2], a.shape[3]]), device)
}

/// Shapes: (input [N, C, H, W], kernel [O, C, kh, kw]), several channel counts,
/// non-square kernels and images, batch sizes 1..5, kernel as large as the image.
const CASES: [([usize; 4], [usize; 4]); 6] = [
    ([1, 1, 5, 5], [1, 1, 3, 3]),
    ([2, 3, 8, 7], [4, 3, 3, 2]),
    ([5, 1, 28, 28], [8, 1, 4, 4]),
    ([3, 4, 9, 11], [2, 4, 1, 5]),
    ([4, 2, 6, 6], [3, 2, 6, 6]),
    ([2, 16, 10, 10], [8, 16, 5, 3]),
];

/// Both versions equal Burn's own conv2d to 1e-5 (max abs) on backend B.
fn both_versions_match_burn<B: Backend>(device: &B::Device, with_reference: bool) {
    let mut rng = StdRng::seed_from_u64(11);
    for (xs, ks) in CASES {
        let (x, k) = (random(&xs, &mut rng), random(&ks, &mut rng));
        let burn_out =
            conv2d(tensor::<B>(&x, device), tensor::<B>(&k, device), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
        let expected_shape = output_shape(&xs, &ks).unwrap();
        assert_eq!(burn_out.dims(), expected_shape, "output shape for {xs:?} * {ks:?}");
        let expected = host(burn_out);
        let ours = host(conv2d_tensor(tensor::<B>(&x, device), tensor::<B>(&k, device)));
        let d = max_abs_diff(&ours, &expected);
        assert!(d <= 1e-5, "tensor conv2d differs from Burn's by {d} for {xs:?} * {ks:?}");
        if with_reference {
            let reference = conv2d_reference(&x, &k).unwrap();
            assert_eq!(reference.shape, expected_shape.to_vec());
            let d = max_abs_diff(&reference.data, &expected);
            assert!(d <= 1e-5, "reference conv2d differs from Burn's by {d} for {xs:?} * {ks:?}");
        }
    }
}

#[test]
fn conv2d_versions_equal_burn_on_ndarray() {
    both_versions_match_burn::<burn::backend::NdArray>(&Default::default(), true);
}

#[cfg(feature = "flex")]
#[test]
fn conv2d_tensor_equals_burn_on_flex() {
    both_versions_match_burn::<burn::backend::Flex>(&Default::default(), false);
}

#[cfg(feature = "wgpu")]
#[test]
fn conv2d_tensor_equals_burn_on_wgpu() {
    crate::common::on_wgpu("conv2d_tensor_equals_burn", |device| {
        both_versions_match_burn::<burn::backend::Wgpu>(&device, false)
    });
}

#[test]
fn reference_matches_values_computed_by_hand() {
    // 3×3 image 1..9, 2×2 kernel [[1, 0], [0, -1]]: out[y][x] = in[y][x] − in[y+1][x+1] = −4.
    let x = HostArray::new(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect()).unwrap();
    let k = HostArray::new(vec![1, 1, 2, 2], vec![1.0, 0.0, 0.0, -1.0]).unwrap();
    assert_eq!(conv2d_reference(&x, &k).unwrap().data, vec![-4.0; 4]);
    // Two channels, kernel of ones: each output is the sum of a 2×2 window over both channels.
    let x2 = HostArray::new(vec![1, 2, 2, 3], (0..12).map(|v| v as f32).collect()).unwrap();
    let k2 = HostArray::new(vec![1, 2, 2, 2], vec![1.0; 8]).unwrap();
    // windows: ch0 [0,1,3,4]=8, [1,2,4,5]=12; ch1 [6,7,9,10]=32, [7,8,10,11]=36.
    assert_eq!(conv2d_reference(&x2, &k2).unwrap().data, vec![40.0, 48.0]);
}

#[test]
fn course_samples_convolve_to_the_homework_shape() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/course");
    let (samples, kernel) = (dir.join("samples_7.npy"), dir.join("kernel.npy"));
    if !samples.exists() || !kernel.exists() {
        crate::common::skip(format!(
            "SKIPPED course_samples_convolve_to_the_homework_shape: {} not found",
            dir.display()
        ));
        return;
    }
    let x = read_npy(&samples).unwrap();
    let k = read_npy(&kernel).unwrap();
    assert_eq!((x.shape.as_slice(), k.shape.as_slice()), ([5, 1, 28, 28].as_slice(), [8, 1, 4, 4].as_slice()));
    assert!(x.data.iter().all(|&v| (0.0..=255.0).contains(&v) && v.fract() == 0.0), "uint8 values");
    let reference = conv2d_reference(&x, &k).unwrap();
    assert_eq!(reference.shape, vec![5, 8, 25, 25]);
    let ours = conv2d_on::<burn::backend::NdArray>(&x, &k, &Default::default()).unwrap();
    let scale = reference.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(max_abs_diff(&ours.data, &reference.data) <= 1e-5 * scale.max(1.0));
}

#[test]
fn shipped_assets_equal_their_generators() {
    let digits = parse_npy(nnlab::assets::DIGITS_NPY, Path::new("digits_7.npy")).unwrap();
    assert_eq!(digits.shape, nnlab::assets::DIGITS_SHAPE.to_vec());
    let generated: Vec<f32> = nnlab::assets::digit_sevens().into_iter().map(f32::from).collect();
    assert_eq!(digits.data, generated, "assets/digits_7.npy is stale: cargo run --example make_assets");
    // Each digit has ink (a stroke) and background, and the five differ.
    for img in digits.data.chunks(28 * 28) {
        let ink = img.iter().filter(|&&v| v > 128.0).count();
        assert!((40..400).contains(&ink), "digit has {ink} inked pixels");
    }
    assert_ne!(digits.data[..784], digits.data[784..1568]);
    let kernels = parse_npy(nnlab::assets::KERNELS_NPY, Path::new("kernels.npy")).unwrap();
    assert_eq!(kernels, nnlab::assets::kernel_bank());
    // Edge, corner and centre-surround kernels sum to zero; the blur sums to one.
    let sums: Vec<f32> = kernels.data.chunks(16).map(|k| k.iter().sum()).collect();
    for i in [0, 1, 2, 3, 5, 6] {
        assert!(sums[i].abs() < 1e-6, "kernel {i} sums to {}", sums[i]);
    }
    assert!((sums[4] - 1.0).abs() < 1e-6);
}

#[test]
fn npy_reads_uint8_float32_float64_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let values = [0u8, 1, 127, 255];
    std::fs::write(dir.path().join("u8.npy"), encode_npy(&[2, 2], &values).unwrap()).unwrap();
    std::fs::write(dir.path().join("f64.npy"), encode_npy(&[4], &[0.5f64, -1.0, 2.25, 1e-3]).unwrap()).unwrap();
    let u = read_npy(&dir.path().join("u8.npy")).unwrap();
    assert_eq!((u.shape, u.data), (vec![2, 2], vec![0.0, 1.0, 127.0, 255.0]));
    let f = read_npy(&dir.path().join("f64.npy")).unwrap();
    assert_eq!(f.data, vec![0.5, -1.0, 2.25, 1e-3f64 as f32]);
    let a = HostArray::new(vec![1, 2, 3], vec![1.5, -2.0, 0.0, 3.25, 9.0, -0.125]).unwrap();
    nnlab::npy::write_npy_f32(&dir.path().join("f32.npy"), &a).unwrap();
    assert_eq!(read_npy(&dir.path().join("f32.npy")).unwrap(), a);
}

#[cfg(feature = "cli")]
fn nnlab_conv(out: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_nnlab"))
        .args(["--quiet", "--backend", "ndarray", "--out", out.to_str().unwrap(), "conv"])
        .args(args)
        .output()
        .unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[cfg(feature = "cli")]
#[test]
fn conv_command_writes_output_and_grid() {
    let out = tempfile::tempdir().unwrap();
    let (ok, err) = nnlab_conv(out.path(), &[]);
    assert!(ok, "{err}");
    let result = read_npy(&out.path().join("conv/out.npy")).unwrap();
    assert_eq!(result.shape, vec![5, 8, 25, 25]);
    let digits = parse_npy(nnlab::assets::DIGITS_NPY, Path::new("d")).unwrap();
    let expected = conv2d_reference(&digits, &nnlab::assets::kernel_bank()).unwrap();
    let scale = expected.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(max_abs_diff(&result.data, &expected.data) <= 1e-5 * scale);
    let png = image::open(out.path().join("conv/conv.png")).unwrap();
    assert!(png.width() > 9 * 100 && png.height() > 5 * 100, "grid of 5 rows × (input + 8 kernels)");
    let svg = std::fs::read_to_string(out.path().join("conv/conv.svg")).unwrap();
    assert_eq!(svg.matches("<image").count(), 5 * 9, "one embedded bitmap per tile");
}

#[cfg(feature = "cli")]
#[test]
fn conv_bad_inputs_give_one_clear_message_each() {
    let out = tempfile::tempdir().unwrap();
    let d = out.path();
    let write = |name: &str, bytes: Vec<u8>| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let rank3 = write("rank3.npy", encode_npy(&[1, 28, 28], &vec![0u8; 784]).unwrap());
    let rgb = write("rgb.npy", encode_npy(&[1, 3, 8, 8], &vec![0f32; 192]).unwrap());
    let big = write("big.npy", encode_npy(&[1, 1, 30, 30], &vec![0f32; 900]).unwrap());
    let ints = write("int32.npy", {
        // A valid int32 .npy written by hand: numpy's header, then 4 values.
        let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 2, 2), }";
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((h.len() as u16).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend([0u8; 16]);
        b
    });
    let full = encode_npy(&[5, 1, 28, 28], &vec![0u8; 3920]).unwrap();
    let truncated = write("truncated.npy", full[..full.len() - 100].to_vec());
    let text = write("notes.npy", b"these are not the numbers you are looking for".to_vec());
    let missing = d.join("missing.npy").to_str().unwrap().to_string();

    let cases: [(&[&str], &str); 7] = [
        (&["--input", &rank3], "must have 4 dimensions"),
        (&["--input", &rgb], "channel"),
        (&["--kernel", &big], "larger than"),
        (&["--kernel", &ints], "unsupported dtype '<i4'"),
        (&["--input", &truncated], "truncated"),
        (&["--input", &text], "not a valid .npy file"),
        (&["--input", &missing], "cannot read"),
    ];
    for (args, needle) in cases {
        let (ok, err) = nnlab_conv(&d.join("out"), args);
        assert!(!ok, "{args:?} should fail");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert!(err.contains(needle), "{args:?}: expected '{needle}' in: {err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "one message: {err}");
    }
    assert!(!d.join("out/conv/out.npy").exists(), "nothing is written for bad input");
}
