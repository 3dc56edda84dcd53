"""The simulated exchanges speak each exchange's protocol: acks, message shapes (key sets of the
verbatim samples), sequence chains that rebuild the true book, dislocations, faults, and
deterministic frames when stepped by hand. Loopback only."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

import aiohttp
import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from scanner.exchanges import NAMES
from scanner.sim import FAULTS, SimulatedExchanges
from scanner.exchanges.bybit import sim as bybit_protocol
from scanner.exchanges.okx import sim as okx_protocol
from scanner.exchanges.okx.sim import Okx
from tests.samples import sample

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
Side = dict[str, str]  # price text -> size text, as a client keeps it


@pytest.fixture
async def sim():
    async with SimulatedExchanges(SYMBOLS, seed=7, updates_per_second=20.0,
                                  dislocation_every=None) as simulator:
        yield simulator


# --- helpers -------------------------------------------------------------------------------

def keys(raw: bytes | str) -> set[str]:
    return set(orjson.loads(raw))


async def recv(ws: websockets.ClientConnection, timeout: float = 2.0) -> Any:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws: websockets.ClientConnection, predicate: Callable[[Any], bool],
                timeout: float = 3.0) -> Any:
    """The next JSON message matching ``predicate``."""
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.recv()
            if message != "pong" and predicate(decoded := orjson.loads(message)):
                return decoded


async def frames_for(ws: websockets.ClientConnection, seconds: float) -> list[Any]:
    """Every JSON message received during ``seconds``."""
    loop = asyncio.get_running_loop()
    end, frames = loop.time() + seconds, []
    while (left := end - loop.time()) > 0:
        try:
            message = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            break
        if message != "pong":
            frames.append(orjson.loads(message))
    return frames


def apply(side: Side, levels: list[list[str]]) -> None:
    for price, size, *_ in levels:
        if float(size) == 0:
            side.pop(price, None)
        else:
            side[price] = size


def ordered(bids: Side, asks: Side) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    return (sorted(bids.items(), key=lambda level: -float(level[0])),
            sorted(asks.items(), key=lambda level: float(level[0])))


def mid(book: tuple[list[tuple[str, str]], list[tuple[str, str]]]) -> float:
    return (float(book[0][0][0]) + float(book[1][0][0])) / 2


class BinanceClient:
    """Binance's documented local-book procedure: buffer diffs, REST snapshot, U/u chain."""

    def __init__(self, ws: websockets.ClientConnection, rest_url: str, symbol_id: str):
        self.ws, self.rest_url, self.symbol_id = ws, rest_url, symbol_id
        self.bids: Side = {}
        self.asks: Side = {}
        self.last_id = 0

    async def sync(self, http: aiohttp.ClientSession) -> None:
        buffered = [frame["data"] for frame in await frames_for(self.ws, 0.3)
                    if frame.get("stream", "").endswith("@depth@100ms")]
        async with http.get(f"{self.rest_url}/api/v3/depth",
                            params={"symbol": self.symbol_id, "limit": "5000"}) as response:
            snapshot = await response.json()
        assert set(snapshot) == keys(sample("binance", "rest_depth_snapshot_GET_api_v3_depth"))
        assert snapshot["lastUpdateId"] >= buffered[0]["U"]
        self.bids, self.asks = dict(snapshot["bids"]), dict(snapshot["asks"])
        self.last_id = snapshot["lastUpdateId"]
        for event in buffered:
            self.apply(event)

    def apply(self, event: dict) -> None:
        if event["u"] <= self.last_id:
            return
        assert event["U"] <= self.last_id + 1, "gap in the Binance diff stream"
        apply(self.bids, event["b"])
        apply(self.asks, event["a"])
        self.last_id = event["u"]


def apply_okx(books: dict[str, Any], message: dict) -> None:
    """OKX ``books``: a snapshot, then updates whose prevSeqId is the last seqId."""
    data = message["data"][0]
    inst_id = message["arg"]["instId"]
    assert data["checksum"] == 0
    if message["action"] == "snapshot":
        assert data["prevSeqId"] == -1
        books[inst_id] = {"bids": {}, "asks": {}, "seq": None}
    else:
        assert data["prevSeqId"] == books[inst_id]["seq"], "OKX seqId chain broken"
    apply(books[inst_id]["bids"], data["bids"])
    apply(books[inst_id]["asks"], data["asks"])
    books[inst_id]["seq"] = data["seqId"]


def apply_bybit(books: dict[str, Any], message: dict) -> None:
    """Bybit ``orderbook.50``: a snapshot resets the book, deltas carry u + 1."""
    data = message["data"]
    topic = message["topic"]
    if message["type"] == "snapshot":
        books[topic] = {"bids": {}, "asks": {}, "u": data["u"], "seq": data["seq"]}
    else:
        assert data["u"] == books[topic]["u"] + 1, "Bybit u chain broken"
        assert data["seq"] > books[topic]["seq"]
        books[topic].update(u=data["u"], seq=data["seq"])
    apply(books[topic]["bids"], data["b"])
    apply(books[topic]["asks"], data["a"])


# --- Binance -------------------------------------------------------------------------------

async def test_binance_rest_snapshot_and_diffs_rebuild_the_true_book(sim):
    endpoint = sim.endpoints["binance"]
    async with websockets.connect(endpoint.ws_url + "/stream") as ws, aiohttp.ClientSession() as http:
        await ws.send('{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@bookTicker"],"id":1}')
        assert await recv(ws) == orjson.loads(sample("binance", "subscribe_response"))
        client = BinanceClient(ws, endpoint.rest_url, "BTCUSDT")
        await client.sync(http)
        frames = await frames_for(ws, 0.5)
        sim.pause()
        frames += await frames_for(ws, 0.3)
        tickers = [f["data"] for f in frames if f["stream"] == "btcusdt@bookTicker"]
        diffs = [f["data"] for f in frames if f["stream"] == "btcusdt@depth@100ms"]
        assert tickers and len(diffs) >= 5
        assert set(frames[0]) == keys(sample("binance", "derived__combined_stream_bookTicker"))
        assert set(tickers[0]) == keys(sample("binance", "bookTicker"))
        assert set(diffs[0]) == keys(sample("binance", "depthUpdate"))
        for event in diffs:
            assert event["s"] == "BTCUSDT" and event["U"] <= event["u"]
            assert 1 <= len(event["b"]) + len(event["a"])
            assert all(len(price.split(".")[1]) == 8 for price, _ in event["b"] + event["a"])
            client.apply(event)
        true_book = sim.book("binance", "BTC/USDT")
        assert ordered(client.bids, client.asks) == true_book
        last = tickers[-1]
        assert (last["b"], last["B"]) == true_book[0][0] and (last["a"], last["A"]) == true_book[1][0]
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":3}')
        assert await until(ws, lambda m: m.get("id") == 3) == {
            "result": ["btcusdt@bookTicker", "btcusdt@depth@100ms"], "id": 3}
    stats = sim.stats["binance"]
    assert stats.frames_sent >= len(frames) and stats.connections_accepted == 1


async def test_binance_url_streams_raw_ws_and_rest_errors(sim):
    endpoint = sim.endpoints["binance"]
    async with websockets.connect(endpoint.ws_url + "/stream?streams=ethusdt@bookTicker") as ws:
        message = await recv(ws)
        assert message["stream"] == "ethusdt@bookTicker" and message["data"]["s"] == "ETHUSDT"
    async with websockets.connect(endpoint.ws_url + "/ws/ethusdt@bookTicker") as ws:
        assert set(await recv(ws)) == keys(sample("binance", "bookTicker"))
    async with websockets.connect(endpoint.ws_url + "/ws") as ws:
        await ws.send("not json")
        assert set(await recv(ws)) == keys(sample("binance", "error_4"))
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(endpoint.ws_url + "/nowhere"):
            pass
    async with aiohttp.ClientSession() as http:
        for params, status, code in (({"symbol": "NOPEUSDT"}, 400, -1121), ({}, 400, -1102),
                                     ({"symbol": "ETHUSDT", "limit": "x"}, 400, -1100)):
            async with http.get(endpoint.rest_url + "/api/v3/depth", params=params) as response:
                assert response.status == status and (await response.json())["code"] == code
        async with http.get(endpoint.rest_url + "/api/v3/depth",
                            params={"symbol": "ETHUSDT", "limit": "5"}) as response:
            snapshot = await response.json()
        assert len(snapshot["bids"]) == len(snapshot["asks"]) == 5
        sim.inject("binance", "bad_rest")  # the next answer is cut in half, then whole again
        for whole in (False, True):
            async with http.get(endpoint.rest_url + "/api/v3/depth", params={"symbol": "ETHUSDT"}) as response:
                body = await response.read()
            assert response.status == 200 and body.endswith(b"]]}") is whole


# --- OKX -----------------------------------------------------------------------------------

async def test_okx_snapshot_and_seq_chain_rebuild_the_true_book(sim):
    async with websockets.connect(sim.endpoints["okx"].ws_url) as ws:
        await ws.send('{"id":"1","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},'
                      '{"channel":"bbo-tbt","instId":"BTC-USDT"},{"channel":"books","instId":"XXX-USDT"}]}')
        acks = [await recv(ws) for _ in range(3)]
        assert [set(ack) for ack in acks[:2]] == [keys(sample("okx", "subscribe_response_books"))] * 2
        assert acks[1]["arg"] == {"channel": "bbo-tbt", "instId": "BTC-USDT"}
        assert acks[2] == {"id": "1", "event": "error", "code": "60018", "connId": acks[0]["connId"],
                           "msg": "Wrong URL or channel:books,instId:XXX-USDT doesn't exist"}
        await ws.send("ping")
        frames = await frames_for(ws, 0.6)
        sim.pause()
        frames += await frames_for(ws, 0.3)
        books_frames = [f for f in frames if f["arg"]["channel"] == "books"]
        bbo_frames = [f for f in frames if f["arg"]["channel"] == "bbo-tbt"]
        snapshot_sample = orjson.loads(sample("okx", "books_snapshot_docs_example"))
        assert books_frames[0]["action"] == "snapshot"
        assert set(books_frames[0]) == set(snapshot_sample)
        assert set(books_frames[0]["data"][0]) == set(snapshot_sample["data"][0])
        assert len(books_frames[0]["data"][0]["asks"][0]) == 4
        update_sample = orjson.loads(sample("okx", "books_update_docs_example"))
        assert len(books_frames) >= 4
        assert set(books_frames[1]["data"][0]) == set(update_sample["data"][0])
        bbo_sample = orjson.loads(sample("okx", "bbo_tbt_docs_example"))
        assert set(bbo_frames[0]) == set(bbo_sample)
        assert set(bbo_frames[0]["data"][0]) == set(bbo_sample["data"][0])
        books: dict[str, Any] = {}
        for frame in books_frames:
            apply_okx(books, frame)
        true_book = sim.book("okx", "BTC/USDT")
        assert ordered(books["BTC-USDT"]["bids"], books["BTC-USDT"]["asks"]) == true_book
        last = bbo_frames[-1]["data"][0]
        assert (tuple(last["bids"][0][:2]), tuple(last["asks"][0][:2])) == (true_book[0][0], true_book[1][0])


async def test_okx_ping_pong_unsubscribe_and_errors(sim):
    async with websockets.connect(sim.endpoints["okx"].ws_url) as ws:
        await ws.send("ping")
        assert await asyncio.wait_for(ws.recv(), 2) == sample("okx", "pong_text").decode()
        await ws.send('{"op":"subscribe","args":[{"channel":"bbo-tbt","instId":"ETH-USDT"}]}')
        assert (await recv(ws))["event"] == "subscribe"
        await ws.send('{"id":"9","op":"unsubscribe","args":[{"channel":"bbo-tbt","instId":"ETH-USDT"}]}')
        ack = await until(ws, lambda m: "event" in m)
        assert ack["event"] == "unsubscribe" and ack["id"] == "9"
        await ws.send('{"op":"subscribe","argss":[]}')
        error = await until(ws, lambda m: "event" in m)
        assert set(error) == keys(sample("okx", "subscribe_failure_60012")) - {"id"}
        assert error["code"] == "60012"


async def test_okx_sends_an_empty_update_when_nothing_changes(sim, monkeypatch):
    monkeypatch.setattr(okx_protocol, "IDLE_UPDATE_SECONDS", 0.3)
    async with websockets.connect(sim.endpoints["okx"].ws_url) as ws:
        await ws.send('{"op":"subscribe","args":[{"channel":"books","instId":"ETH-USDT"}]}')
        await until(ws, lambda m: m.get("action") == "snapshot")
        sim.pause()
        idle = await until(ws, lambda m: m.get("action") == "update" and not m["data"][0]["asks"]
                           and not m["data"][0]["bids"])
        assert idle["data"][0]["prevSeqId"] == idle["data"][0]["seqId"]


async def test_okx_closes_an_idle_connection_without_subscription(sim, monkeypatch):
    monkeypatch.setattr(Okx, "idle_close", 0.2)
    async with websockets.connect(sim.endpoints["okx"].ws_url) as ws:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 3)
        assert ws.close_code == 4004


# --- Bybit ---------------------------------------------------------------------------------

async def test_bybit_snapshot_and_u_chain_rebuild_the_true_book(sim):
    async with websockets.connect(sim.endpoints["bybit"].ws_url) as ws:
        await ws.send('{"req_id":"1","op":"subscribe","args":["orderbook.50.BTCUSDT","orderbook.1.BTCUSDT"]}')
        ack = await recv(ws)
        assert set(ack) == keys(sample("bybit", "subscribe_response_public_spot"))
        assert ack["success"] is True and ack["ret_msg"] == "subscribe" and ack["req_id"] == "1"
        await ws.send('{"req_id":"p1","op":"ping"}')
        frames = await frames_for(ws, 0.6)
        sim.pause()
        frames += await frames_for(ws, 0.3)
        pong = next(f for f in frames if f.get("op") == "ping")
        assert set(pong) == keys(sample("bybit", "pong_public_spot")) | {"req_id"}
        assert pong["ret_msg"] == "pong" and pong["req_id"] == "p1"
        depth = [f for f in frames if f.get("topic") == "orderbook.50.BTCUSDT"]
        top = [f for f in frames if f.get("topic") == "orderbook.1.BTCUSDT"]
        delta_sample = orjson.loads(sample("bybit", "orderbook_50_delta_linear_BTCUSDT"))
        assert depth[0]["type"] == "snapshot" and len(depth) >= 5
        assert len(depth[0]["data"]["b"]) == len(depth[0]["data"]["a"]) == 50
        assert list(depth[0]) == ["topic", "ts", "type", "data", "cts"]  # spot: ts before type
        assert set(depth[1]) == set(delta_sample) and depth[1]["type"] == "delta"
        assert set(depth[1]["data"]) == set(delta_sample["data"])
        assert all(f["type"] == "snapshot" and len(f["data"]["b"]) == 1 for f in top)
        books: dict[str, Any] = {}
        for frame in depth:
            apply_bybit(books, frame)
        bids, asks = sim.book("bybit", "BTC/USDT")
        local = books["orderbook.50.BTCUSDT"]
        assert ordered(local["bids"], local["asks"]) == (bids[:50], asks[:50])
        assert (tuple(top[-1]["data"]["b"][0]), tuple(top[-1]["data"]["a"][0])) == (bids[0], asks[0])


async def test_bybit_rejects_bad_topics_and_resends_the_top(sim, monkeypatch):
    monkeypatch.setattr(bybit_protocol, "TOP_RESEND_SECONDS", 0.2)
    async with websockets.connect(sim.endpoints["bybit"].ws_url) as ws:
        await ws.send('{"req_id":"a","op":"subscribe","args":["orderbook.50.NOPEUSDT"]}')
        reply = await recv(ws)
        assert reply["success"] is False and reply["ret_msg"].startswith("Invalid topic")
        await ws.send(orjson.dumps({"op": "subscribe", "args": [f"orderbook.1.X{i}" for i in range(11)]}))
        assert (await recv(ws))["success"] is False
        sim.pause()
        await ws.send('{"op":"subscribe","args":["orderbook.1.ETHUSDT"]}')
        assert (await recv(ws))["success"] is True
        first, again = await recv(ws), await recv(ws, timeout=1.0)
        assert first["data"]["u"] == again["data"]["u"] and first["data"]["b"] == again["data"]["b"]
        await ws.send('{"op":"subscribe","args":["orderbook.1.ETHUSDT"]}')
        reply = await until(ws, lambda m: "success" in m)
        assert reply["success"] is False and "already subscribed" in reply["ret_msg"]
        await ws.send('{"op":"unsubscribe","args":["orderbook.1.ETHUSDT"]}')
        assert (await until(ws, lambda m: "success" in m))["success"] is True


# --- market behaviour ----------------------------------------------------------------------

async def test_dislocation_moves_one_venue_and_opens_an_arbitrage(sim):
    before = {name: mid(sim.book(name, "BTC/USDT")) for name in ("binance", "okx", "bybit")}
    sim.dislocate("okx", "BTC/USDT", 50.0, seconds=0.5)
    moved = {name: (mid(sim.book(name, "BTC/USDT")) / before[name] - 1) * 1e4 for name in before}
    assert 47 < moved["okx"] < 53 and abs(moved["binance"]) < 3 and abs(moved["bybit"]) < 3
    okx_bid = float(sim.book("okx", "BTC/USDT")[0][0][0])
    assert okx_bid > float(sim.book("binance", "BTC/USDT")[1][0][0]) * 1.003
    async with websockets.connect(sim.endpoints["okx"].ws_url) as ws:
        await ws.send('{"op":"subscribe","args":[{"channel":"bbo-tbt","instId":"BTC-USDT"}]}')
        bbo = await until(ws, lambda m: "data" in m)
        assert float(bbo["data"][0]["bids"][0][0]) > before["okx"] * 1.004
        await asyncio.sleep(0.6)
    assert abs(mid(sim.book("okx", "BTC/USDT")) / before["okx"] - 1) * 1e4 < 5


def test_books_are_never_crossed_and_keep_their_depth():
    sim = SimulatedExchanges(SYMBOLS + ["SOL/USDT", "DOGE/USDT"], seed=11, updates_per_second=100.0,
                             dislocation_every=(0.2, 0.5))
    for _ in range(500):
        sim.step(0.01)
        for book in sim.model.books.values():
            assert book.bids.best() < book.asks.best()
            assert len(book.bids.keys) >= 50 and len(book.asks.keys) >= 50
    sim.inject("bybit", "crossed", "SOL/USDT", seconds=0.3)
    for _ in range(25):
        sim.step(0.01)
        bids, asks = sim.book("bybit", "SOL/USDT")
        assert float(bids[0][0]) >= float(asks[0][0])
    for _ in range(10):
        sim.step(0.01)
    assert not sim.model.book("bybit", "SOL/USDT").crossed()


# --- faults --------------------------------------------------------------------------------

async def test_disconnect_drops_connections_and_reconnect_works(sim):
    url = sim.endpoints["bybit"].ws_url
    async with websockets.connect(url) as ws:
        await ws.send('{"op":"subscribe","args":["orderbook.1.BTCUSDT"]}')
        await recv(ws)
        sim.inject("bybit", "disconnect")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 2)
        assert closed.value.rcvd is None  # no close frame: the TCP connection was cut
    async with websockets.connect(url) as ws:
        await ws.send('{"op":"subscribe","args":["orderbook.1.BTCUSDT"]}')
        assert (await recv(ws))["success"] is True
    assert sim.stats["bybit"].connections_accepted == 2
    assert sim.stats["bybit"].faults_injected["disconnect"] == 1


async def test_stall_silences_data_and_pongs_then_resumes(sim):
    async with websockets.connect(sim.endpoints["okx"].ws_url) as ws:
        await ws.send('{"op":"subscribe","args":[{"channel":"bbo-tbt","instId":"BTC-USDT"}]}')
        await until(ws, lambda m: "data" in m)
        sim.inject("okx", "stall", seconds=0.8)
        await frames_for(ws, 0.1)  # frames already on their way
        await ws.send("ping")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)
        async with asyncio.timeout(2):  # the ping is read once the stall ends
            while await ws.recv() != "pong":
                pass


async def test_gap_breaks_each_chain_and_a_resync_recovers(sim):
    endpoints = sim.endpoints
    async with websockets.connect(endpoints["binance"].ws_url + "/stream") as binance, \
            websockets.connect(endpoints["okx"].ws_url) as okx, \
            websockets.connect(endpoints["bybit"].ws_url) as bybit:
        await binance.send('{"method":"SUBSCRIBE","params":["ethusdt@depth@100ms"],"id":1}')
        await okx.send('{"op":"subscribe","args":[{"channel":"books","instId":"ETH-USDT"}]}')
        await bybit.send('{"op":"subscribe","args":["orderbook.50.ETHUSDT"]}')
        first = await until(binance, lambda m: "stream" in m)
        okx_books: dict[str, Any] = {}
        bybit_books: dict[str, Any] = {}
        apply_okx(okx_books, await until(okx, lambda m: m.get("action") == "snapshot"))
        apply_bybit(bybit_books, await until(bybit, lambda m: m.get("type") == "snapshot"))
        for exchange in ("binance", "okx", "bybit"):
            sim.inject(exchange, "gap", "ETH/USDT")
        last_u = first["data"]["u"]
        for frame in await frames_for(binance, 0.5):
            if frame["data"]["U"] != last_u + 1:
                break
            last_u = frame["data"]["u"]
        else:
            pytest.fail("Binance: no U jump after the gap")
        with pytest.raises(AssertionError, match="OKX seqId chain broken"):
            while True:
                apply_okx(okx_books, await until(okx, lambda m: "action" in m))
        with pytest.raises(AssertionError, match="Bybit u chain broken"):
            while True:
                apply_bybit(bybit_books, await until(bybit, lambda m: "type" in m))
        # resync: OKX and Bybit resubscribe for a fresh snapshot (Binance: REST, tested above)
        await okx.send('{"op":"unsubscribe","args":[{"channel":"books","instId":"ETH-USDT"}]}')
        await okx.send('{"op":"subscribe","args":[{"channel":"books","instId":"ETH-USDT"}]}')
        await bybit.send('{"op":"unsubscribe","args":["orderbook.50.ETHUSDT"]}')
        await bybit.send('{"op":"subscribe","args":["orderbook.50.ETHUSDT"]}')
        okx_frames = await frames_for(okx, 0.4)
        bybit_frames = await frames_for(bybit, 0.4)
        sim.pause()
        okx_frames += await frames_for(okx, 0.3)
        bybit_frames += await frames_for(bybit, 0.3)
        okx_frames = okx_frames[next(i for i, f in enumerate(okx_frames) if f.get("action") == "snapshot"):]
        bybit_frames = bybit_frames[next(i for i, f in enumerate(bybit_frames) if f.get("type") == "snapshot"):]
        for frame in okx_frames:
            if "action" in frame:
                apply_okx(okx_books, frame)
        for frame in bybit_frames:
            if "type" in frame:
                apply_bybit(bybit_books, frame)
        assert ordered(okx_books["ETH-USDT"]["bids"], okx_books["ETH-USDT"]["asks"]) == \
            sim.book("okx", "ETH/USDT")
        local = bybit_books["orderbook.50.ETHUSDT"]
        bids, asks = sim.book("bybit", "ETH/USDT")
        assert ordered(local["bids"], local["asks"]) == (bids[:50], asks[:50])


@pytest.mark.parametrize("exchange, path, subscribe, error_keys", [
    ("binance", "/stream", '{"method":"SUBSCRIBE","params":["btcusdt@bookTicker"],"id":1}',
     {"code", "msg"}),
    ("okx", "", '{"op":"subscribe","args":[{"channel":"bbo-tbt","instId":"BTC-USDT"}]}',
     {"event", "code", "msg", "connId"}),
    ("bybit", "", '{"op":"subscribe","args":["orderbook.1.BTCUSDT"]}',
     {"success", "ret_msg", "conn_id", "op"}),
])
async def test_malformed_error_event_and_shutdown(sim, exchange, path, subscribe, error_keys):
    async with websockets.connect(sim.endpoints[exchange].ws_url + path) as ws:
        await ws.send(subscribe)
        await recv(ws)
        sim.inject(exchange, "malformed")
        async with asyncio.timeout(2):
            while True:
                try:
                    orjson.loads(await ws.recv())
                except orjson.JSONDecodeError:
                    break
        sim.inject(exchange, "error_event")
        error = await until(ws, lambda m: "data" not in m)
        assert set(error) == error_keys
        sim.inject(exchange, "shutdown")
        if exchange == "binance":
            notice = await until(ws, lambda m: "stream" not in m or m["stream"] == "!serverShutdown")
            assert set(notice) == keys(sample("binance", "server_shutdown_combined"))
            assert notice["data"]["e"] == "serverShutdown"
        elif exchange == "okx":
            notice = await until(ws, lambda m: m.get("event") == "notice")
            assert notice["code"] == "64008"
        with pytest.raises(ConnectionClosedOK):
            while True:
                await asyncio.wait_for(ws.recv(), 2)
    assert sim.stats[exchange].faults_injected == {"malformed": 1, "error_event": 1, "shutdown": 1}


async def test_crossed_fault_reaches_the_wire(sim):
    async with websockets.connect(sim.endpoints["binance"].ws_url + "/stream") as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["ethusdt@bookTicker"],"id":1}')
        await recv(ws)
        sim.inject("binance", "crossed", "ETH/USDT", seconds=0.4)
        await until(ws, lambda m: float(m["data"]["b"]) >= float(m["data"]["a"]), timeout=0.3)
        await asyncio.sleep(0.5)
        ticker = (await frames_for(ws, 0.3))[-1]["data"]
        assert float(ticker["b"]) < float(ticker["a"])


def test_inject_rejects_unknown_names(sim):
    assert set(FAULTS) == {"disconnect", "stall", "gap", "malformed", "error_event", "shutdown",
                           "crossed", "bad_rest"}
    with pytest.raises(ValueError):
        sim.inject("binance", "meteor")
    with pytest.raises(ValueError):
        sim.inject("kraken", "gap")
    with pytest.raises(ValueError):
        sim.inject("okx", "gap", symbol="NOPE/USDT")


# --- hand stepping -------------------------------------------------------------------------

def run_by_hand(seed: int, steps: int) -> list[tuple[str, bytes]]:
    sim = SimulatedExchanges(SYMBOLS, seed=seed, updates_per_second=50.0,
                             dislocation_every=(0.3, 0.6))
    return [frame for _ in range(steps) for frame in sim.step(0.01)]


def test_same_seed_same_frames():
    first = run_by_hand(5, 150)
    assert first == run_by_hand(5, 150)
    assert first != run_by_hand(6, 150)
    assert {exchange for exchange, _ in first} == set(NAMES)


def test_hand_stepped_frames_rebuild_every_book():
    """Through dislocations and a crossed spell every chain holds, and every
    book rebuilt from the frames equals the true book."""
    sim = SimulatedExchanges(SYMBOLS, seed=3, updates_per_second=80.0, dislocation_every=(0.2, 0.4))
    binance: dict[str, dict] = {}
    for symbol in SYMBOLS:
        status, body = sim.venues["binance"].rest("/api/v3/depth",
                                                  {"symbol": symbol.replace("/", ""), "limit": "5000"})
        snapshot = orjson.loads(body)
        binance[symbol.replace("/", "")] = {"bids": dict(snapshot["bids"]),
                                            "asks": dict(snapshot["asks"]),
                                            "u": snapshot["lastUpdateId"]}
    okx: dict[str, Any] = {}
    bybit: dict[str, Any] = {}
    for step in range(400):
        if step == 100:
            sim.inject("okx", "crossed", "ETH/USDT", seconds=0.5)
        if step == 300:
            sim.pause()
        for exchange, frame in sim.step(0.01):
            message = orjson.loads(frame)
            if exchange == "binance" and message["stream"].endswith("@depth@100ms"):
                data = message["data"]
                book = binance[data["s"]]
                assert data["U"] == book["u"] + 1
                apply(book["bids"], data["b"])
                apply(book["asks"], data["a"])
                book["u"] = data["u"]
            elif exchange == "okx" and message["arg"]["channel"] == "books":
                apply_okx(okx, message)
            elif exchange == "bybit" and message["topic"].startswith("orderbook.50."):
                apply_bybit(bybit, message)
    for symbol in SYMBOLS:
        market_id = symbol.replace("/", "")
        assert ordered(binance[market_id]["bids"], binance[market_id]["asks"]) == \
            sim.book("binance", symbol)
        assert ordered(okx[symbol.replace("/", "-")]["bids"], okx[symbol.replace("/", "-")]["asks"]) == \
            sim.book("okx", symbol)
        local = bybit[f"orderbook.50.{market_id}"]
        bids, asks = sim.book("bybit", symbol)
        assert ordered(local["bids"], local["asks"]) == (bids[:50], asks[:50])
