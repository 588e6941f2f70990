#!/usr/bin/python3
"""Peer for the ResNet-18 fine-tuning throughput benchmark (Debian python3-torch 1.13), random weights, no download,
a 10-class head, batch 32, 2 threads: full training step (SGD, cross-entropy) and eval forward, img/s at the sizes
given (default 96 224).

Two networks: torchvision's resnet18 (BasicBlock ×[2, 2, 2, 2], 1.82 GMAC at 224 px) and the same class with
×[2, 2, 2, 3], which is the layout of the CNTK ResNet-18 in Microsoft.ML.DnnImageFeaturizer.ResNet18 (a third unit in
the last stage: 22 convolutions, 2.04 GMAC at 224 px). `--network torchvision|package|both` (default both);
`--channels-last` runs model and input in torch.channels_last (PyTorch's default is contiguous NCHW); `--iters N`."""
import time, torch, torchvision
from torchvision.models.resnet import ResNet, BasicBlock
import argparse
torch.set_num_threads(2)
parser = argparse.ArgumentParser()
parser.add_argument("sizes", nargs="*", type=int, default=[96, 224])
parser.add_argument("--quick", action="store_true")
parser.add_argument("--iters", type=int, default=5)
parser.add_argument("--network", choices=["torchvision", "package", "both"], default="both")
parser.add_argument("--channels-last", action="store_true")
a = parser.parse_args()
sizes, iters, which = a.sizes, 3 if a.quick else a.iters, a.network
layout = torch.channels_last if a.channels_last else torch.contiguous_format
networks = {"torchvision resnet18 [2,2,2,2]": lambda: torchvision.models.resnet18(),
            "package layout [2,2,2,3]": lambda: ResNet(BasicBlock, [2, 2, 2, 3])}
if which == "torchvision": networks.pop("package layout [2,2,2,3]")
if which == "package": networks.pop("torchvision resnet18 [2,2,2,2]")
for name, make in networks.items():
    model = make()
    model.fc = torch.nn.Linear(512, 10)
    model = model.to(memory_format=layout)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    for size in sizes:
        x = torch.randn(32, 3, size, size).to(memory_format=layout); y = torch.randint(0, 10, (32,))
        model.train()
        def step():
            opt.zero_grad(); loss = torch.nn.functional.cross_entropy(model(x), y); loss.backward(); opt.step()
        step(); t = time.perf_counter()
        for _ in range(iters): step()
        s = 32 * iters / (time.perf_counter() - t)
        model.eval()
        with torch.inference_mode():
            model(x); t = time.perf_counter()
            for _ in range(iters): model(x)
            f = 32 * iters / (time.perf_counter() - t)
        print(f"| PyTorch {torch.__version__} {name}{' channels_last' if layout == torch.channels_last else ''} | {size} | 32 | train step {s:.1f} | forward {f:.1f} |", flush=True)
