"""Shared by the plain-PyTorch baselines: orch's dice_ce loss, the timed train step and the
memory probes, each written to do exactly what bench/train_step.cpp does so that the two step
times compare the framework, not the loop."""
import argparse
import json
import resource
import time

import torch


def soft_dice_loss(logits, target, smooth=1e-5):
    """worker/train/losses.cpp soft_dice_loss: 1 - mean over (sample, class) of soft Dice."""
    k = logits.shape[1]
    p = torch.softmax(logits, 1)
    y = torch.nn.functional.one_hot(target, k).to(p.dtype)
    y = y.permute(0, y.dim() - 1, *range(1, y.dim() - 1))
    spatial = list(range(2, p.dim()))
    inter = (p * y).sum(spatial)
    denom = p.sum(spatial) + y.sum(spatial)
    return (1 - (2 * inter + smooth) / (denom + smooth)).mean()


def dice_ce_loss(logits, target):
    """worker/train/losses.cpp dice_ce_loss: soft Dice + cross-entropy, both weighted 1."""
    return soft_dice_loss(logits, target) + torch.nn.functional.cross_entropy(logits, target)


def proc_status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def reset_peak_rss():
    """VmHWM back to the current RSS (Linux >= 4.0); False where refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--shape", required=True, help="input shape, comma-separated (B,C,...)")
    p.add_argument("--classes", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    return p


def run(build, args, extra):
    """Builds the model with build(), trains it like bench_train_step's run_case and prints one
    JSON line: median step seconds, parameters, peak memory."""
    torch.set_num_threads(args.threads)
    shape = [int(s) for s in args.shape.split(",")]
    rss0 = proc_status_kib("VmRSS")
    reset = reset_peak_rss()
    maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load = load_average()
    torch.manual_seed(0)
    model = build()
    model.train()
    params = sum(p.numel() for p in model.parameters())
    x = torch.randint(0, args.classes, shape).float()
    y = torch.randint(0, args.classes, shape[:1] + shape[2:], dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        t0 = time.perf_counter()
        opt.zero_grad()  # set_to_none=False in 1.13, as LibTorch's zero_grad
        loss = dice_ce_loss(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        return time.perf_counter() - t0

    for _ in range(args.warmup):
        step()
    times = [step() for _ in range(max(1, args.steps))]
    med = sorted(times)[len(times) // 2] if len(times) % 2 else \
        0.5 * (sorted(times)[len(times) // 2 - 1] + sorted(times)[len(times) // 2])
    out = {"framework": "pytorch " + torch.__version__, "threads": args.threads,
           "input_shape": shape, "params": params, "warmup": args.warmup, "steps": len(times),
           "step_s": times, "median_step_s": med, "steps_per_s": 1.0 / med,
           "peak_rss_delta_kib": proc_status_kib("VmHWM") - rss0 if reset else -1,
           "ru_maxrss_delta_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss0,
           "load_average": load}
    out.update(extra)
    print(json.dumps(out))
