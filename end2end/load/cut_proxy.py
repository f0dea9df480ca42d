#!/usr/bin/env python3
"""A TCP proxy on loopback that cuts its traffic for a while, for measuring
the server under a Redis or PostgreSQL outage with defmis-load.

    cut_proxy.py --listen 16379 --target 6379 --cut-at 5 --cut-for 10 --duration 30

forwards 127.0.0.1:16379 to 127.0.0.1:6379; at 5 s it drops every connection
and refuses new ones for 10 s, then lets them through again; it exits after
30 s. Loopback only, bounded in time. Standard library only.
"""

import argparse
import asyncio
import time


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--target", type=int, required=True)
    p.add_argument("--cut-at", type=float, required=True)
    p.add_argument("--cut-for", type=float, required=True)
    p.add_argument("--duration", type=float, required=True)
    a = p.parse_args()
    if a.duration > 3600:
        raise SystemExit("--duration is at most 3600 s")

    start = time.monotonic()
    cut = asyncio.Event()
    open_writers: set[asyncio.StreamWriter] = set()

    async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while not cut.is_set():
                data = await r.read(65536)
                if not data:
                    break
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        if cut.is_set():
            cw.close()
            return
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", a.target)
        except OSError:
            cw.close()
            return
        open_writers.update((cw, sw))
        await asyncio.gather(pipe(cr, sw), pipe(sr, cw))
        open_writers.discard(cw)
        open_writers.discard(sw)

    server = await asyncio.start_server(handle, "127.0.0.1", a.listen)
    async with server:
        await asyncio.sleep(a.cut_at)
        cut.set()
        for w in list(open_writers):
            w.transport.abort()
        print(f"cut at {time.monotonic() - start:.1f} s", flush=True)
        await asyncio.sleep(a.cut_for)
        cut.clear()
        print(f"restored at {time.monotonic() - start:.1f} s", flush=True)
        await asyncio.sleep(max(0.0, a.duration - (time.monotonic() - start)))


if __name__ == "__main__":
    asyncio.run(main())
