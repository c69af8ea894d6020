#!/usr/bin/env python3
"""Independent PyTorch implementation of the homework protocol (EE449 HW1 part 3), for
comparing nnlab's accuracy and speed on the same data and machine.

Protocol: CIFAR-10 (official binary layout), pixels / 255 then per-channel normalisation
(mean 0.4914 0.4822 0.4465, std 0.247 0.243 0.261), stratified 10 % validation split (500 per
class), Adam with PyTorch defaults (lr 1e-3), batch 50, 15 epochs, cross-entropy, default
PyTorch initialisation, valid padding, max-pool 2x2 stride 2, prediction layer FC10.

    python3 benches/pytorch_reference.py --data ~/.cache/nnlab --arch mlp1 --seed 0 [--val]

Prints one JSON line per run: {"arch", "seed", "test_acc", "seconds", "params"}.

Bench mode (what `nnlab bench` runs, on synthetic images, no dataset needed):

    python3 benches/pytorch_reference.py --bench --arch mlp1,cnn4 --iters 20 --epoch-steps 900

times one Adam training step (batch 50), one validation pass (5 000 images in batches of
1 000) and one protocol epoch (validation every 10 steps) per net, and prints one JSON line
in the shape of nnlab's `bench::Side`.
"""
import argparse, json, os, time
import numpy as np
import torch
import torch.nn as nn

MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
STD = np.array([0.247, 0.243, 0.261], dtype=np.float32)


def read_binary(path):
    raw = np.fromfile(path, dtype=np.uint8)
    assert raw.size == 10000 * 3073, f"{path}: unexpected size {raw.size}"
    raw = raw.reshape(10000, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


def load(data_dir):
    d = data_dir
    if os.path.isdir(os.path.join(d, "cifar-10-batches-bin")):
        d = os.path.join(d, "cifar-10-batches-bin")
    parts = [read_binary(os.path.join(d, f"data_batch_{k}.bin")) for k in range(1, 6)]
    x = np.concatenate([p[0] for p in parts]); y = np.concatenate([p[1] for p in parts])
    xt, yt = read_binary(os.path.join(d, "test_batch.bin"))
    norm = lambda a: ((a.astype(np.float32) / 255.0 - MEAN[None, :, None, None]) / STD[None, :, None, None])
    return norm(x), y, norm(xt), yt


def stratified_split(y, fraction, seed):
    rng = np.random.default_rng(seed)
    val = []
    for c in range(10):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        val.extend(idx[: int(round(len(idx) * fraction))])
    val = np.array(sorted(val))
    train = np.setdiff1d(np.arange(len(y)), val)
    return train, val


def build(arch, act=nn.ReLU):
    A = act
    if arch == "mlp1":
        return nn.Sequential(nn.Flatten(), nn.Linear(3072, 32), A(), nn.Linear(32, 10))
    if arch == "mlp2":
        return nn.Sequential(nn.Flatten(), nn.Linear(3072, 32), A(), nn.Linear(32, 64, bias=False), nn.Linear(64, 10))
    if arch == "cnn3":
        return nn.Sequential(nn.Conv2d(3, 16, 3), A(), nn.Conv2d(16, 8, 5), A(), nn.MaxPool2d(2, 2),
                             nn.Conv2d(8, 16, 7), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(144, 10))
    if arch == "cnn4":
        return nn.Sequential(nn.Conv2d(3, 16, 3), A(), nn.Conv2d(16, 8, 3), A(), nn.Conv2d(8, 16, 5), A(),
                             nn.MaxPool2d(2, 2), nn.Conv2d(16, 16, 5), A(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(256, 10))
    if arch == "cnn5":
        return nn.Sequential(nn.Conv2d(3, 8, 3), A(), nn.Conv2d(8, 16, 3), A(), nn.Conv2d(16, 8, 3), A(),
                             nn.Conv2d(8, 16, 3), A(), nn.MaxPool2d(2, 2), nn.Conv2d(16, 16, 3), A(),
                             nn.Conv2d(16, 8, 3), A(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(128, 10))
    raise SystemExit(f"unknown arch {arch}")


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = sum((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item() for i in range(0, len(x), batch))
    model.train()
    return correct / len(x)


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def timing(samples):
    return {"median_ms": median(samples), "samples_ms": samples}


def bench(a):
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)

    def sync():
        # CUDA runs asynchronously: wait for the GPU before reading the clock.
        if dev.type == "cuda":
            torch.cuda.synchronize()

    nets = []
    archs = a.arch.split(",")
    # One untimed round on the first net, as nnlab does, so the first timed net does not
    # pay for thread-pool and allocator warm-up.
    for k, arch in enumerate(archs[:1] + archs):
        warm_up_only = k == 0
        torch.manual_seed(a.seed)
        model = build(arch).to(dev)
        params = sum(q.numel() for q in model.parameters())
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        x = torch.randn(a.batch_size, 3, 32, 32, device=dev)
        y = torch.randint(0, 10, (a.batch_size,), device=dev)
        steps = []
        for rep in range(a.warmup + a.iters):
            sync()
            t = time.perf_counter()
            loss = loss_fn(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            sync()
            if rep >= a.warmup:
                steps.append((time.perf_counter() - t) * 1e3)
        if warm_up_only:
            continue
        xv = torch.randn(a.val_images, 3, 32, 32, device=dev)
        yv = torch.randint(0, 10, (a.val_images,), device=dev)
        vals = []
        for rep in range(a.val_iters + 1):
            t = time.perf_counter()
            accuracy(model, xv, yv, a.eval_batch_size)
            if rep > 0:
                vals.append((time.perf_counter() - t) * 1e3)
        epoch = None
        if a.epoch_steps > 0:
            torch.manual_seed(a.seed)
            model = build(arch).to(dev)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            n = a.epoch_steps * a.batch_size
            xtr, ytr = torch.randn(n, 3, 32, 32, device=dev), torch.randint(0, 10, (n,), device=dev)
            sync()
            t = time.perf_counter()
            perm = torch.randperm(n, device=dev)
            for step, i in enumerate(range(0, n, a.batch_size)):
                idx = perm[i:i + a.batch_size]
                out = model(xtr[idx])
                loss = loss_fn(out, ytr[idx])
                opt.zero_grad(); loss.backward(); opt.step()
                if step % 10 == 0 or step + 1 == a.epoch_steps:
                    loss.item()
                    accuracy(model, xv, yv, a.eval_batch_size)
            sync()
            epoch = time.perf_counter() - t
        nets.append({"arch": arch, "params": params, "step": timing(steps), "val_pass": timing(vals),
                     "epoch_seconds": epoch})
    print(json.dumps({"name": f"PyTorch {torch.__version__} ({a.device})", "threads": torch.get_num_threads(), "nets": nets}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.expanduser("~/.cache/nnlab"))
    p.add_argument("--arch", default="mlp1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--val", action="store_true", help="record validation accuracy every 10 steps")
    p.add_argument("--params-only", action="store_true")
    p.add_argument("--bench", action="store_true", help="time steps, validation passes and an epoch (synthetic data)")
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--val-images", type=int, default=5000)
    p.add_argument("--val-iters", type=int, default=3)
    p.add_argument("--eval-batch-size", type=int, default=1000)
    p.add_argument("--epoch-steps", type=int, default=900, help="0 skips the epoch")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--device", default="cpu", help="bench on this torch device (cpu, cuda)")
    a = p.parse_args()
    if a.bench:
        bench(a)
        return
    torch.manual_seed(a.seed)
    model = build(a.arch)
    params = sum(q.numel() for q in model.parameters())
    if a.params_only:
        print(json.dumps({"arch": a.arch, "params": params}))
        return
    x, y, xt, yt = load(a.data)
    tr, va = stratified_split(y, 0.1, a.seed)
    xtr, ytr = torch.from_numpy(x[tr]), torch.from_numpy(y[tr])
    xva, yva = torch.from_numpy(x[va]), torch.from_numpy(y[va])
    xt, yt = torch.from_numpy(xt), torch.from_numpy(yt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(a.seed)
    start = time.time()
    step, losses, vals = 0, [], []
    for _ in range(a.epochs):
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(perm), 50):
            idx = perm[i:i + 50]
            out = model(xtr[idx])
            loss = loss_fn(out, ytr[idx])
            opt.zero_grad(); loss.backward(); opt.step()
            if step % 10 == 0:
                losses.append(loss.item())
                if a.val:
                    vals.append(accuracy(model, xva, yva))
            step += 1
    test = accuracy(model, xt, yt)
    print(json.dumps({"arch": a.arch, "seed": a.seed, "test_acc": test, "seconds": time.time() - start,
                      "params": params, "steps": step, "final_loss": losses[-1]}))


if __name__ == "__main__":
    main()
