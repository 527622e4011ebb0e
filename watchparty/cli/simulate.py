"""`watchparty simulate`: simulated viewers in a new room on a running server, and the skew they reach."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json

from watchparty.client.simulate import build_swarm, connect_all, playlist_scenario, scenario


def run(args: argparse.Namespace) -> int:
    urls = args.url or ["http://127.0.0.1:8000"]
    low, _, high = args.latency.partition("-")

    async def go() -> None:
        late = 1 if args.playlist and args.late else 0
        print(f"signing up {args.viewers + late} simulated viewers on {', '.join(urls)} …", flush=True)
        swarm = await build_swarm(
            urls,
            args.viewers + late,
            latency_ms=(float(low), float(high or low)),
            jitter_ms=args.jitter,
            max_offset_ms=args.offset,
            delay_jitter=args.delay_jitter,
            seed=args.seed,
            connect=False,
            kind=args.player,
        )
        await connect_all(swarm.members[: args.viewers], lambda line: print(line, flush=True))
        if args.playlist:
            try:
                stats = await playlist_scenario(
                    swarm,
                    items=args.items,
                    seconds=args.seconds,
                    late=swarm.members[-1] if late else None,
                    say=lambda line: print(line, flush=True),
                )
            finally:
                await swarm.close()
            if args.json:
                print(json.dumps(dataclasses.asdict(stats)), flush=True)
            return
        try:
            print(f"room {swarm.room_id}: play, seek, pause and play again; skew on the true clock", flush=True)
            results = await scenario(swarm, hold_s=args.hold, say=lambda line: print(line, flush=True))
        finally:
            await swarm.close()
        if args.json:
            print(json.dumps({name: dataclasses.asdict(stats) for name, stats in results.items()}), flush=True)

    try:
        asyncio.run(go())
    except Exception as exc:  # a refused sign-up, a server that is not there: say so, without a traceback
        print(f"error: {exc}")
        return 1
    return 0
