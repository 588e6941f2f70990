"""Python counterpart of Program.cs: torchvision mobilenet_v2 (1000 classes, random init), one SGD training step and
one eval forward at the same batch / size. Run with Debian's python3-torch:

    /usr/bin/python3 bench/probes/TorchPerfProbe/mobilenet_v2_probe.py [--threads N] [--interop N] [--channels-last]
        [--eval-mode inference|nograd|none] [--batch 32] [--size 96] [--warmup 3] [--iters 10]
"""
import argparse, time, resource
import torch, torchvision

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--interop", type=int, default=0)
ap.add_argument("--channels-last", action="store_true")
ap.add_argument("--no-mkldnn", action="store_true")
ap.add_argument("--eval-mode", default="inference")
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--size", type=int, default=96)
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--iters", type=int, default=10)
a = ap.parse_args()
if a.threads: torch.set_num_threads(a.threads)
if a.interop: torch.set_num_interop_threads(a.interop)
if a.no_mkldnn: torch.backends.mkldnn.enabled = False
torch.manual_seed(0)

model = torchvision.models.mobilenet_v2(num_classes=1000)
x = torch.randn(a.batch, 3, a.size, a.size)
y = torch.randint(0, 1000, (a.batch,))
if a.channels_last:
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

def measure(step):
    for _ in range(a.warmup): step()
    ms = []
    for _ in range(a.iters):
        t = time.perf_counter(); step(); ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return f"median {ms[len(ms)//2]:.1f} ms (min {ms[0]:.1f}, max {ms[-1]:.1f}, n={len(ms)})"

def train_step():
    sgd.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    sgd.step()

def eval_step():
    if a.eval_mode == "inference":
        with torch.inference_mode(): model(x)
    elif a.eval_mode == "nograd":
        with torch.no_grad(): model(x)
    else:
        model(x)

model.train(); tr = measure(train_step)
model.eval(); ev = measure(eval_step)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(f"python torch {torch.__version__} batch={a.batch} size={a.size} threads={torch.get_num_threads()} "
      f"interop={torch.get_num_interop_threads()} channels_last={a.channels_last} mkldnn={torch.backends.mkldnn.enabled} "
      f"eval_mode={a.eval_mode} | train {tr} | eval {ev} | peakRSS={rss}MB")
