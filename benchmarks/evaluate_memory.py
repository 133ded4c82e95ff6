"""How much memory does `kgen evaluate` need for two folders of 50,000 images?

Writes two folders of `--num-images` 28x28 PNG digits each (embedded glyphs,
two seeds), then runs `kgen evaluate FOLDER --real FOLDER` on them in a child
process, once with `--small` images per side and once with all of them, and
prints each run's peak resident memory (`ru_maxrss` of the child) and time.
Images are read, and their features extracted, a batch at a time into
running moments, so the peak should hardly grow with the number of images:
what grows is the kept features (KID's, 128 float32 values per image with
the digit classifier) and the list of file names. Measured on TensorFlow
(2 shared CPU cores, default metrics): 1,471 MiB for 1,000 against 1,000
images, 1,479 MiB for 50,000 against 50,000 (174 s).

    python benchmarks/evaluate_memory.py                  # 50,000 per side
    python benchmarks/evaluate_memory.py --num-images 5000 --metrics fid
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def write_folder(folder: Path, count: int, seed: int) -> None:
    """`count` PNG digits in `folder`, written once (kept between runs)."""
    if folder.is_dir() and len(os.listdir(folder)) >= count:
        return
    from kgen.glyphs import glyphs

    folder.mkdir(parents=True, exist_ok=True)
    images, _ = glyphs(count, seed=seed)
    for index, image in enumerate(images):
        Image.fromarray(np.asarray(image, np.uint8)).save(folder / f"{index:05d}.png")


def peak_memory(argv: list[str]) -> tuple[float, float, str]:
    """Runs `kgen ARGV` in a child; returns (peak RSS in MiB, seconds, output)."""
    # ru_maxrss of RUSAGE_CHILDREN is the largest child's so far: one run per
    # process keeps each figure its own.
    script = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'kgen.cli', *sys.argv[1:]],"
        " capture_output=True, text=True)\n"
        "print(done.stdout[-2000:], done.stderr[-2000:], sep='\\n')\n"
        "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(done.returncode)\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"kgen {' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    peak = int(done.stdout.rsplit("PEAK_KIB", 1)[1].split()[0])
    return peak / 1024, seconds, done.stdout.rsplit("PEAK_KIB", 1)[0]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-images", type=int, default=50000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--metrics", nargs="+", default=None)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "kgen_evaluate_memory",
    )
    args = parser.parse_args(argv)
    folders = [args.workdir / f"digits_{seed}" for seed in (1, 2)]
    start = time.perf_counter()
    for seed, folder in enumerate(folders, 1):
        write_folder(folder, args.num_images, seed)
    print(
        f"2 x {args.num_images} PNGs in {args.workdir} ({time.perf_counter() - start:.0f} s)"
    )
    print(
        f"backend: {os.environ.get('KERAS_BACKEND', 'tensorflow')}, ru_maxrss of the child"
    )
    for count in (args.small, args.num_images):
        command = [
            "evaluate", str(folders[0]), "--real", str(folders[1]),
            "-n", str(count), "--num-real", str(count),
            "--batch-size", str(args.batch_size),
        ]  # fmt: skip
        if args.metrics:
            command += ["--metrics", *args.metrics]
        peak, seconds, output = peak_memory(command)
        table = [line for line in output.splitlines() if line.startswith("  ")]
        print(f"{count:>6} vs {count} images: peak {peak:7.0f} MiB, {seconds:6.1f} s")
        for line in table:
            print(f"    {line.strip()}")


if __name__ == "__main__":
    main()
