import time, asyncio, collections
from conftest import start_node, empty_database
from switchboard import background
from switchboard.gateway import serving
import uvicorn

async def test_phases(redis_url, postgres_server):
    spent = collections.Counter()
    orig = background.Background.__aexit__
    async def timed(self, *a):
        t = time.perf_counter(); await orig(self, *a); spent[type(self).__name__] += time.perf_counter() - t
    background.Background.__aexit__ = timed
    o2 = uvicorn.Server.shutdown
    async def sh(self, sockets=None):
        t = time.perf_counter(); await o2(self, sockets); spent["uvicorn.shutdown"] += time.perf_counter() - t
    uvicorn.Server.shutdown = sh
    o3 = serving.NodeServer.shutdown
    async def sh3(self, sockets=None):
        t = time.perf_counter(); await o3(self, sockets); spent["NodeServer.shutdown(all)"] += time.perf_counter() - t
    serving.NodeServer.shutdown = sh3
    t = {"empty_db": 0.0, "start": 0.0, "stop": 0.0}
    for i in range(15):
        a = time.perf_counter()
        await empty_database(postgres_server.url)
        b = time.perf_counter()
        node = await start_node(redis_url, postgres_server.url)
        c = time.perf_counter()
        await node.stop()
        d = time.perf_counter()
        t["empty_db"] += b - a; t["start"] += c - b; t["stop"] += d - c
    print({k: round(v / 15 * 1000) for k, v in t.items()}, "ms each")
    print({k: round(v / 15 * 1000, 1) for k, v in spent.most_common()})
