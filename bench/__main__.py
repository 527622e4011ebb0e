"""`python -m bench [name ...]`: run the named benchmarks (default: all)."""

from __future__ import annotations

import argparse

from bench import cache, faults, jobs, mix, playlist, rooms_uncached, sync, uploads

BENCHES = {
    "rooms-uncached": rooms_uncached.main,
    "cache": cache.main,
    "mix": mix.main,
    "jobs": jobs.main,
    "sync": sync.main,
    "sync-fanout": sync.fanout_main,
    "playlist": playlist.main,
    "uploads": uploads.main,
    "faults": faults.main,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("names", nargs="*", choices=[*BENCHES, []], help="benchmarks to run (default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    for name in args.names or list(BENCHES):
        BENCHES[name](rounds=args.rounds, seconds=args.seconds)


if __name__ == "__main__":
    main()
