using AccessWorkflows.Storage.Sqlite;

namespace AccessWorkflows.Storage.Tests.Sqlite;

/// <summary>A database file in a fresh temp directory; every store opened on it is disposed, and the directory
/// deleted, with this.</summary>
public sealed class SqliteTestDatabase : IDisposable
{
    private readonly List<SqliteAccessStore> opened = [];

    public SqliteTestDatabase()
    {
        Root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "accessworkflows-storage-tests", Guid.NewGuid().ToString("N"));
        Path = System.IO.Path.Combine(Root, "nested", "store.db");
    }

    /// <summary>The temp directory; the file is in a subdirectory of it that does not exist until a store opens.</summary>
    public string Root { get; }

    public string Path { get; }

    public SqliteAccessStore Open()
    {
        var store = new SqliteAccessStore(Path);
        lock (opened)
        {
            opened.Add(store);
        }

        return store;
    }

    public void Dispose()
    {
        lock (opened)
        {
            foreach (var store in opened)
            {
                store.Dispose();
            }
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is not a test failure.
        }
    }
}
