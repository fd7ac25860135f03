#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SwitchyardCore

extension Gateway {
    /// The standard `process_*` metrics Prometheus client libraries export,
    /// read from `/proc/self` at scrape time (Linux only): CPU, memory, open
    /// descriptors against their limit — the figure `serve` sizes its
    /// connection caps from — and when the process started.
    func emitProcessMetrics(into buffer: inout [UInt8]) {
        #if os(Linux)
        var text = ""
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        var startTime: Double?
        if ticks > 0, let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15, starttime 22.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                text += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\n"
                text += "process_cpu_seconds_total \((user + system) / ticks)\n"
            }
            if fields.count > 19, let sinceBoot = Double(fields[19]), let boot = Self.bootTime() {
                startTime = boot + sinceBoot / ticks
            }
        }
        if pageSize > 0, let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let virtual = Double(fields[0]), let resident = Double(fields[1]) {
                text += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\n"
                text += "process_resident_memory_bytes \(resident * pageSize)\n"
                text += "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n# TYPE process_virtual_memory_bytes gauge\n"
                text += "process_virtual_memory_bytes \(virtual * pageSize)\n"
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            text += "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\n"
            text += "process_open_fds \(descriptors.count)\n"
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            text += "# HELP process_max_fds Maximum number of open file descriptors.\n# TYPE process_max_fds gauge\n"
            text += "process_max_fds \(limit.rlim_cur == rlim_t.max ? "+Inf" : String(limit.rlim_cur))\n"
        }
        text += "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
        text += "process_start_time_seconds \(startTime ?? Double(startedAt.nanoseconds / 1_000_000) / 1000)\n"
        buffer += Array(text.utf8)
        #endif
    }

    /// When the machine booted (Unix seconds), from `/proc/stat`'s `btime`.
    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
