"""The event bus: delivery by topic prefix on the emitting thread, unsubscribe, and many threads emitting and
subscribing at once without losing an event."""

from __future__ import annotations

import threading

from farnode_desktop.core.events import Event, EventBus, EventLog


def test_listeners_hear_the_topics_they_asked_for_on_the_emitting_thread() -> None:
    bus, everything, nodes = EventBus(), EventLog(), EventLog()
    threads: list[str] = []
    bus.subscribe(everything)
    bus.subscribe(nodes, prefix="node.")
    bus.subscribe(lambda e: threads.append(threading.current_thread().name), prefix="gpu.")
    bus.emit(Event("node.state", "node-0", "serving"))
    bus.emit(Event("gpu.paused", "gpu-0", "a game started", {"pid": 7}))
    worker = threading.Thread(target=bus.emit, args=(Event("gpu.resumed", "gpu-0", "the game ended"),), name="w")
    worker.start()
    worker.join()
    assert everything.topics() == ["node.state", "gpu.paused", "gpu.resumed"]
    assert nodes.topics() == ["node.state"]
    assert threads == ["MainThread", "w"]
    assert everything.events[1].data == {"pid": 7} and everything.events[1].at > 0


def test_unsubscribe_stops_delivery_and_is_harmless_twice() -> None:
    bus, log = EventBus(), EventLog()
    unsubscribe = bus.subscribe(log)
    bus.emit(Event("a", "x", ""))
    unsubscribe()
    unsubscribe()
    bus.emit(Event("b", "x", ""))
    assert log.topics() == ["a"]


def test_a_listener_may_unsubscribe_or_subscribe_while_an_event_is_delivered() -> None:
    bus, log, late = EventBus(), EventLog(), EventLog()
    unsubscribes: list[object] = []

    def once(event: Event) -> None:
        log(event)
        unsubscribes.append(bus.subscribe(late))  # under the bus's lock this would deadlock
        remove()

    remove = bus.subscribe(once)
    bus.emit(Event("first", "x", ""))
    bus.emit(Event("second", "x", ""))
    assert log.topics() == ["first"]
    assert late.topics() == ["second"]  # subscribed during "first": hears only what came after


def test_many_threads_emitting_and_subscribing_lose_no_event() -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    start = threading.Barrier(8)

    def work(n: int) -> None:
        start.wait()
        for i in range(200):
            bus.emit(Event("node.tick", f"node-{n}", str(i)))
            bus.subscribe(lambda e: None, prefix="never.")()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log.events) == 1600
    assert sorted(int(e.reason) for e in log.events if e.source == "node-3") == list(range(200))
