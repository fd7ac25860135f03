import Foundation
import GRDB
import SwitchyardCore

/// The schema, created or brought up to date when the store opens.
extension SQLiteStateStore {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: routes, revisions, audit, settings") { db in
            try db.create(table: "routes") { table in
                table.column("name", .text).primaryKey()
                table.column("revision", .integer).notNull()
                table.column("document", .text).notNull()
                table.column("allocation", .text).notNull()
            }
            try db.create(table: "route_revisions") { table in
                table.column("route", .text).notNull()
                table.column("revision", .integer).notNull()
                table.column("document", .text).notNull()
                table.column("allocation", .text).notNull()
                table.column("created_ms", .integer).notNull()
                table.primaryKey(["route", "revision"])
            }
            try db.create(table: "audit") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("at_ms", .integer).notNull()
                table.column("actor", .text).notNull()
                table.column("action", .text).notNull()
                table.column("route", .text)
                table.column("from_revision", .integer)
                table.column("to_revision", .integer)
                table.column("detail", .text).notNull()
            }
            try db.create(index: "audit_by_route", on: "audit", columns: ["route", "id"])
            try db.create(table: "settings") { table in
                table.column("key", .text).primaryKey()
                table.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v2: feedback") { db in
            try db.create(table: "feedback") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("at_ms", .integer).notNull()
                table.column("request_id", .text).notNull()
                table.column("score", .double).notNull()
                table.column("source", .text).notNull()
                table.column("route", .text)
                table.column("deployment", .text)
                table.column("actor", .text).notNull()
            }
            try db.create(index: "feedback_by_request", on: "feedback", columns: ["request_id"])
        }
        migrator.registerMigration("v3: per-minute metric roll-ups") { db in
            try db.create(table: "metric_rollups") { table in
                Self.figureColumns(table, key: [])
            }
            try db.create(index: "metric_rollups_by_minute", on: "metric_rollups", columns: ["minute"])
        }
        migrator.registerMigration("v4: rollouts") { db in
            try db.create(table: "rollouts") { table in
                table.column("id", .text).primaryKey()
                table.column("route", .text).notNull()
                table.column("active", .boolean).notNull()
                table.column("started_ms", .integer).notNull()
                table.column("document", .text).notNull()
            }
            try db.create(index: "rollouts_by_route", on: "rollouts", columns: ["route", "started_ms"])
            try db.create(index: "feedback_by_route_time", on: "feedback", columns: ["route", "at_ms"])
            try db.create(table: "rollout_evaluations") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("rollout_id", .text).notNull()
                table.column("at_ms", .integer).notNull()
                table.column("document", .text).notNull()
            }
            try db.create(index: "rollout_evaluations_by_rollout", on: "rollout_evaluations", columns: ["rollout_id", "id"])
        }
        migrator.registerMigration("v5: rollout revisions, leases") { db in
            try db.alter(table: "rollouts") { table in
                table.add(column: "revision", .integer).notNull().defaults(to: 1)
            }
            try db.create(table: "leases") { table in
                table.column("key", .text).primaryKey()
                table.column("holder", .text).notNull()
                table.column("expires_ms", .integer).notNull()
            }
        }
        migrator.registerMigration("v6: per-replica live roll-ups") { db in
            try db.create(table: "replica_rollups") { table in
                Self.figureColumns(table, key: ["replica"])
            }
            try db.create(index: "replica_rollups_by_minute", on: "replica_rollups", columns: ["minute"])
        }
        migrator.registerMigration("v7: response affinity") { db in
            try db.create(table: "response_owners") { table in
                table.column("response_id", .text).primaryKey()
                table.column("route", .text).notNull()
                table.column("deployment", .text).notNull()
                table.column("expires_ms", .integer).notNull()
            }
            try db.create(index: "response_owners_by_expiry", on: "response_owners", columns: ["expires_ms"])
        }
        migrator.registerMigration("v8: response owners' client keys") { db in
            try db.alter(table: "response_owners") { table in
                table.add(column: "client_key", .text)
            }
        }
        return migrator
    }

    /// A roll-up table: `key` columns (text) before route, deployment and
    /// minute, then one minute's figures; keyed by all of the former.
    static func figureColumns(_ table: TableDefinition, key: [String]) {
        for name in key + ["route", "deployment"] { table.column(name, .text).notNull() }
        table.column("minute", .integer).notNull()
        table.column("requests", .integer).notNull()
        table.column("outcomes", .text).notNull()
        table.column("latency", .blob).notNull()
        table.column("ttft", .blob).notNull()
        table.column("prompt_tokens", .integer).notNull()
        table.column("completion_tokens", .integer).notNull()
        table.column("cost", .double).notNull()
        table.primaryKey(key + ["route", "deployment", "minute"])
    }
}
