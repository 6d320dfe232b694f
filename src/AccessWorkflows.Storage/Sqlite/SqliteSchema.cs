using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Storage.Sqlite;

/// <summary>
/// The schema of <see cref="SqliteAccessStore"/>, as numbered migrations. A file records the highest migration
/// applied in <c>schema_version</c>; opening applies the missing ones in one transaction and refuses a file from a
/// newer version (rather than writing rows an older reader does not understand).
/// </summary>
internal static class SqliteSchema
{
    /// <summary>Migration n (1-based) brings the schema from version n-1 to n. Append only; never edit a shipped one.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE requests (
            id          TEXT    NOT NULL PRIMARY KEY,
            status      TEXT    NOT NULL,
            requester   TEXT    NOT NULL,
            created_at  INTEGER NOT NULL, -- UTC ticks: orders and pages the listing
            version     INTEGER NOT NULL, -- optimistic concurrency: bumped by every write
            body        TEXT    NOT NULL  -- the AccessRequest as JSON (System.Text.Json web defaults)
        );
        CREATE INDEX ix_requests_created ON requests (created_at DESC, id DESC);
        CREATE INDEX ix_requests_status ON requests (status, created_at DESC, id DESC);
        CREATE INDEX ix_requests_requester ON requests (requester, created_at DESC, id DESC);

        CREATE TABLE request_participants (
            email       TEXT NOT NULL,
            request_id  TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
            PRIMARY KEY (email, request_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_request_participants_request ON request_participants (request_id);

        CREATE TABLE audit_events (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order: breaks ties of equal instants
            id              TEXT    NOT NULL UNIQUE,
            request_id      TEXT    NOT NULL,
            at_utc_ticks    INTEGER NOT NULL,
            at_offset_min   INTEGER NOT NULL,
            type            TEXT    NOT NULL,
            actor           TEXT    NOT NULL,
            channel         TEXT    NOT NULL,
            detail          TEXT
        );
        CREATE INDEX ix_audit_events_request ON audit_events (request_id, at_utc_ticks, seq);

        CREATE TABLE grant_holders (
            account_id  TEXT NOT NULL,
            user_name   TEXT NOT NULL,
            permission  TEXT NOT NULL,
            request_id  TEXT NOT NULL,
            PRIMARY KEY (account_id, user_name, permission, request_id)
        ) WITHOUT ROWID;

        CREATE TABLE sandbox_users (
            account_id          TEXT    NOT NULL,
            user_name           TEXT    NOT NULL,
            version             INTEGER NOT NULL,
            attached_policies   TEXT    NOT NULL, -- JSON array, sorted and distinct
            groups              TEXT    NOT NULL, -- JSON array, sorted and distinct
            PRIMARY KEY (account_id, user_name)
        );

        CREATE TABLE message_refs (
            request_id  TEXT NOT NULL,
            channel     TEXT NOT NULL,
            recipient   TEXT NOT NULL,
            kind        TEXT NOT NULL,
            address     TEXT NOT NULL,
            message_id  TEXT NOT NULL,
            PRIMARY KEY (request_id, channel, recipient, kind)
        );

        CREATE TABLE deliveries (
            delivery_key    TEXT    NOT NULL PRIMARY KEY,
            done_at         INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE conversations (
            key             TEXT NOT NULL PRIMARY KEY,
            reference_json  TEXT NOT NULL
        ) WITHOUT ROWID;
        """,

        // 2: the SIEM export reads the whole log by time range, in (instant, append order).
        """
        CREATE INDEX ix_audit_events_time ON audit_events (at_utc_ticks, seq);
        """,
    ];

    public static int CurrentVersion => Migrations.Length;

    public static void Apply(SqliteConnection connection)
    {
        // IMMEDIATE: two processes opening a fresh file at once must not both run migration 1.
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
            create.ExecuteNonQuery();
        }

        long? stored;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT max(version) FROM schema_version";
            stored = read.ExecuteScalar() is long v ? v : null;
        }

        var version = (int)(stored ?? 0);
        if (version > CurrentVersion)
        {
            throw new NotSupportedException(
                $"The database {connection.DataSource} has schema version {version}; this build understands up to {CurrentVersion}.");
        }

        for (var next = version + 1; next <= CurrentVersion; next++)
        {
            using var migrate = connection.CreateCommand();
            migrate.Transaction = transaction;
            migrate.CommandText = Migrations[next - 1];
            migrate.ExecuteNonQuery();
        }

        if (version != CurrentVersion)
        {
            using var write = connection.CreateCommand();
            write.Transaction = transaction;
            write.CommandText = "DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ($v)";
            write.Parameters.AddWithValue("$v", CurrentVersion);
            write.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
