//! Helpers shared by the integration tests: which backends to run on, and how to skip
//! wgpu clearly when this machine has no Vulkan driver.
#![allow(dead_code)]

/// Runs `body` on wgpu when a wgpu adapter (a GPU, or Mesa's lavapipe) is available.
///
/// Without an adapter the test prints that it skipped, unless `NNLAB_REQUIRE_WGPU=1`
/// (set by `.ci/run`, which installs lavapipe), where a missing adapter is a failure.
#[cfg(feature = "wgpu")]
pub fn on_wgpu(test: &str, body: impl FnOnce(burn::backend::wgpu::WgpuDevice) + std::panic::UnwindSafe) {
    use burn::tensor::Tensor;
    type W = burn::backend::Wgpu;
    let device = burn::backend::wgpu::WgpuDevice::default();
    let probe_device = device.clone();
    let available = std::panic::catch_unwind(move || {
        let t = Tensor::<W, 1>::ones([2], &probe_device);
        t.sum().into_scalar()
    })
    .is_ok();
    if !available {
        if std::env::var("NNLAB_REQUIRE_WGPU").as_deref() == Ok("1") {
            panic!("{test}: no wgpu adapter, but NNLAB_REQUIRE_WGPU=1 (install mesa-vulkan-drivers libvulkan1)");
        }
        crate::common::skip(format!(
            "SKIPPED {test} on wgpu: no wgpu adapter (install mesa-vulkan-drivers libvulkan1 for lavapipe)"
        ));
        return;
    }
    body(device);
}

/// Runs `body` on Burn's CUDA backend, or reports the test as skipped (with why) when this
/// machine has no usable CUDA (no NVIDIA driver, NVRTC or CUDA headers under `CUDA_PATH`).
#[cfg(feature = "cuda")]
pub fn on_cuda(test: &str, body: impl FnOnce(burn::backend::cuda::CudaDevice)) {
    use nnlab::backend::BackendKind;
    // `preferred` is cuda exactly when a small sum ran there (its panics caught, unprinted).
    if BackendKind::preferred() != Some(BackendKind::Cuda) {
        crate::common::skip(format!(
            "SKIPPED {test} on cuda: CUDA not usable here (NVIDIA driver, NVRTC and the headers under CUDA_PATH)"
        ));
        return;
    }
    body(burn::backend::cuda::CudaDevice::default());
}

/// Reports a skipped check on the real stderr, past the test harness's output capture,
/// so CI logs show what did not run and why.
pub fn skip(message: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Max absolute difference between two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// A tensor's values as f32 on the host.
pub fn host<B: burn::tensor::backend::Backend, const D: usize>(t: burn::tensor::Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec().expect("f32 data")
}

/// Serialises the tests that use a backend's global random generator (seeding it, building
/// nets, drawing tensors): `cargo test` runs tests on parallel threads, and one test's draws
/// between another's seeding and its model would change that model.
pub fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
