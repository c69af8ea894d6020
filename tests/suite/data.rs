//! The CIFAR-10 pipeline on synthetic datasets written by the test itself in both official
//! layouts: exact reading, stratified and seeded splits, scaling, device batches, and every
//! bad input. With `NNLAB_DATA` pointing at a real copy, the official sizes are checked too.

use burn::tensor::{Int, Tensor, TensorData};
use nnlab::data::cifar::{IMAGE_BYTES, Layout, RawImages, read_dir, read_dir_with};
use nnlab::data::prepare::{MEAN, STD, prepare, stratified_take};
use nnlab::data::{DataSource, DeviceSet, EpochBatches, InputScale, SplitConfig};
use std::path::Path;

type B = burn::backend::NdArray;

/// `n` images whose pixels encode (file, index) and whose labels cycle through 0..9.
fn synthetic(file: usize, n: usize) -> RawImages {
    let mut raw = RawImages::default();
    for i in 0..n {
        raw.labels.push(((i * 7 + file) % 10) as u8);
        raw.images.extend((0..IMAGE_BYTES).map(|p| ((p * 31 + i * 17 + file * 101) % 256) as u8));
    }
    raw
}

fn binary_bytes(raw: &RawImages) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &l) in raw.labels.iter().enumerate() {
        out.push(l);
        out.extend_from_slice(&raw.images[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES]);
    }
    out
}

/// A pickle laid out like the official python batches (Python 2, protocol 2): a dict whose
/// `data` is a numpy uint8 array `[n, 3072]` (reduce + build with the raw bytes) and whose
/// `labels` is a list of ints.
fn python_bytes(raw: &RawImages) -> Vec<u8> {
    let n = raw.len();
    let mut p = vec![0x80, 2, b'}', b'('];
    let short_str = |p: &mut Vec<u8>, s: &[u8]| {
        p.push(b'U');
        p.push(s.len() as u8);
        p.extend_from_slice(s);
    };
    short_str(&mut p, b"batch_label");
    short_str(&mut p, b"training batch 1 of 5");
    short_str(&mut p, b"data");
    p.extend_from_slice(b"cnumpy.core.multiarray\n_reconstruct\n");
    p.extend_from_slice(b"cnumpy\nndarray\n");
    p.extend_from_slice(&[b'K', 0, 0x85]); // (0,)
    short_str(&mut p, b"b");
    p.extend_from_slice(&[0x87, b'R', b'(', b'K', 1]); // reduce; state: (1,
    p.push(b'M');
    p.extend_from_slice(&(n as u16).to_le_bytes());
    p.push(b'M');
    p.extend_from_slice(&(IMAGE_BYTES as u16).to_le_bytes());
    p.push(0x86); // shape (n, 3072)
    p.extend_from_slice(b"cnumpy\ndtype\n");
    short_str(&mut p, b"u1");
    p.extend_from_slice(&[b'K', 0, b'K', 1, 0x87, b'R', b'(', b'K', 3]);
    short_str(&mut p, b"|");
    p.extend_from_slice(&[b'N', b'N', b'N', b'J', 255, 255, 255, 255, b'J', 255, 255, 255, 255, b'K', 0, b't', b'b']);
    p.push(0x89); // not Fortran order
    p.push(b'T');
    p.extend_from_slice(&(raw.images.len() as u32).to_le_bytes());
    p.extend_from_slice(&raw.images);
    p.extend_from_slice(b"tb"); // state tuple, BUILD
    short_str(&mut p, b"labels");
    p.extend_from_slice(b"](");
    for &l in &raw.labels {
        p.extend_from_slice(&[b'K', l]);
    }
    p.extend_from_slice(b"eu.");
    p
}

/// Writes six files (5 training + test) of `per_file` images in `layout` under `root`.
fn write_layout(root: &Path, layout: Layout, per_file: usize) -> (RawImages, RawImages) {
    let dir = root.join(layout.dir_name());
    std::fs::create_dir_all(&dir).unwrap();
    let mut train = RawImages::default();
    for k in 1..=6 {
        let raw = synthetic(k, per_file);
        let (name, bytes) = match layout {
            Layout::Binary => {
                (if k == 6 { "test_batch.bin".into() } else { format!("data_batch_{k}.bin") }, binary_bytes(&raw))
            }
            Layout::Python => {
                (if k == 6 { "test_batch".into() } else { format!("data_batch_{k}") }, python_bytes(&raw))
            }
        };
        std::fs::write(dir.join(name), bytes).unwrap();
        if k == 6 {
            return (train, raw);
        }
        train.images.extend(raw.images);
        train.labels.extend(raw.labels);
    }
    unreachable!()
}

#[test]
fn both_layouts_read_back_exactly_what_was_written() {
    for layout in [Layout::Binary, Layout::Python] {
        let root = tempfile::tempdir().unwrap();
        let (train, test) = write_layout(root.path(), layout, 40);
        // The parent directory and the layout directory itself are both accepted.
        for dir in [root.path().to_path_buf(), root.path().join(layout.dir_name())] {
            let data = read_dir_with(&dir, 40).unwrap();
            assert_eq!(data.layout, layout);
            assert_eq!(data.train, train, "{layout:?} training set");
            assert_eq!(data.test, test, "{layout:?} test set");
        }
    }
}

#[test]
fn split_is_stratified_seeded_and_scaled() {
    let root = tempfile::tempdir().unwrap();
    write_layout(root.path(), Layout::Binary, 200);
    let data = read_dir_with(root.path(), 200).unwrap();
    assert_eq!(data.train.class_counts(), [100; 10]);
    let config = SplitConfig { seed: 3, ..SplitConfig::default() };
    let p = prepare(&data, &config).unwrap();
    assert_eq!((p.train.len(), p.val.len(), p.test.len()), (900, 100, 200));
    assert_eq!(p.val.class_counts(), [10; 10], "10 % of each class");
    assert_eq!(p.train.class_counts(), [90; 10]);
    // Same seed, same split; another seed, another split.
    assert_eq!(prepare(&data, &config).unwrap(), p);
    let other = prepare(&data, &SplitConfig { seed: 4, ..config.clone() }).unwrap();
    assert_ne!(other.val.images, p.val.images);
    // Validation and training images are disjoint and together are the training files.
    let image_of =
        |set: &nnlab::data::PreparedSet, i: usize| set.images[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES].to_vec();
    let mut all: Vec<Vec<u32>> = (0..p.train.len())
        .map(|i| image_of(&p.train, i))
        .chain((0..p.val.len()).map(|i| image_of(&p.val, i)))
        .map(|v| v.iter().map(|x| x.to_bits()).collect())
        .collect();
    all.sort();
    let mut original: Vec<Vec<u32>> = data
        .train
        .images
        .chunks(IMAGE_BYTES)
        .map(|img| {
            img.chunks(1024)
                .enumerate()
                .flat_map(|(c, plane)| plane.iter().map(move |&v| ((v as f32 / 255.0 - MEAN[c]) / STD[c]).to_bits()))
                .collect()
        })
        .collect();
    original.sort();
    assert_eq!(all, original, "train ∪ val is the normalised training set");
    // Raw scaling keeps the bytes.
    let raw = prepare(&data, &SplitConfig { input_scale: InputScale::Raw255, ..config }).unwrap();
    assert!(raw.train.images.iter().all(|&v| v.fract() == 0.0 && (0.0..=255.0).contains(&v)));
    assert!(raw.train.images.iter().any(|&v| v > 200.0));
}

#[test]
fn caps_are_stratified() {
    let root = tempfile::tempdir().unwrap();
    write_layout(root.path(), Layout::Binary, 200);
    let data = read_dir_with(root.path(), 200).unwrap();
    let config = SplitConfig { max_train: Some(300), max_val: Some(50), max_test: Some(95), ..SplitConfig::default() };
    let p = prepare(&data, &config).unwrap();
    assert_eq!(p.train.class_counts(), [30; 10]);
    assert_eq!(p.val.class_counts(), [5; 10]);
    let test = p.test.class_counts();
    assert_eq!(test.iter().sum::<usize>(), 95);
    assert!(test.iter().all(|&c| c == 9 || c == 10), "{test:?}");
    // stratified_take on an unbalanced set: classes run out and others fill in.
    let labels = [0u8, 0, 0, 0, 1, 2];
    let mut rng = rand::SeedableRng::seed_from_u64(0);
    let (picked, rest) = stratified_take(&labels, &[0, 1, 2, 3, 4, 5], 4, &mut rng);
    let picked_labels: Vec<u8> = picked.iter().map(|&i| labels[i]).collect();
    assert_eq!(picked.len() + rest.len(), 6);
    assert_eq!(picked_labels.iter().filter(|&&l| l == 0).count(), 2, "{picked_labels:?}");
}

#[test]
fn device_batches_gather_the_right_images() {
    let root = tempfile::tempdir().unwrap();
    write_layout(root.path(), Layout::Binary, 23);
    let data = read_dir_with(root.path(), 23).unwrap();
    let p = prepare(&data, &SplitConfig::default()).unwrap();
    let device = Default::default();
    let set = DeviceSet::<B>::new(p.train.clone(), &device);
    assert_eq!(set.len(), p.train.len());
    let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![5i64, 0, 17], [3]), &device);
    let (x, y) = set.gather(idx);
    assert_eq!(x.dims(), [3, 3, 32, 32]);
    let x = crate::common::host(x);
    let y: Vec<i64> = y.into_data().convert::<i64>().to_vec().unwrap();
    for (k, &i) in [5usize, 0, 17].iter().enumerate() {
        assert_eq!(&x[k * IMAGE_BYTES..(k + 1) * IMAGE_BYTES], &p.train.images[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES]);
        assert_eq!(y[k], p.train.labels[i] as i64);
    }
    // An epoch covers every image once; a last partial batch is kept unless dropped.
    let n = set.len();
    let epoch = EpochBatches::<B>::new(n, 10, false, 1, 0, &device);
    assert_eq!(epoch.len(), n.div_ceil(10));
    let mut seen: Vec<i64> =
        (0..epoch.len()).flat_map(|k| epoch.indices(k).into_data().convert::<i64>().to_vec::<i64>().unwrap()).collect();
    assert_eq!(epoch.indices(epoch.len() - 1).dims()[0], n - 10 * (epoch.len() - 1));
    let first_order = seen.clone();
    seen.sort();
    assert_eq!(seen, (0..n as i64).collect::<Vec<_>>());
    assert_eq!(EpochBatches::<B>::new(n, 10, true, 1, 0, &device).len(), n / 10);
    let next: Vec<i64> =
        EpochBatches::<B>::new(n, n, false, 1, 1, &device).indices(0).into_data().convert::<i64>().to_vec().unwrap();
    assert_ne!(next, first_order, "each epoch gets a fresh shuffle");
}

fn err_of(r: nnlab::Result<impl std::fmt::Debug>) -> String {
    r.expect_err("should fail").to_string()
}

#[test]
fn corrupt_or_missing_data_is_reported_with_file_and_numbers() {
    let root = tempfile::tempdir().unwrap();
    write_layout(root.path(), Layout::Binary, 20);
    let dir = root.path().join("cifar-10-batches-bin");
    // Wrong size: a truncated file.
    let f3 = dir.join("data_batch_3.bin");
    let good = std::fs::read(&f3).unwrap();
    std::fs::write(&f3, &good[..good.len() - 500]).unwrap();
    let e = err_of(read_dir_with(root.path(), 20));
    assert!(e.contains("data_batch_3.bin") && e.contains("expected 61460 bytes") && e.contains("found 60960"), "{e}");
    // Record count: official sizes expected by default.
    std::fs::write(&f3, &good).unwrap();
    let e = err_of(read_dir(root.path()));
    assert!(e.contains("10000 records") && e.contains("(20 records)"), "{e}");
    // Label outside 0..9.
    let mut bad = good.clone();
    bad[3 * 3073] = 12;
    std::fs::write(&f3, &bad).unwrap();
    let e = err_of(read_dir_with(root.path(), 20));
    assert!(e.contains("image 3 has label 12"), "{e}");
    // Missing file.
    std::fs::remove_file(&f3).unwrap();
    let e = err_of(read_dir_with(root.path(), 20));
    assert!(e.contains("missing file") && e.contains("data_batch_3.bin"), "{e}");
    // Python layout: labels and data of different lengths; not a pickle.
    let py = tempfile::tempdir().unwrap();
    write_layout(py.path(), Layout::Python, 20);
    let f1 = py.path().join("cifar-10-batches-py/data_batch_1");
    std::fs::write(&f1, python_bytes(&synthetic(1, 19))).unwrap();
    let e = err_of(read_dir_with(py.path(), 20));
    assert!(e.contains("data_batch_1") && e.contains("expected 20 images") && e.contains("19 labels"), "{e}");
    std::fs::write(&f1, b"\x80\x02garbage").unwrap();
    let e = err_of(read_dir_with(py.path(), 20));
    assert!(e.contains("not a readable pickle"), "{e}");
}

#[test]
fn sources_say_where_they_looked_and_what_to_do() {
    let empty = tempfile::tempdir().unwrap();
    // --data-dir at an empty directory.
    let named = DataSource { data_dir: Some(empty.path().into()), ..Default::default() };
    let e = err_of(named.locate(&nnlab::progress::Silent));
    assert!(e.contains("--data-dir") && e.contains("no CIFAR-10 there"), "{e}");
    // --data-dir at a file.
    let file = empty.path().join("cifar.tar.gz");
    std::fs::write(&file, b"x").unwrap();
    let e = err_of(DataSource { data_dir: Some(file), ..Default::default() }.locate(&nnlab::progress::Silent));
    assert!(e.contains("is a file, not a directory"), "{e}");
    // Offline with an empty cache: the paths searched and how to provide the data.
    if std::env::var_os("NNLAB_DATA").is_none_or(|d| d.is_empty()) {
        let offline = DataSource { cache_dir: Some(empty.path().join("cache")), offline: true, ..Default::default() };
        let e = err_of(offline.locate(&nnlab::progress::Silent));
        assert!(
            e.contains("searched")
                && e.contains(&empty.path().join("cache").display().to_string())
                && e.contains("--data-dir"),
            "{e}"
        );
    }
    // A cache that holds the data is found.
    let cache = tempfile::tempdir().unwrap();
    write_layout(cache.path(), Layout::Python, 10);
    if std::env::var_os("NNLAB_DATA").is_none_or(|d| d.is_empty()) {
        let (dir, layout) = DataSource { cache_dir: Some(cache.path().into()), offline: true, ..Default::default() }
            .locate(&nnlab::progress::Silent)
            .unwrap();
        assert_eq!((dir, layout), (cache.path().join("cifar-10-batches-py"), Layout::Python));
    }
}

#[test]
fn md5_matches_known_digests() {
    use nnlab::data::source::md5_hex;
    // RFC 1321 test vectors.
    assert_eq!(md5_hex(&b""[..]).unwrap(), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(&b"message digest"[..]).unwrap(), "f96b697d7cb7938d525a2f31aaf161d0");
}

#[test]
fn real_cifar10_has_official_sizes() {
    let Some(dir) = std::env::var_os("NNLAB_DATA").filter(|d| !d.is_empty()) else {
        crate::common::skip(
            "SKIPPED real_cifar10_has_official_sizes: set NNLAB_DATA to a CIFAR-10 directory to run it".to_string(),
        );
        return;
    };
    let data = read_dir(Path::new(&dir)).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (50_000, 10_000));
    assert_eq!(data.train.class_counts(), [5_000; 10]);
    assert_eq!(data.test.class_counts(), [1_000; 10]);
    let p = prepare(&data, &SplitConfig::default()).unwrap();
    assert_eq!((p.train.len(), p.val.len(), p.test.len()), (45_000, 5_000, 10_000));
    assert_eq!(p.val.class_counts(), [500; 10]);
    // Normalised training pixels have roughly zero mean and unit std per channel.
    for c in 0..3 {
        let vals: Vec<f64> = p
            .train
            .images
            .chunks(IMAGE_BYTES)
            .take(2000)
            .flat_map(|im| im[c * 1024..(c + 1) * 1024].iter().map(|&v| v as f64))
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        let std = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt();
        assert!(mean.abs() < 0.1 && (std - 1.0).abs() < 0.1, "channel {c}: mean {mean}, std {std}");
    }
}

/// Burn's `DataLoader` over nnlab's `Dataset` (#17): each batch holds exactly the prepared
/// images and labels of its items, and a shuffled epoch visits every image once.
#[cfg(feature = "dataset")]
#[test]
fn burn_dataloader_over_the_prepared_split_yields_every_image_once() {
    use burn::data::dataloader::DataLoaderBuilder;
    use burn::data::dataset::Dataset;
    use nnlab::data::dataset::{CifarBatcher, CifarDataset};
    let root = tempfile::tempdir().unwrap();
    write_layout(root.path(), Layout::Binary, 23);
    let p = prepare(&read_dir_with(root.path(), 23).unwrap(), &SplitConfig::default()).unwrap();
    let dataset = CifarDataset::new(p.train.clone());
    assert_eq!(dataset.len(), p.train.len());
    assert!(dataset.get(p.train.len()).is_none());
    let item = dataset.get(3).unwrap();
    assert_eq!(
        (item.image.as_slice(), item.label),
        (&p.train.images[3 * IMAGE_BYTES..4 * IMAGE_BYTES], p.train.labels[3])
    );

    // Which prepared image (with that label) a batch row is, not counted yet; a row matching
    // none means the batcher mixed up images and labels.
    let mut used = vec![false; p.train.len()];
    let mut index_of = |row: &[f32], label: i64| {
        let i = (0..p.train.len())
            .find(|&i| {
                !used[i]
                    && p.train.labels[i] as i64 == label
                    && &p.train.images[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES] == row
            })
            .expect("a batch row that is no image of the split with its label, or one seen twice");
        used[i] = true;
        i
    };
    let loader = DataLoaderBuilder::<B, _, _>::new(CifarBatcher).batch_size(7).shuffle(5).num_workers(2).build(dataset);
    let mut seen = Vec::new();
    for batch in loader.iter() {
        let n = batch.labels.dims()[0];
        assert_eq!(batch.images.dims(), [n, 3, 32, 32]);
        let x = crate::common::host(batch.images);
        let y: Vec<i64> = batch.labels.into_data().convert::<i64>().to_vec().unwrap();
        for k in 0..n {
            seen.push(index_of(&x[k * IMAGE_BYTES..(k + 1) * IMAGE_BYTES], y[k]));
        }
    }
    let order = seen.clone();
    seen.sort();
    assert_eq!(seen, (0..p.train.len()).collect::<Vec<_>>(), "an epoch misses or repeats images");
    assert_ne!(order, (0..p.train.len()).collect::<Vec<_>>(), "not shuffled");
}
