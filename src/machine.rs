//! The machine work runs on, described for people: its CPU model and thread count and the
//! NVIDIA GPUs its driver lists. Results record it (run files, `nnlab bench`, the header of
//! `nnlab all`), so a report says where its timings were measured.

use std::path::Path;

/// "AMD EPYC 7B13, 2 threads available" — with ", GPU: NVIDIA H100 80GB HBM3" when the
/// NVIDIA driver lists one (several: "2 × …", different models joined by " + "). The CPU
/// model comes from `/proc/cpuinfo` where it exists, else the architecture's name.
pub fn description() -> String {
    let cpu = cpu_model(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let mut s = format!("{cpu}, {} threads available", available_threads());
    let gpus = gpu_summary(&nvidia_gpus(Path::new("/proc/driver/nvidia/gpus")));
    if !gpus.is_empty() {
        s.push_str(&format!(", GPU: {gpus}"));
    }
    s
}

/// Threads the machine offers (what Burn's CPU backends and PyTorch use by default).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The first `model name` of a `/proc/cpuinfo` text.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .filter(|m| !m.is_empty())
}

/// The `Model:` line of every GPU under the NVIDIA driver's `/proc/driver/nvidia/gpus/<pci
/// address>/information`, in PCI order (none where the driver is absent).
fn nvidia_gpus(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut gpus: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    gpus.sort();
    gpus.iter()
        .filter_map(|gpu| {
            let info = std::fs::read_to_string(gpu.join("information")).ok()?;
            info.lines().find_map(|l| l.strip_prefix("Model:")).map(|m| m.trim().to_string()).filter(|m| !m.is_empty())
        })
        .collect()
}

/// "NVIDIA H100 80GB HBM3", "2 × NVIDIA H100 80GB HBM3", or models joined by " + ".
fn gpu_summary(models: &[String]) -> String {
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for m in models {
        match counted.iter_mut().find(|(name, _)| name == m) {
            Some((_, n)) => *n += 1,
            None => counted.push((m, 1)),
        }
    }
    counted
        .iter()
        .map(|(m, n)| if *n > 1 { format!("{n} × {m}") } else { m.to_string() })
        .collect::<Vec<_>>()
        .join(" + ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cpu_model_and_the_gpus_the_nvidia_driver_lists() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n\
                       processor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13 64-Core Processor"));
        assert_eq!(cpu_model("processor\t: 0\nmodel name\t:\n"), None);

        // The driver's own layout: one directory per PCI address, an `information` file each.
        let dir = std::env::temp_dir().join(format!("nnlab-machine-test-{}", std::process::id()));
        let gpu = |pci: &str, model: &str| {
            let d = dir.join(pci);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("information"), format!("Model: \t\t {model}\nIRQ:   \t\t 150\nBus Type: \t PCIe\n"))
                .unwrap();
        };
        gpu("0000:c1:00.0", "NVIDIA A100-SXM4-40GB");
        gpu("0000:41:00.0", "NVIDIA H100 80GB HBM3");
        gpu("0000:42:00.0", "NVIDIA H100 80GB HBM3");
        let models = nvidia_gpus(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(models, ["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB"]);
        assert_eq!(gpu_summary(&models), "2 × NVIDIA H100 80GB HBM3 + NVIDIA A100-SXM4-40GB");
        assert_eq!(gpu_summary(&models[..1]), "NVIDIA H100 80GB HBM3");
        assert!(nvidia_gpus(&dir).is_empty(), "no driver directory: no GPUs");
    }
}
