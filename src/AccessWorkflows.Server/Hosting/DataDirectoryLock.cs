namespace AccessWorkflows.Server.Hosting;

/// <summary>
/// An exclusive lock on each data directory the server writes (the engine's history and the SQLite store), held for
/// the life of the process. Two servers on one <c>.data</c> would run the same orchestrations twice and race each
/// other's timers; the second one is refused before it reads or writes anything.
/// </summary>
/// <remarks>On Linux and macOS .NET takes an advisory <c>flock</c> for <see cref="FileShare.None"/>, which the kernel
/// drops when the process dies, so a killed server never leaves a stale lock behind.</remarks>
internal sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "server.lock";

    private readonly List<FileStream> _files;

    private DataDirectoryLock(List<FileStream> files, IReadOnlyList<string> directories)
    {
        _files = files;
        Directories = directories;
    }

    public IReadOnlyList<string> Directories { get; }

    /// <summary>Locks every directory or none: a failure releases what was already taken.</summary>
    public static DataDirectoryLock Acquire(IEnumerable<string> directories)
    {
        var distinct = directories.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var files = new List<FileStream>();
        try
        {
            foreach (var directory in distinct)
            {
                files.Add(Lock(directory));
            }
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }

        return new DataDirectoryLock(files, distinct);
    }

    public void Dispose() => _files.ForEach(f => f.Dispose());

    private static FileStream Lock(string directory)
    {
        var path = Path.Combine(directory, FileName);
        try
        {
            Directory.CreateDirectory(directory);
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

            // Who holds it, for a person who looks (the lock is advisory: `cat` still reads it).
            file.SetLength(0);
            using (var writer = new StreamWriter(file, leaveOpen: true))
            {
                writer.WriteLine($"pid {Environment.ProcessId} since {DateTimeOffset.UtcNow:O}");
            }

            file.Flush();
            return file;
        }
        catch (IOException)
        {
            throw new ServerStartupException(
                $"{directory}: another AccessWorkflows server is using this data directory (its process id is in {path}); stop it, or give this server its own AccessWorkflows:Durable:Path and AccessWorkflows:Sqlite:Path");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ServerStartupException($"{directory}: the data directory is not writable by this user");
        }
    }
}
