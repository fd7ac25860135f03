@testable import SwitchyardControl
import SwitchyardCore
import Testing

@Suite("Live events")
struct EventHubTests {
    @Test func subscribersGetTheSnapshotFirstThenEventsInOrder() async {
        let hub = EventHub(capacity: 16)
        let stream = hub.subscribe(first: ("snapshot", Array("{}".utf8)))
        for index in 0..<5 { hub.publish(name: "route", data: Array("\(index)".utf8)) }
        hub.finishAll()
        var names: [String] = []
        var ids: [Int64] = []
        for await event in stream {
            names.append(event.name)
            ids.append(event.id)
        }
        #expect(names == ["snapshot"] + Array(repeating: "route", count: 5))
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        #expect(String(decoding: EventHub.Event(id: 3, name: "audit", data: Array("{}".utf8)).serverSentEvent, as: UTF8.self) == "id: 3\nevent: audit\ndata: {}\n\n")
    }

    @Test func aSlowSubscriberIsDroppedWithAFinalEventAndOthersKeepGoing() async {
        let hub = EventHub(capacity: 8)
        let slow = hub.subscribe(first: ("snapshot", []))
        let fast = hub.subscribe(first: ("snapshot", []))
        var fastIterator = fast.makeAsyncIterator()
        _ = await fastIterator.next()
        for index in 0..<100 {
            hub.publish(name: "route", data: Array("\(index)".utf8))
            // The fast subscriber keeps up.
            #expect(await fastIterator.next()?.data == Array("\(index)".utf8))
        }
        #expect(hub.subscriberCount == 1, "the slow subscriber was cut off")
        var received: [EventHub.Event] = []
        for await event in slow { received.append(event) }
        #expect(received.count <= 9 + 1)
        #expect(received.last?.name == "dropped")
        let notice = String(decoding: received.last?.data ?? [], as: UTF8.self)
        #expect(notice.contains("fell 8 events behind"))
    }

    @Test func aStalledSubscriberHoldsOneMetricsTickNotAQueueOfThem() async {
        let hub = EventHub(capacity: 8)
        let stalled = hub.subscribe(first: ("snapshot", []))
        let reader = hub.subscribe(first: ("snapshot", []))
        var readerIterator = reader.makeAsyncIterator()
        _ = await readerIterator.next()
        for index in 0..<100 {
            hub.publish(name: "metrics", data: Array("\(index)".utf8))
            #expect(await readerIterator.next()?.data == Array("\(index)".utf8), "a subscriber that keeps up gets every tick")
        }
        hub.publish(name: "route", data: Array("r".utf8))
        #expect(hub.subscriberCount == 2, "ticks alone never push a subscriber past its capacity")
        var stalledIterator = stalled.makeAsyncIterator()
        #expect(await stalledIterator.next()?.name == "snapshot")
        #expect(await stalledIterator.next()?.data == Array("0".utf8), "the one tick it holds")
        #expect(await stalledIterator.next()?.name == "route", "then what came after, in order")
        hub.publish(name: "metrics", data: Array("fresh".utf8))
        #expect(await stalledIterator.next()?.data == Array("fresh".utf8), "having taken its tick, it gets the next")
    }
}
