//! Loading and preparing the full CIFAR-10 from the binary layout: read 6 files, check
//! them, split 45 000 / 5 000 stratified, normalise to f32.
//!
//! ```text
//! NNLAB_DATA=~/.cache/nnlab cargo bench --bench data
//! ```

use nnlab::data::{DataSource, SplitConfig, cifar, prepare};
use std::time::Instant;

fn main() -> nnlab::Result<()> {
    let source = DataSource { offline: true, ..Default::default() };
    let (dir, layout) = source.locate(&nnlab::progress::Silent)?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let raw = cifar::read_dir(&dir)?;
        let read = t.elapsed().as_secs_f64();
        let p = prepare::prepare(&raw, &SplitConfig::default())?;
        let total = t.elapsed().as_secs_f64();
        assert_eq!((p.train.len(), p.val.len(), p.test.len()), (45_000, 5_000, 10_000));
        times.push((read, total));
    }
    times.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (read, total) = times[times.len() / 2];
    println!(
        "CIFAR-10 {layout:?} from {}: read + check {read:.3} s, + split + normalise {total:.3} s (median of 5)",
        dir.display()
    );
    Ok(())
}
