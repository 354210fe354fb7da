import Foundation
import JobGatePostgres
import JobGateTestSupport
import Testing

@Suite struct PostgresConnectionTests {
    @Test func parametersRoundTripIncludingNullUnicodeAndLargeText() async throws {
        let db = try await TestDatabase.create("params")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        let large = String(repeating: "åßç—𝄞", count: 200_000)
        let rows = try await pool.query(
            "SELECT $1::text AS a, $2::text AS b, $3::int AS c, $4::text AS d, $5::bool AS e, length($4::text) AS n",
            ["héllo wörld 日本語 🎉", String?.none, 42, large, true])
        let row = try #require(rows.first)
        #expect(try row.decode("a", as: String.self) == "héllo wörld 日本語 🎉")
        #expect(try row.decode("b", as: String?.self) == nil)
        #expect(try row.decode("c", as: Int.self) == 42)
        #expect(try row.decode("d", as: String.self) == large)
        #expect(try row.decode("e", as: Bool.self) == true)
        #expect(try row.decode("n", as: Int.self) == large.unicodeScalars.count)
        // A NULL decoded as a non-optional is an error, not a silent default.
        #expect(throws: PostgresError.self) { try row.decode("b", as: String.self) }
    }

    @Test func byteaRoundTripsAllByteValues() async throws {
        let db = try await TestDatabase.create("bytea")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        let bytes = (0...255).map { UInt8($0) } + [0, 0, 255]
        try await pool.query("CREATE TABLE blobs (b bytea)")
        try await pool.query("INSERT INTO blobs VALUES ($1)", [bytes])
        let rows = try await pool.query("SELECT b, length(b) AS n FROM blobs")
        #expect(try rows.first?.decode("b", as: [UInt8].self) == bytes)
        #expect(try rows.first?.decode("n", as: Int.self) == 259)
    }

    @Test func injectionStringIsStoredVerbatim() async throws {
        let db = try await TestDatabase.create("inject")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        try await pool.query("CREATE TABLE t (v text)")
        let evil = "'); DROP TABLE t; --\\' \"$1"
        try await pool.query("INSERT INTO t VALUES ($1)", [evil])
        let rows = try await pool.query("SELECT v FROM t")
        #expect(rows.count == 1)
        #expect(try rows.first?.decode(0, as: String.self) == evil)
    }

    @Test func arraysAndTimestampsRoundTrip() async throws {
        let db = try await TestDatabase.create("arrays")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        let values = ["a", "b c", "qu\"ote", "back\\slash", "{brace}", "NULL"]
        let rows = try await pool.query("SELECT x FROM unnest($1::text[]) AS x", [values])
        #expect(try rows.map { try $0.decode(0, as: String.self) } == values)
        let optional: [String?] = ["é😀", nil, "", "NULL", "a\\\"b"]
        let o = try await pool.query("SELECT x FROM unnest($1::text[]) AS x", [optional])
        #expect(try o.map { try $0.decode(0, as: String?.self) } == optional)
        let ints = [0, -1, 42, Int.max, Int.min]
        let i = try await pool.query("SELECT x FROM unnest($1::int8[]) AS x", [ints])
        #expect(try i.map { try $0.decode(0, as: Int.self) } == ints)
        let small: [Int32?] = [Int32.min, nil, 7]
        let si = try await pool.query("SELECT x::text FROM unnest($1::int4[]) AS x", [small])
        #expect(try si.map { try $0.decode(0, as: String?.self) } == small.map { $0.map(String.init) })
        let ids = [UUID(), UUID(), UUID(uuidString: "00000000-0000-0000-0000-0000000000FF")!]
        let u = try await pool.query("SELECT x::text FROM unnest($1::uuid[]) AS x", [ids])
        #expect(try u.map { try $0.decode(0, as: String.self) } == ids.map { $0.uuidString.lowercased() })
        let arr = try await pool.query("SELECT $1::text[] AS a", [["x", "y,z"]])
        #expect(try arr.first?.decode(0, as: PostgresTextArray.self).elements == ["x", "y,z"])
        let now = Date(timeIntervalSince1970: 1_790_000_000.123456)
        let t = try await pool.query("SELECT $1::timestamptz AS t, $1::timestamptz + interval '1 day' AS u", [now])
        let back = try #require(try t.first?.decode("t", as: Date.self))
        #expect(abs(back.timeIntervalSince(now)) < 0.000_002)
        let next = try #require(try t.first?.decode("u", as: Date.self))
        #expect(abs(next.timeIntervalSince(now) - 86400) < 0.000_002)
    }

    @Test func uniqueViolationCarriesSQLStateWithoutLeakingData() async throws {
        let db = try await TestDatabase.create("unique")
        let pool = PostgresPool(configuration: db.configuration())
        defer { pool.shutdown() }
        try await pool.query("CREATE TABLE u (k text PRIMARY KEY)")
        try await pool.query("INSERT INTO u VALUES ($1)", ["secret-value"])
        do {
            try await pool.query("INSERT INTO u VALUES ($1)", ["secret-value"])
            Issue.record("expected a unique violation")
        } catch let e as PostgresError {
            #expect(e.sqlState == "23505")
            #expect(e.isUniqueViolation)
            #expect(e.code == .server)
            #expect(e.constraint == "u_pkey")
            #expect(e.detail?.contains("secret-value") == true)
            #expect(!e.description.contains("secret-value"))
            #expect(!e.description.contains("INSERT"))
            #expect(String(reflecting: e).contains("secret-value"))
        }
    }

    @Test func transactionRollsBackOnThrownError() async throws {
        struct Boom: Error {}
        let db = try await TestDatabase.create("tx")
        let pool = PostgresPool(configuration: db.configuration(maxConnections: 1))
        defer { pool.shutdown() }
        try await pool.query("CREATE TABLE t (v int)")
        await #expect(throws: Boom.self) {
            try await pool.transaction { conn in
                try conn.query("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        let n = try await pool.query("SELECT count(*) FROM t").first?.decode(0, as: Int.self)
        #expect(n == 0)
        try await pool.transaction { conn in try conn.query("INSERT INTO t VALUES (2)") }
        #expect(try await pool.query("SELECT count(*) FROM t").first?.decode(0, as: Int.self) == 1)
        // A server error inside the transaction also rolls back and leaves the connection usable.
        await #expect(throws: PostgresError.self) {
            try await pool.transaction { conn in
                try conn.query("INSERT INTO t VALUES (3)")
                try conn.query("SELECT 1/0")
            }
        }
        #expect(try await pool.query("SELECT count(*) FROM t").first?.decode(0, as: Int.self) == 1)
    }
}
